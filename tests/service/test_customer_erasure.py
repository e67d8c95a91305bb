"""The right to erasure: DELETE /customers/{id} removes the customer with everything Tailor holds of them."""

from __future__ import annotations

from datetime import datetime

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


def test_a_customer_whose_id_holds_a_slash_can_be_read_and_erased(client, engine):
    """A shop's ids such as "2024/0001" were imported, but every route under /customers/{id} answered 404 ("There
    is no /customers/2024/0001"): such a customer could not even be erased."""
    customers = "customer_id,email,first_name,locale,marketing_consent\n"
    customers += "2024/0001,a@example.com,Ann,en,true\n2024/0002,b@example.com,Bo,en,true\n"
    imported = client.post("/imports/customers", files={"file": ("customers.csv", customers.encode(), "text/csv")})
    assert imported.status_code == 200, imported.text
    with session_scope(engine) as session:  # an email they were sent
        row_id = session.scalar(select(Customer.id).where(Customer.external_id == "2024/0001"))
        session.add(Send(customer_id=row_id, subject="Hi", campaign_type="vip", sent_at=datetime(2026, 1, 5, 9)))

    assert client.get("/customers/2024/0001").json()["first_name"] == "Ann"
    assert [send["subject"] for send in client.get("/customers/2024/0001/sends").json()] == ["Hi"]
    assert client.get("/customers/2024/0001/send-time").json()["customer_id"] == "2024/0001"
    untrained = client.get("/customers/2024/0001/recommendations")  # reached: it needs a trained model
    assert untrained.status_code == 409, untrained.text

    assert client.delete("/customers/2024/0001").status_code == 204
    gone = client.get("/customers/2024/0001")
    assert gone.status_code == 404 and gone.json()["message"] == "Customer '2024/0001' does not exist."
    assert client.get("/customers/2024%2F0001/sends").status_code == 404  # written with the slash encoded too
    assert client.get("/customers/2024%2F0002").json()["first_name"] == "Bo"
    assert client.get("/customers").status_code == 200 and client.get("/segments").status_code == 200
