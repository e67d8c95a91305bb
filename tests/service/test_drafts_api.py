"""The drafts API's answers to requests that cannot be met: a campaign that does not exist, a status no draft
can have."""

from __future__ import annotations


def test_listing_drafts_names_a_missing_campaign_and_a_misspelt_status(client):
    missing = client.get("/campaigns/999/drafts")
    assert missing.status_code == 404 and "Campaign 999 does not exist" in missing.json()["message"]

    campaign = {"name": "x", "brand": "hearth", "campaign_type": "win_back"}
    campaign_id = client.post("/campaigns", json=campaign).json()["id"]
    assert client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "approved"}).json() == []
    misspelt = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "aproved"})
    assert misspelt.status_code == 422
    problem = misspelt.json()["problems"][0]
    assert problem["field"] == "query.status"
    for status in ("pending", "flagged", "approved", "rejected", "sent"):
        assert f"'{status}'" in problem["message"]
