"""A copywriter's edit is scored again: the predictions and reasons shown are those of the edited copy, and the
variant the draft will send stays the one it was."""

from __future__ import annotations

from datetime import datetime

from tests.service.conftest import generated_campaign, trained_shop


def test_an_edited_variant_gets_the_scores_of_its_new_copy(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    hour = datetime.now().hour
    campaign_id = generated_campaign(client, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    other = next(v for v in draft["variants"] if v["id"] != draft["selected_variant_id"])
    url = f"/drafts/{draft['id']}/variants/{other['id']}"

    edited = client.patch(url, json={"subject": "URGENT!!! LAST CHANCE $$$ FREE FREE FREE", "reviewer": "copy"})
    assert edited.status_code == 200, edited.text
    edited = edited.json()
    after = next(v for v in edited["variants"] if v["id"] == other["id"])
    assert (after["p_open"], after["p_click"]) != (other["p_open"], other["p_click"])
    assert 0 < after["p_click"] <= after["p_open"] < 1 and after["reasons"]
    assert edited["selected_variant_id"] == draft["selected_variant_id"]

    restored = client.patch(url, json={"subject": other["subject"], "reviewer": "copy"}).json()
    back = next(v for v in restored["variants"] if v["id"] == other["id"])
    if datetime.now().hour == hour:  # the send hour is a feature: scores match only within the same hour
        assert back["p_open"] == other["p_open"] and back["reasons"] == other["reasons"]
