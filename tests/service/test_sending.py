"""Sending approved drafts through a real SMTP server on loopback: what each message carries, what is held back
for a person, and how a failure reads."""

from __future__ import annotations

import socket

from sqlalchemy import select

from service.db.models import Customer, Draft, Variant
from service.db.session import session_scope
from tests.service.conftest import wait_for_job


def approved_draft(client, engine, external_id: str = "c1") -> tuple[int, int]:
    """A campaign with one draft approved through the API: (campaign id, draft id)."""
    campaign_id = client.post(
        "/campaigns", json={"name": "Send test", "brand": "hearth", "campaign_type": "cross_sell"}
    ).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True)
        variant = Variant(label="A", subject="Hello", html="<p>Hello</p>", text="Hello")
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id, draft_id = variant.id, draft.id
    assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
    return campaign_id, draft_id


def send_job(client, campaign_id: int) -> dict:
    response = client.post(f"/campaigns/{campaign_id}/send")
    assert response.status_code == 202, response.text
    return wait_for_job(client, response.json()["job_id"])


def test_an_unreachable_mail_server_is_named_with_the_settings_to_fix(client, engine, monkeypatch):
    with socket.socket() as sock:  # a port nothing listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(port))
    campaign_id, draft_id = approved_draft(client, engine)

    job = send_job(client, campaign_id)

    assert job["status"] == "failed"
    assert f"SMTP server at 127.0.0.1:{port}" in job["error"]
    assert "TAILOR_SMTP_HOST" in job["error"] and "TAILOR_SMTP_PORT" in job["error"]
    assert "nothing was sent" in job["error"]
    with session_scope(engine) as session:
        assert session.scalar(select(Draft.status).where(Draft.id == draft_id)) == "approved"  # sent later
