"""Characters a reader does not see, in what a copywriter types: a direction control (U+202E and the like) in an edit
was saved and sent, showing the subject in another order than the checks read it, and in a suggestion's note it
was said again on the copywriter's page, turning the rest of the line around; a zero-width space in "free" hid the
word from the checks. A direction control is refused, naming the field and where it is; the characters that take no
room are dropped, as unseen by the copywriter who pasted them as by the reader."""

from __future__ import annotations

from tests.service.conftest import generated_campaign, trained_shop
from tests.service.test_cli import run


def _first_variant(client, demo_files, monkeypatch) -> tuple[dict, dict, str]:
    """A draft of a campaign the fake model wrote, its first variant, and that variant's address."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=1)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    variant = draft["variants"][0]
    return draft, variant, f"/drafts/{draft['id']}/variants/{variant['id']}"


def test_an_edit_with_a_direction_control_is_refused_naming_the_field_and_the_character(
    client, demo_files, monkeypatch
):
    draft, variant, url = _first_variant(client, demo_files, monkeypatch)
    refused = client.patch(url, json={"subject": "Sorry for \u202eyaled eht"})
    assert refused.status_code == 422, refused.text
    (problem,) = refused.json()["problems"]
    assert problem["field"] == "subject"
    assert problem["message"].startswith("character 11 is U+202E RIGHT-TO-LEFT OVERRIDE"), problem["message"]
    lines = [*variant["product_lines"][:-1], "Lovely \u2067with\u2069 tea."]
    refused = client.patch(url, json={"product_lines": lines})
    assert [p["field"] for p in refused.json()["problems"]] == [f"product_lines[{len(lines) - 1}]"], refused.text
    assert "character 8 is U+2067 RIGHT-TO-LEFT ISOLATE" in refused.json()["message"]
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]

    page = client.post(f"/review{url}/edit", data={"subject": "\u200fSorry", "preheader": variant["preheader"],
                                                   "intro": variant["intro"]})  # fmt: skip
    assert page.status_code == 422 and "character 1 is U+200F RIGHT-TO-LEFT MARK" in page.text
    assert "Value error" not in page.text
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]


def test_an_edit_is_saved_and_checked_without_the_characters_that_take_no_room(client, demo_files, monkeypatch):
    _, variant, url = _first_variant(client, demo_files, monkeypatch)
    intro = "It has been a while. Your teapot comes 100% fr\u200bee, so click h\ufeffere today."
    edited = client.patch(url, json={"subject": "We miss\u2060 you\u200b", "intro": intro, "reviewer": "Ola"})
    assert edited.status_code == 200, edited.text
    saved = next(v for v in edited.json()["variants"] if v["id"] == variant["id"])
    assert saved["subject"] == "We miss you"
    assert saved["intro"] == "It has been a while. Your teapot comes 100% free, so click here today."
    spam = next(check for check in saved["checks"] if check["name"] == "spam_triggers")
    assert not spam["passed"] and "100% free" in spam["reason"], spam
    assert "\u200b" not in saved["html"] + saved["text"]


def test_a_note_is_refused_for_a_direction_control_and_said_again_without_the_unseen(client, demo_files, monkeypatch):
    draft, variant, url = _first_variant(client, demo_files, monkeypatch)
    refused = client.post(f"{url}/suggestion", json={"note": "warmer \u202eplease"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "note", refused.text
    assert "character 8 is U+202E RIGHT-TO-LEFT OVERRIDE" in refused.json()["message"]

    answered = client.post(f"{url}/suggestion", json={"note": "war\u200bmer\ufeff"})
    assert answered.status_code == 200 and answered.json()["note"] == "warmer", answered.text
    page = client.post(f"/review{url}/suggest", data={"note": "war\u200bmer"})
    assert page.status_code == 200 and "for your note “<bdi>warmer</bdi>”" in page.text
    page = client.post(f"/review{url}/suggest", data={"note": "warmer \u2066please"})
    assert page.status_code == 422 and "character 8 is U+2066 LEFT-TO-RIGHT ISOLATE" in page.text
    assert 'id="suggestion-' not in page.text
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]


def test_a_campaign_s_name_is_refused_for_a_direction_control_and_kept_without_the_unseen(client, tailor_home):
    """A campaign's name, shown on the review page and by `tailor campaigns list`, is typed by a person as an edit
    is: a direction control turned the rest of the line around there."""
    body = {"brand": "hearth", "campaign_type": "vip"}
    refused = client.post("/campaigns", json={**body, "name": "Spring \u202eelas"})
    assert refused.status_code == 422, refused.text
    (problem,) = refused.json()["problems"]
    assert problem["field"] == "name"
    assert problem["message"].startswith("character 8 is U+202E RIGHT-TO-LEFT OVERRIDE, which shows the text in")
    assert client.post("/campaigns", json={**body, "name": "\u200b\ufeff"}).status_code == 422  # nothing seen
    created = client.post("/campaigns", json={**body, "name": "Spring\u200b sale\u2060"})
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Spring sale"

    told = run(["generate", "--campaign-type", "vip", "--brand", "hearth", "--name", "Spring \u2067sale"], tailor_home)
    assert told.returncode == 2, told.stderr
    assert "option '--name': character 8 is U+2067 RIGHT-TO-LEFT ISOLATE" in told.stderr
    assert "Value error" not in told.stderr
