"""The real path through the API on a slice of the demo store: import, train, generate with the real local
LLM, score, review, send through a real SMTP server on loopback, and ingest the events that follow."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from service.db.models import Customer
from service.db.session import session_scope
from tests.service.conftest import upload, wait_for_job

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def test_import_train_generate_review_send(client, engine, demo_files, mail_server, monkeypatch):
    for kind in ("customers", "products", "orders", "sends"):
        response = upload(client, kind, demo_files[kind])
        assert response.status_code == 200, response.text

    train = wait_for_job(client, client.post("/train").json()["job_id"])
    assert train["status"] == "succeeded", train["error"]
    assert client.get("/health").json()["models"]["recommender"] is not None

    created = client.post(
        "/campaigns",
        json={"name": "Spring cross-sell", "brand": "hearth", "campaign_type": "cross_sell", "max_customers": 4},
    )
    assert created.status_code == 201, created.text
    campaign_id = created.json()["id"]
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"], timeout=600)
    assert job["status"] == "succeeded", job["error"]
    assert job["progress"] == 1.0 and min(job["progress_seen"]) < 1.0

    campaign = client.get(f"/campaigns/{campaign_id}").json()
    assert campaign["status"] == "ready" and campaign["drafts"]["total"] == 4
    # The model wrote the copy: called now, or answered the same prompt earlier in this process (its cache).
    stats = campaign["stats"]
    assert stats["llm_calls"] + stats["cache_hits"] > 0 and campaign["forecast"]["sends"] == 4
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    products = {p["sku"]: p for p in client.get("/products", params={"limit": 1000}).json()}
    with session_scope(engine) as session:
        mailable = {
            c.external_id
            for c in session.scalars(select(Customer).where(Customer.marketing_consent, ~Customer.unsubscribed))
        }
    for draft in drafts:
        assert draft["customer_id"] in mailable
        assert draft["selected_variant_id"] in {v["id"] for v in draft["variants"]}
        assert len(draft["variants"]) >= 2
        for recommended in draft["recommendations"]:
            catalog = products[recommended["product_id"]]
            assert catalog["in_stock"] and recommended["price"] == catalog["price"]
        for variant in draft["variants"]:
            assert variant["subject"] and 0 < variant["p_open"] < 1 and 0 <= variant["p_click"] <= variant["p_open"]
            assert {c["name"] for c in variant["checks"]} >= {"grounding", "unsubscribe_footer"}
            for recommended in draft["recommendations"]:  # facts come from the catalog, rendered as data
                assert recommended["url"] in variant["html"]

    first, second, third = drafts[0], drafts[1], drafts[2]
    edited = client.patch(
        f"/drafts/{first['id']}/variants/{first['selected_variant_id']}",
        json={"subject": "A few things we picked for you", "reviewer": "copy@shop"},
    ).json()
    chosen = next(v for v in edited["variants"] if v["id"] == first["selected_variant_id"])
    assert chosen["edited"] and chosen["subject"] == "A few things we picked for you"
    assert "A few things we picked for you" in chosen["html"]
    assert client.post(f"/drafts/{first['id']}/approve", json={"reviewer": "copy@shop"}).json()["status"] == "approved"
    assert client.post(f"/drafts/{second['id']}/approve", json={}).json()["status"] == "approved"
    assert client.post(f"/drafts/{third['id']}/reject", json={"comment": "too pushy"}).json()["status"] == "rejected"
    again = client.post(f"/drafts/{third['id']}/approve", json={})
    assert again.status_code == 409 and "already rejected" in again.json()["message"]

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example")  # unsubscribe links recipients can follow
    sent = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send").json()["job_id"])
    assert sent["status"] == "succeeded", sent["error"]
    assert sent["result"] == {
        "sent": 2,
        "skipped": 0,
        "deferred": 0,
        "waiting": 0,
        "next_send_at": None,
        "held_back": [],
        "held_back_count": 0,
        "held_back_by_reason": {},
        "refused": [],
    }
    assert len(messages) == 2
    assert {message["To"] for message in messages} == {first["email"], second["email"]}
    assert "A few things we picked for you" in {message["Subject"] for message in messages}  # the edited subject
    assert all(message.get_body(("plain",)).get_content().strip() for message in messages)

    with session_scope(engine) as session:
        from service.db.models import Send

        send = session.scalars(select(Send).where(Send.campaign_id == campaign_id)).first()
        send_id, customer_id = send.id, send.customer.external_id
        # What scoring will learn from besides the copy: the customer's churn risk and the products' score then.
        assert send.churn_risk == send.customer.profile["churn_risk"] and send.rec_score is not None
    at = datetime.now().isoformat(timespec="seconds")  # after the send, as an open is
    events = [{"send_id": send_id, "kind": "open", "occurred_at": at}, {"send_id": send_id, "kind": "unsubscribe"}]
    assert client.post("/events", json={"events": events}).json() == {"recorded": 2, "duplicates": 0}
    assert client.post("/events", json={"events": events[:1]}).json() == {"recorded": 0, "duplicates": 1}
    assert client.get(f"/customers/{customer_id}").json()["unsubscribed"] is True
