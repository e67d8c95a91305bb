"""Events from the email service: a retried event is recorded once, two events that share a moment are both kept
when the service names them, and a send is found by its Message-ID however the service writes it."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from service.customers import erase_customer
from service.db.models import Customer, Event, Send
from service.db.session import session_scope
from service.errors import InvalidInput
from service.events import ERASED, ERASED_STOPPED, ingest_events
from service.schemas import EventIn
from tests.service.conftest import new_migrated_postgres_database


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


def test_an_event_naming_one_send_by_id_and_another_by_message_id_is_refused_naming_the_field(client, engine):
    """Recorded on the send_id's send, the Message-ID unread: a click the email service reported for one email
    counted for another."""
    first = _sent_email(engine, message_id="<a1b2@shop.example>")
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer))
        other = Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=datetime.now() - timedelta(hours=1),
                     message_id="<c3d4@shop.example>")  # fmt: skip
        session.add(other)
        session.flush()
        second = other.id
    for message_id, said in (("c3d4@shop.example", f"Message-ID of send {second}"), ("zz@shop.example", "not the")):
        event = {"send_id": first, "message_id": message_id, "kind": "click"}
        refused = client.post("/events", json={"events": [event]})
        assert refused.status_code == 422 and "events[0].message_id" in refused.json()["message"], refused.json()
        assert said in refused.json()["message"]
    agreeing = {"send_id": first, "message_id": "a1b2@shop.example", "kind": "click"}
    assert client.post("/events", json={"events": [agreeing]}).json() == {"recorded": 1, "duplicates": 0}


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


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_events_of_a_send_erased_with_its_customer_are_skipped_and_the_batch_recorded(backend, engine, request):
    """One event of an erased customer's send refused the whole batch: the email service sent it again for ever and
    the batch's other events were lost. A send id that never existed is still refused."""
    if backend == "postgres":
        engine = new_migrated_postgres_database(request.getfixturevalue("postgres_url"), "erased")
    erased = _sent_email(engine)  # c1's, Message-ID <a1b2@shop.example>
    with session_scope(engine) as session:
        customer = Customer(external_id="c2", email="c2@example.com", marketing_consent=True)
        kept = Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=datetime.now() - timedelta(hours=1))
        session.add(kept)
        session.flush()
        kept = kept.id
        erase_customer(session, "c1")
    batch = [
        EventIn(send_id=erased, kind="open"), EventIn(message_id="a1b2@shop.example", kind="click"),
        EventIn(send_id=kept, kind="open"),
    ]  # fmt: skip
    with session_scope(engine) as session:
        answer = ingest_events(session, batch)
    assert answer == {
        "recorded": 1, "duplicates": 0,
        "skipped": [{"index": 0, "send_id": erased, "reason": ERASED},
                    {"index": 1, "message_id": "a1b2@shop.example", "reason": ERASED}],
    }  # fmt: skip
    with session_scope(engine) as session:
        assert session.scalars(select(Event.send_id)).all() == [kept]
        with pytest.raises(InvalidInput) as refused:
            ingest_events(session, [*batch, EventIn(send_id=kept + erased + 1, kind="open")])
    assert (
        str(refused.value)
        == f"events rejected, nothing was written: field 'events[3].send_id': unknown send_id {kept + erased + 1}"
    )
    engine.dispose()


def test_a_batch_refused_for_an_event_s_field_names_the_unknown_sends_of_the_others_too(client, engine):
    """A batch with a bad `kind` in one event and a send that never existed in another was refused naming the kind
    alone: the client fixed it, sent it again and was refused for the send. One 422 names every problem, each by
    its event's index, in the API's error shape, and nothing of the batch is recorded; a caller without a key is
    told nothing of the sends."""
    send_id = _sent_email(engine)
    events = [
        {"send_id": send_id, "kind": "open"},
        {"send_id": send_id + 1, "kind": "click"},
        {"send_id": send_id, "kind": "opened"},
        {"message_id": "<nobody@shop.example>", "kind": "open"},
    ]
    refused = client.post("/events", json={"events": events})
    assert refused.status_code == 422, refused.text
    assert [problem["field"] for problem in refused.json()["problems"]] == [
        "events[1].send_id", "events[2].kind", "events[3].message_id"
    ]  # fmt: skip
    assert refused.json()["problems"][0] == {"field": "events[1].send_id", "message": f"unknown send_id {send_id + 1}"}
    assert refused.json()["error"] == "InvalidRequest"
    assert "; events[3].message_id: unknown message_id '<nobody@shop.example>'" in refused.json()["message"]
    with session_scope(engine) as session:
        assert session.scalars(select(Event.id)).all() == []
    unkeyed = client.post("/events", json={"events": events}, headers={"X-API-Key": "no such key"})
    assert unkeyed.status_code == 401 and "send_id" not in unkeyed.text


