"""`POST /drafts/{id}/variants/{variant_id}/suggestion`: another version of a variant's copy from the model, checked
and scored, the draft unchanged until the copywriter saves it as an edit; refusals name the field, the checks, or
what to do about the model."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler

from generation.llm import Endpoint, register
from generation.schemas import NOTE_MAX
from tests.model_server import SilentProvider, send_answer, serving
from tests.service.conftest import generated_campaign, trained_shop, use_an_unreachable_model

_COPY_NOW = re.compile(r"The email's copy now:\n<data>\n(.*)\n</data>")


@register("echoing_copy")
def _echoing_copy(model, settings):
    """A model that ignores the note and answers the copy it was shown, as it is."""
    return Endpoint(
        model="openai/echoing_copy", api_key="x",
        mock=lambda messages, schema: _COPY_NOW.search(messages[1]["content"]).group(1),
    )  # fmt: skip


@register("pricing")
def _pricing(model, settings):
    """A model that writes a price the data does not hold."""
    version = {
        "subject": "Your favourites are back", "preheader": "Fresh picks for your next order",
        "intro": "Everything you liked now costs only 1.99 EUR, so treat yourself today.",
    }  # fmt: skip
    return Endpoint(model="openai/pricing", api_key="x", mock=lambda messages, schema: json.dumps(version))


def _first_draft(client, demo_files, monkeypatch) -> tuple[dict, dict, str]:
    """A draft of a campaign the fake model wrote, one of its variants, and that variant's suggestion address."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    variant = draft["variants"][0]
    return draft, variant, f"/drafts/{draft['id']}/variants/{variant['id']}/suggestion"


def test_a_suggestion_is_checked_and_scored_and_saved_only_as_an_edit(client, demo_files, monkeypatch):
    draft, variant, url = _first_draft(client, demo_files, monkeypatch)
    answered = client.post(url, json={"note": "warmer"})
    assert answered.status_code == 200, answered.text
    suggestion = answered.json()
    assert suggestion["subject"] != variant["subject"] and suggestion["passed"]
    assert all(check["passed"] for check in suggestion["checks"]) and len(suggestion["checks"]) >= 10
    assert 0 < suggestion["p_click"] <= suggestion["p_open"] < 1 and suggestion["reasons"]
    assert suggestion["product_lines"] == variant["product_lines"] and suggestion["note"] == "warmer"
    assert suggestion["revision"] == draft["revision"] and suggestion["label"] == variant["label"]
    unchanged = client.get(f"/drafts/{draft['id']}").json()
    assert unchanged["variants"] == draft["variants"] and unchanged["reviews"] == [] and unchanged["revision"] == 0

    saved = client.patch(
        f"/drafts/{draft['id']}/variants/{variant['id']}",
        json={
            "subject": suggestion["subject"], "preheader": suggestion["preheader"], "intro": suggestion["intro"],
            "reviewer": "Ola", "expected_revision": suggestion["revision"],
        },
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    edited = next(v for v in saved.json()["variants"] if v["id"] == variant["id"])
    assert edited["subject"] == suggestion["subject"] and edited["edited"]
    assert [(r["action"], r["reviewer"]) for r in saved.json()["reviews"]] == [("edit", "Ola")]
    stale = client.post(url).json()["revision"]  # no body: no note
    assert stale == saved.json()["revision"]


def test_refusals_name_the_note_the_checks_and_the_drafts_state(client, demo_files, monkeypatch):
    draft, variant, url = _first_draft(client, demo_files, monkeypatch)
    for note, said in (
        ("x" * (NOTE_MAX + 1), f"at most {NOTE_MAX} characters"),
        ("warmer\nand more", "must be one line"),
    ):
        refused = client.post(url, json={"note": note})
        assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "note", refused.text
        assert said in refused.json()["problems"][0]["message"]

    monkeypatch.setenv("TAILOR_LLM_MODEL", "pricing")
    priced = client.post(url, json={"note": "say it costs 1.99 EUR"})
    assert priced.status_code == 422, priced.text
    checks = {problem["check"] for problem in priced.json()["problems"]}
    assert checks & {"grounding", "unbacked_claims"} and "1.99" in priced.json()["message"]
    assert "nothing was changed" in priced.json()["message"]

    monkeypatch.setenv("TAILOR_LLM_MODEL", "echoing_copy")
    echoed = client.post(url, json={"note": "shorter subject"})
    assert echoed.status_code == 422 and "same_copy" in {p["check"] for p in echoed.json()["problems"]}
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]

    assert client.post(f"/drafts/{draft['id']}/variants/999999/suggestion").status_code == 404
    client.post(f"/drafts/{draft['id']}/reject", json={"comment": "not for this customer"})
    reviewed = client.post(url)
    assert reviewed.status_code == 409 and "already rejected" in reviewed.json()["message"]


