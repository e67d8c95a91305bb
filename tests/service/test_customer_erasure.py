"""The right to erasure: DELETE /customers/{id} removes the customer with everything Tailor holds of them."""

from __future__ import annotations

from sqlalchemy import func, select

from service.db.models import Campaign, Customer, Draft, Event, Interaction, Send
from service.db.session import session_scope
from tests.service.conftest import generated_campaign, trained_shop


def _held(engine, customer_row_id: int) -> dict[str, int]:
    with session_scope(engine) as session:
        count = lambda model: session.scalar(  # noqa: E731
            select(func.count()).select_from(model).where(model.customer_id == customer_row_id)
        )
        events = session.scalar(
            select(func.count()).select_from(Event).join(Send).where(Send.customer_id == customer_row_id)
        )
        return {"orders": count(Interaction), "drafts": count(Draft), "sends": count(Send), "events": events}


def test_a_customer_is_erased_with_their_orders_drafts_sends_and_events(client, engine, demo_files, monkeypatch):
    """A shop asked to forget a customer had no way to do it through Tailor."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    trained_shop(client, demo_files)
    campaign_id = generated_campaign(client, max_customers=5)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    with session_scope(engine) as session:  # a customer of the campaign with past sends and their events
        row_id, external_id = session.execute(
            select(Customer.id, Customer.external_id)
            .join(Send, Send.customer_id == Customer.id)
            .join(Event, Event.send_id == Send.id)
            .where(Customer.external_id.in_([d["customer_id"] for d in drafts]))
            .limit(1)
        ).one()
    before = _held(engine, row_id)
    assert all(before.values()), before

    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "generating"
    busy = client.delete(f"/customers/{external_id}")
    assert busy.status_code == 409 and busy.json()["message"] == (
        f"Campaign {campaign_id} is being generated and may be writing this customer's draft: erase them once it is "
        "ready, or cancel its job first (GET /jobs?kind=generate lists it)."
    )  # it named no campaign and no job
    assert _held(engine, row_id) == before
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "ready"

    assert client.delete(f"/customers/{external_id}").status_code == 204
    assert client.get(f"/customers/{external_id}").status_code == 404
    assert _held(engine, row_id) == {"orders": 0, "drafts": 0, "sends": 0, "events": 0}
    campaign = client.get(f"/campaigns/{campaign_id}").json()
    assert campaign["drafts"]["total"] == len(drafts) - 1
    assert campaign["forecast"]["sends"] == len(drafts) - 1 and not campaign["forecast"].get("stale")
    assert client.delete(f"/customers/{external_id}").status_code == 404
