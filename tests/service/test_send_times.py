"""Best send hour per customer through the API: own opens move a customer off the shop's best hour, and a
customer without history gets the shop's best hour."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from service.db.models import Customer, Draft, Event, Send
from service.db.session import session_scope


def add_sends(session, customer: Customer, hour: int, n: int, opened: int) -> None:
    for i in range(n):
        sent_at = datetime(2026, 10, 1, hour) + timedelta(days=i)
        send = Send(customer=customer, subject="News", campaign_type="cross_sell", sent_at=sent_at)
        if i < opened:
            send.events.append(Event(kind="open", occurred_at=sent_at + timedelta(minutes=5)))
        session.add(send)


def test_send_hours_from_own_opens_with_population_fallback(client, engine):
    assert client.get("/customers/night/send-time").status_code == 404
    with session_scope(engine) as session:
        regulars = [Customer(external_id=f"reg{i}", email=f"reg{i}@example.com") for i in range(2)]
        night, newbie = (Customer(external_id=name, email=f"{name}@example.com") for name in ("night", "newbie"))
        session.add_all([*regulars, night, newbie])
    response = client.get("/customers/newbie/send-time")
    assert response.status_code == 409 and "no past sends" in response.json()["message"]

    with session_scope(engine) as session:
        for regular in session.scalars(select(Customer).where(Customer.external_id.like("reg%"))):
            add_sends(session, regular, 10, 10, 5)  # the shop opens at 10:00 about half the time, at 20:00 rarely
            add_sends(session, regular, 20, 10, 1)
        night = session.scalar(select(Customer).where(Customer.external_id == "night"))
        add_sends(session, night, 20, 6, 6)  # this customer opens in the evening
        add_sends(session, night, 10, 2, 0)
    own = client.get("/customers/night/send-time").json()
    assert own == {**own, "customer_id": "night", "best_hour": 20, "source": "own", "n_sends": 8, "n_opens": 6}
    assert own["expected_open_rate"] > 0.5
    fallback = client.get("/customers/newbie/send-time").json()
    assert fallback["best_hour"] == 10 and fallback["source"] == "population" and fallback["n_sends"] == 0
    assert fallback["expected_open_rate"] == 10 / 22  # the shop's open rate at 10:00 (night's 2 unopened included)

    campaign_id = client.post("/campaigns", json={"name": "t", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for external_id in ("night", "newbie"):
            customer = session.scalar(select(Customer).where(Customer.external_id == external_id))
            session.add(Draft(campaign_id=campaign_id, customer_id=customer.id))
    hours = client.get(f"/campaigns/{campaign_id}/send-times").json()
    assert [(h["customer_id"], h["best_hour"]) for h in hours] == [("night", 20), ("newbie", 10)]
    assert client.get("/campaigns/999/send-times").status_code == 404
