"""Events from the email service: a retried event is recorded once, two events that share a moment are both kept
when the service names them, and a send is found by its Message-ID however the service writes it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from service.db.models import Customer, Event, Send
from service.db.session import session_scope


def _sent_email(engine, message_id: str = "<a1b2@shop.example>") -> int:
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        sent_at = datetime.now() - timedelta(hours=1)
        send = Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=sent_at, message_id=message_id)
        session.add(send)
        session.flush()
        return send.id


def _conversions(engine) -> list[tuple[float, str | None]]:
    with session_scope(engine) as session:
        rows = session.execute(select(Event.value, Event.external_id).where(Event.kind == "conversion"))
        return sorted(tuple(row) for row in rows)


def test_an_event_retried_with_its_id_is_recorded_once(client, engine):
    """The same conversion posted twice (an email service retrying after a timeout) doubled the revenue."""
    send_id = _sent_email(engine)
    event = {"send_id": send_id, "kind": "conversion", "value": 50, "event_id": "esp-1"}
    assert client.post("/events", json={"events": [event]}).json() == {"recorded": 1, "duplicates": 0}
    assert client.post("/events", json={"events": [event]}).json() == {"recorded": 0, "duplicates": 1}
    assert client.post("/events", json={"events": [event, event]}).json() == {"recorded": 0, "duplicates": 2}
    assert _conversions(engine) == [(50.0, "esp-1")]


def test_two_purchases_in_the_same_second_are_both_kept_when_the_service_names_them(client, engine):
    """Two conversions with the same occurred_at were taken for one: the second's revenue was lost."""
    send_id = _sent_email(engine)
    moment = (datetime.now() - timedelta(minutes=5)).replace(microsecond=0).isoformat()
    bought = {"send_id": send_id, "kind": "conversion", "occurred_at": moment}
    events = [{**bought, "value": 50, "event_id": "esp-1"}, {**bought, "value": 20, "event_id": "esp-2"}]
    assert client.post("/events", json={"events": events}).json() == {"recorded": 2, "duplicates": 0}
    assert _conversions(engine) == [(20.0, "esp-2"), (50.0, "esp-1")]

    # Without an id, an event is a duplicate of one of its send, kind and moment, as before.
    assert client.post("/events", json={"events": [{**bought, "value": 50}]}).json()["duplicates"] == 1
    opened = {"send_id": send_id, "kind": "open", "occurred_at": moment}
    assert client.post("/events", json={"events": [opened, opened]}).json() == {"recorded": 1, "duplicates": 1}


def test_an_event_id_is_text_of_bounded_length(client, engine):
    send_id = _sent_email(engine)
    for event_id in ("", "x" * 201, 12):
        event = {"send_id": send_id, "kind": "open", "event_id": event_id}
        refused = client.post("/events", json={"events": [event]})
        assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "events[0].event_id"


def test_a_send_is_found_by_its_message_id_with_or_without_angle_brackets(client, engine):
    """Many email services report the Message-ID without its brackets: such events named no known send, and the
    whole batch was refused."""
    _sent_email(engine, message_id="<a1b2@shop.example>")
    events = [
        {"message_id": message_id, "kind": kind}
        for message_id, kind in (
            ("a1b2@shop.example", "open"),
            ("<a1b2@shop.example>", "click"),
            (" a1b2@shop.example ", "delivered"),
        )
    ]
    assert client.post("/events", json={"events": events}).json() == {"recorded": 3, "duplicates": 0}
    unknown = client.post("/events", json={"events": [{"message_id": "a1b2", "kind": "open"}]})
    assert unknown.status_code == 422 and "unknown message_id 'a1b2'" in unknown.json()["message"]


def test_a_moment_that_its_zone_takes_past_the_calendar_s_edge_is_refused_naming_it(client, engine):
    """Converting it to the server's time crashed the request (OverflowError: date value out of range)."""
    send_id = _sent_email(engine)
    events = [
        {"send_id": send_id, "kind": "open", "occurred_at": "9999-12-31T23:59:59-05:00"},
        {"send_id": send_id, "kind": "open", "occurred_at": "0001-01-01T00:00:00+05:00"},
    ]
    refused = client.post("/events", json={"events": events})
    assert refused.status_code == 422, refused.text
    problems = {p["field"]: p["message"] for p in refused.json()["problems"]}
    assert "has not come yet" in problems["events[0].occurred_at"]
    assert "is before the email was sent" in problems["events[1].occurred_at"]