def test_events_of_an_erased_customer_s_imported_send_named_by_the_shop_s_id_are_skipped(client, engine):
    """An event naming an erased customer's imported send by its `shop_send_id` refused the whole batch ("unknown
    shop_send_id"): the erasure kept the send's Tailor id and Message-ID, not the shop's id. Its unsubscribe still
    stops whoever has the address it went to; a shop id that never existed is still refused."""
    kept = _sent_email(engine)  # c1's
    with session_scope(engine) as session:
        erased = Customer(external_id="c2", email="c2@example.com", marketing_consent=True)
        household = Customer(external_id="c3", email="c2@example.com", marketing_consent=True)  # the same address
        sent_at = datetime.now() - timedelta(hours=2)
        session.add_all([household, Send(customer=erased, subject="Old", campaign_type="vip", sent_at=sent_at,
                                         external_id="s0")])  # fmt: skip
        session.flush()
        erase_customer(session, "c2")
    events = [
        {"shop_send_id": "s0", "kind": "click"}, {"send_id": "s0", "kind": "open"},  # send_id: its old name
        {"shop_send_id": "s0", "kind": "unsubscribe"}, {"send_id": kept, "kind": "click"},
    ]  # fmt: skip
    answer = client.post("/events", json={"events": events})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "recorded": 1, "duplicates": 0,
        "skipped": [{"index": 0, "shop_send_id": "s0", "reason": ERASED},
                    {"index": 1, "shop_send_id": "s0", "reason": ERASED},
                    {"index": 2, "shop_send_id": "s0", "reason": ERASED_STOPPED}],
    }  # fmt: skip
    with session_scope(engine) as session:
        assert session.scalars(select(Event.send_id)).all() == [kept]
        assert session.scalar(select(Customer.unsubscribed).where(Customer.external_id == "c3"))
    unknown = client.post("/events", json={"events": [{"shop_send_id": "s404", "kind": "open"}]})
    assert unknown.status_code == 422 and "unknown shop_send_id 's404'" in unknown.text


def test_an_imported_send_is_named_by_the_shop_s_own_id(client, engine):
    """The sends list shows an imported send's own id as `send_id`, a string, which POST /events refused ("Input
    should be a valid integer"): a client that copied it could record nothing on the shop's history."""
    tailor_send = _sent_email(engine)
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        sent_at = datetime.now() - timedelta(hours=2)
        session.add(Send(customer=customer, subject="Old", campaign_type="vip", sent_at=sent_at, external_id="E009825"))
    listed = {send["subject"]: send for send in client.get("/customers/c1/sends").json()}
    assert listed["Old"]["send_id"] == "E009825" and listed["Hi"]["send_id"] is None

    events = [{"send_id": "E009825", "kind": "open"}, {"send_id": tailor_send, "kind": "click"}]
    assert client.post("/events", json={"events": events}).json() == {"recorded": 2, "duplicates": 0}
    opened = {send["subject"]: [e["kind"] for e in send["events"]] for send in client.get("/customers/c1/sends").json()}
    assert "open" in opened["Old"] and "click" in opened["Hi"]
    unknown = client.post("/events", json={"events": [{"send_id": "E404", "kind": "open"}]})
    assert unknown.status_code == 422 and "unknown send_id 'E404'" in unknown.text


def test_a_customer_s_sends_say_when_each_event_reached_tailor_not_only_when_it_happened(client, engine):
    """A customer wrote "I unsubscribed and still got one": the unsubscribe showed only when the email service said
    it happened, before the next email went, so support read it as Tailor mailing after an unsubscribe; whether it
    had reached Tailor before that email went, nothing said."""
    from service.clock import utcnow

    now = utcnow()
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        first = Send(customer=customer, subject="First", campaign_type="vip", sent_at=now - timedelta(hours=3))
        second = Send(customer=customer, subject="Second", campaign_type="vip", sent_at=now - timedelta(hours=1))
        session.add_all([first, second])
        session.flush()
        first_id = first.id
    unsubscribed_at = now - timedelta(hours=2)  # between the two emails, reported only now
    event = {"send_id": first_id, "kind": "unsubscribe", "occurred_at": unsubscribed_at.isoformat() + "Z"}
    assert client.post("/events", json={"events": [event]}).json()["recorded"] == 1

    sends = {send["subject"]: send for send in client.get("/customers/c1/sends").json()}
    (unsubscribe,) = sends["First"]["events"]
    assert datetime.fromisoformat(unsubscribe["occurred_at"]).replace(tzinfo=None) == unsubscribed_at
    recorded_at = datetime.fromisoformat(unsubscribe["recorded_at"]).replace(tzinfo=None)
    second_sent_at = datetime.fromisoformat(sends["Second"]["sent_at"]).replace(tzinfo=None)
    assert second_sent_at < recorded_at <= utcnow()  # it reached Tailor after the second email went
    with session_scope(engine) as session:
        assert session.scalar(select(Event.recorded_at).where(Event.send_id == first_id)) == recorded_at
