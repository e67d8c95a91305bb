"""Drafts predicted under the configured open or click floor go to a person, with the reason in words."""

from __future__ import annotations

from tests.service.conftest import generated_campaign, trained_shop


def test_the_click_floor_is_a_setting(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setenv("TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_CLICK", "0.9")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=3)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert len(drafts) == 3
    for draft in drafts:
        assert draft["flagged"] and any("under the 90% floor" in reason for reason in draft["flag_reasons"])
