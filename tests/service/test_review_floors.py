"""Drafts predicted under the configured open or click floor go to a person, with the reason in words."""

from __future__ import annotations

from tests.service.conftest import upload, wait_for_job


def test_the_click_floor_is_a_setting(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setenv("TAILOR_CAMPAIGN_REVIEW_THRESHOLD_P_CLICK", "0.9")
    for kind in ("customers", "products", "orders", "sends"):
        assert upload(client, kind, demo_files[kind]).status_code == 200
    assert wait_for_job(client, client.post("/train").json()["job_id"])["status"] == "succeeded"
    body = {"name": "Floors", "brand": "hearth", "campaign_type": "cross_sell", "max_customers": 3}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    assert wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])["status"] == (
        "succeeded"
    )
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert len(drafts) == 3
    for draft in drafts:
        assert draft["flagged"] and any("under the 90% floor" in reason for reason in draft["flag_reasons"])