def test_a_model_down_or_too_slow_is_a_503_or_504_saying_what_to_do(client, demo_files, monkeypatch):
    draft, variant, url = _first_draft(client, demo_files, monkeypatch)
    with serving(SilentProvider) as base:
        monkeypatch.setenv("TAILOR_LLM_MODEL", "openai/any")
        monkeypatch.setenv("TAILOR_LLM_API_BASE", base)
        monkeypatch.setenv("TAILOR_LLM_API_KEY", "x")
        monkeypatch.setenv("TAILOR_LLM_GROUP_DEADLINE", "1")
        started = time.monotonic()
        slow = client.post(url, json={"note": "warmer"})
        assert time.monotonic() - started < 3  # the model's deadline bounds the request
        assert slow.status_code == 504 and slow.json()["error"] == "CopyModelTimedOut", slow.text
        assert "TAILOR_LLM_GROUP_DEADLINE" in slow.json()["message"]
        assert "edit the copy yourself" in slow.json()["message"]

    use_an_unreachable_model(monkeypatch)
    down = client.post(url)
    assert down.status_code == 503 and down.json()["error"] == "CopyModelUnavailable", down.text
    assert "TAILOR_LLM_MODEL" in down.json()["message"] and "Traceback" not in down.text
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]


class _SlowProvider(BaseHTTPRequestHandler):
    """Thinks 4 s, then answers a version that passes the checks: a model a copywriter waits on too long."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        version = {
            "subject": "Things that go with your last order", "preheader": "A few pieces we set aside for you",
            "intro": "We picked a few things that pair well with what you chose last time.",
        }  # fmt: skip
        send_answer(self, json.dumps(version), pieces=2, think=4)

    def log_message(self, *args):
        pass


def test_a_suggestion_waits_its_own_deadline_not_the_campaigns(client, demo_files, monkeypatch):
    """A suggestion waited up to the group's deadline (240 s by default) while a copywriter watched the page: it has
    its own, TAILOR_LLM_SUGGESTION_DEADLINE, and a model slower than that is a 504 that says so, nothing written."""
    draft, variant, url = _first_draft(client, demo_files, monkeypatch)
    with serving(_SlowProvider) as base:
        monkeypatch.setenv("TAILOR_LLM_MODEL", "openai/any")
        monkeypatch.setenv("TAILOR_LLM_API_BASE", base)
        monkeypatch.setenv("TAILOR_LLM_API_KEY", "x")
        monkeypatch.setenv("TAILOR_LLM_SUGGESTION_DEADLINE", "1.5")
        started = time.monotonic()
        slow = client.post(url, json={"note": "warmer"})
        waited = time.monotonic() - started
    assert slow.status_code == 504 and slow.json()["error"] == "CopyModelTimedOut", slow.text
    assert waited < 3.5, waited
    said = slow.json()["message"]
    assert "did not answer within 1.5 s" in said and "TAILOR_LLM_SUGGESTION_DEADLINE" in said, said
    assert "try again" in said and "edit the copy yourself" in said, said
    after = client.get(f"/drafts/{draft['id']}").json()
    assert after["variants"] == draft["variants"] and after["reviews"] == [] and after["revision"] == draft["revision"]


class _CountedSlowProvider(_SlowProvider):
    """The slow provider, counting the calls it was sent."""

    calls: list[float] = []

    def do_POST(self):  # noqa: N802 (the standard library's name)
        type(self).calls.append(time.monotonic())
        super().do_POST()


def _asked_at_once(client, urls: list[str]) -> list:
    """The answers to suggestions asked for ``urls`` at the same moment, each from its own thread, in order."""
    answers: dict[int, object] = {}
    threads = [
        threading.Thread(target=lambda n=n, url=url: answers.update({n: client.post(url, json={"note": "warmer"})}))
        for n, url in enumerate(urls)
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [answers[n] for n in range(len(urls))]


def test_one_suggestion_at_a_time_for_a_variant_and_a_few_in_all(client, demo_files, monkeypatch):
    """45 suggestions asked at once for one variant were 45 calls of the model, and held the API's worker threads
    while it wrote: GET /health took 8 s. A variant's second suggestion while its first is written is a 409, and past
    a few in all the server answers 503 with Retry-After, both before any call."""
    from service import suggestions

    draft, variant, url = _first_draft(client, demo_files, monkeypatch)
    other = next(v for v in draft["variants"] if v["id"] != variant["id"])
    _CountedSlowProvider.calls = []
    with serving(_CountedSlowProvider) as base:
        monkeypatch.setenv("TAILOR_LLM_MODEL", "openai/any")
        monkeypatch.setenv("TAILOR_LLM_API_BASE", base)
        monkeypatch.setenv("TAILOR_LLM_API_KEY", "x")
        first, second = sorted(_asked_at_once(client, [url, url]), key=lambda answer: answer.status_code)
        assert first.status_code == 200 and second.status_code == 409, second.text
        said = second.json()["message"]
        assert f"variant {variant['label']} of draft {draft['id']} is already being written" in said, said
        assert len(_CountedSlowProvider.calls) == 1

        monkeypatch.setattr(suggestions, "AT_ONCE", 1)
        others = f"/drafts/{draft['id']}/variants/{other['id']}/suggestion"
        answered = sorted(_asked_at_once(client, [url, others]), key=lambda answer: answer.status_code)
        assert [answer.status_code for answer in answered] == [200, 503], answered[1].text
        assert answered[1].json()["error"] == "CopyModelBusy" and answered[1].headers["Retry-After"]
        assert len(_CountedSlowProvider.calls) == 2  # the variant was free again once its first was answered


def test_the_review_page_shows_a_suggestion_beside_the_copy_and_keeps_a_refused_note(client, demo_files, monkeypatch):
    draft, variant, _ = _first_draft(client, demo_files, monkeypatch)
    form = f"/review/drafts/{draft['id']}/variants/{variant['id']}/suggest"
    shown = client.post(form, data={"note": "warmer"})
    assert shown.status_code == 200 and f'id="suggestion-{variant["id"]}"' in shown.text
    assert "for your note “<bdi>warmer</bdi>”" in shown.text and 'class="use-suggestion"' in shown.text
    assert "The model suggests another version of variant" in shown.text  # said in the status line
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]

    refused = client.post(form, data={"note": "y" * (NOTE_MAX + 1)})
    assert refused.status_code == 422 and 'aria-invalid="true" aria-describedby="suggest-error-' in refused.text
    assert "Note for the model: is longer than the 300 characters it may have" in refused.text
    assert f'value="{"y" * (NOTE_MAX + 1)}"' in refused.text  # what was typed is kept

    monkeypatch.setenv("TAILOR_LLM_MODEL", "pricing")
    turned_down = client.post(form, data={"note": "cheaper"})
    assert turned_down.status_code == 422 and "No suggestion: " in turned_down.text
    assert 'id="suggestion-' not in turned_down.text


def test_a_suggestion_turned_down_by_the_checks_is_said_as_the_model_s_in_the_checks_words(
    client, demo_files, monkeypatch
):
    """The page said "No suggestion: grounding: the intro mentions 1.99 ..." above a variant whose own checks all
    passed: a check's key where the page names checks in words, and nothing saying it was the model's version that
    failed, or what to do."""
    draft, variant, _ = _first_draft(client, demo_files, monkeypatch)
    form = f"/review/drafts/{draft['id']}/variants/{variant['id']}/suggest"
    monkeypatch.setenv("TAILOR_LLM_MODEL", "pricing")
    turned_down = client.post(form, data={"note": "cheaper"})
    assert turned_down.status_code == 422
    said = re.search(r'id="suggest-error-\d+">([^<]*)</p>', turned_down.text)
    assert said, turned_down.text
    assert said[1].startswith("No suggestion: every version the model wrote of this copy failed the checks (the last: ")
    assert "facts from the data: the intro mentions 1.99" in said[1] and "grounding" not in said[1]
    assert said[1].endswith("Nothing was changed: ask again, perhaps with another note, or edit the copy yourself.")


def test_the_review_page_offers_no_suggestion_in_a_language_the_model_does_not_write(client, demo_files, monkeypatch):
    """The page offered "Suggest another version" for an English draft with a model told to write German alone
    (TAILOR_LLM_LOCALES), and only its answer, a 409, said the model does not write it."""
    draft, variant, _ = _first_draft(client, demo_files, monkeypatch)
    page = f"/review/drafts/{draft['id']}"
    assert 'class="suggest-form"' in client.get(page).text

    monkeypatch.setenv("TAILOR_LLM_LOCALES", "de")
    shown = client.get(page)
    assert shown.status_code == 200 and 'class="suggest-form"' not in shown.text
    assert f'id="no-suggestion-{variant["id"]}"' in shown.text
    assert "The model does not write English, so it cannot suggest another version of this copy" in shown.text
