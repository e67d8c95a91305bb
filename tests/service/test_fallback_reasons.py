"""A variant in template copy says which check turned the model's copy down and why, in the API and on the review
page: a copywriter saw "template subject and intro" on a German customer's draft and no more, and only the campaign
page counted rejections by check."""

from __future__ import annotations

import json
import re
from html import unescape

import pandas as pd

from generation.llm import Endpoint, register
from generation.llm.fake import answer
from tests.generation.conftest import PARROT
from tests.service.conftest import generated_campaign, trained_shop, upload


@register("english_subjects_everywhere")
def _english_subjects_endpoint(model, settings):
    """Writes the template's copy in the email's language, as the fake model does, but every subject in English."""

    def respond(messages, schema):
        body = json.loads(answer(messages, schema))
        for variant in body["variants"]:
            variant["subject"] = "Welcome back"
        return json.dumps(body)

    return Endpoint(model="openai/english_subjects_everywhere", api_key="x", mock=respond)


def _turned_down(variant: dict) -> dict[str, str]:
    return {check["name"]: check["turned_down"] for check in variant["checks"] if check["turned_down"]}


def test_a_variant_in_template_copy_says_which_check_turned_the_model_s_copy_down(
    client, demo_files, monkeypatch, tmp_path
):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "english_subjects_everywhere")
    trained_shop(client, demo_files)
    customers = pd.read_csv(demo_files["customers"], dtype=str, keep_default_na=False)
    customers["locale"] = "de"
    customers.to_csv(tmp_path / "customers.csv", index=False)
    assert upload(client, "customers", tmp_path / "customers.csv").status_code == 200

    campaign_id = generated_campaign(client, max_customers=3)

    listed = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert listed and all(v["used_fallback"] for d in listed for v in d["variants"])
    draft = client.get(f"/drafts/{listed[0]['id']}").json()
    expected = {"language": "the subject reads as English, expected German"}
    assert [_turned_down(v) for v in draft["variants"]] == [expected] * len(draft["variants"])
    # the template's own copy passes the language check: the reason is the model's, not the variant's now
    assert all(c["passed"] for v in draft["variants"] for c in v["checks"] if c["name"] == "language")

    page = client.get(f"/review/drafts/{draft['id']}").text
    variant = draft["variants"][0]
    block = re.search(rf'<div class="turned-down" id="turned-down-{variant["id"]}">(.*?)</div>', page, re.S)
    assert block, "the draft view does not say why the variant is in template copy"
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", block.group(1))).split())
    assert text == "Why template copy: the model's copy failed language: the subject reads as English, expected German"

    # an edit re-runs the checks on the person's copy; why the model's copy was turned down stays with the variant
    edited = client.patch(
        f"/drafts/{draft['id']}/variants/{variant['id']}", json={"preheader": "Ein paar Ideen für Sie", "reviewer": "c"}
    )
    assert edited.status_code == 200, edited.text
    after = next(v for v in edited.json()["variants"] if v["id"] == variant["id"])
    assert after["edited"] and _turned_down(after) == expected


def test_a_variant_in_the_model_s_copy_names_no_turned_down_check(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=2)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    model_variants = [v for d in drafts for v in d["variants"] if not v["used_fallback"]]
    assert model_variants and not any(_turned_down(v) for v in model_variants)


def test_a_variant_of_the_model_s_copy_with_the_template_s_preheader_says_so(client, demo_files, monkeypatch):
    """The local model's preheader that only repeated its subject gave way to the template's: the API and the review
    page say which part is the template's, as they say it of a variant wholly in template copy."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", PARROT.model)
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, campaign_type="win_back", max_customers=2)
    listed = client.get(f"/campaigns/{campaign_id}/drafts").json()
    draft = client.get(f"/drafts/{listed[0]['id']}").json()
    variant = next(v for v in draft["variants"] if not v["used_fallback"])
    assert variant["subject"] == "We miss your visits"
    why = "the preheader repeats the subject, so the preheader is the template's; the subject and intro are the model's"
    assert _turned_down(variant) == {"structure": why}
    page = client.get(f"/review/drafts/{draft['id']}").text
    block = re.search(rf'<div class="turned-down" id="turned-down-{variant["id"]}">(.*?)</div>', page, re.S)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", block.group(1))).split())
    assert text == f"Why template copy in part: the model's copy failed structure: {why}"
