"""A customer's `unsubscribed_at` is when the unsubscribe took effect, as their consent history and its event say,
not when Tailor wrote it: an email service reporting an unsubscribe or complaint hours later, and a link's
unsubscribe kept on disk while SQLite was busy and written once the lock was free, had the write's moment there
(support answered "when did I unsubscribe?" with the wrong time, and the subject access export contradicted
itself). The record's `updated_at` stays the write's."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from service.clock import utcnow
from service.db.models import Customer, Send
from service.db.session import session_scope
from service.signed_links import UnsubscribeLinks
from tests.service.test_importing import CUSTOMERS, upload_customers


def _moment(text: str | None) -> datetime | None:
    return text and datetime.fromisoformat(text).replace(tzinfo=None)


def _mailed(engine, sent_ago: timedelta, consent: bool = True) -> int:
    """Customer c1 (and c2 at the same address), c1 mailed ``sent_ago``; that send's id."""
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="anna@example.com", marketing_consent=consent)
        session.add(Customer(external_id="c2", email="Anna@example.com", marketing_consent=True))
        send = Send(customer=customer, subject="Hi", campaign_type="vip", sent_at=utcnow() - sent_ago)
        session.add(send)
        session.flush()
        return send.id


def _unsubscribe_event(client, send_id: int, occurred_at: datetime, kind: str = "unsubscribe") -> None:
    event = {"send_id": send_id, "kind": kind, "occurred_at": occurred_at.isoformat() + "Z"}
    response = client.post("/events", json={"events": [event]})
    assert response.status_code == 200 and response.json()["recorded"] == 1, response.text


def test_an_unsubscribe_reported_late_is_dated_when_it_happened(client, engine):
    send_id = _mailed(engine, timedelta(hours=3))
    occurred_at = utcnow().replace(microsecond=0) - timedelta(hours=2)
    before = utcnow()
    _unsubscribe_event(client, send_id, occurred_at, kind="complaint")

    for customer in ("c1", "c2"):  # its own customer, and another id at the address
        shown = client.get(f"/customers/{customer}").json()
        assert shown["unsubscribed"] and _moment(shown["unsubscribed_at"]) == occurred_at, customer
    export = client.get("/customers/c1/export").json()
    (change,) = [c for c in export["consent_history"] if c["change"] == "unsubscribed"]
    assert _moment(change["took_effect_at"]) == _moment(export["customer"]["unsubscribed_at"]) == occurred_at
    assert before <= _moment(export["customer"]["updated_at"]) <= utcnow()  # the write's time


def test_an_unsubscribe_dated_a_little_ahead_by_the_email_service_s_clock_is_not_dated_after_its_write(client, engine):
    send_id = _mailed(engine, timedelta(hours=1))
    _unsubscribe_event(client, send_id, utcnow() + timedelta(minutes=5))  # within CLOCK_SKEW: taken
    after = utcnow()

    shown = _moment(client.get("/customers/c1").json()["unsubscribed_at"])
    export = client.get("/customers/c1/export").json()
    (change,) = [c for c in export["consent_history"] if c["change"] == "unsubscribed"]
    assert shown <= after and _moment(change["took_effect_at"]) == shown


def test_consent_given_after_an_unsubscribe_reported_later_ends_as_a_timely_report_would(client, engine):
    """The person clicked unsubscribe, then the shop's file gave their consent (dated after the click), and only
    then did the email service report the click: as had it come in time, they stay unsubscribed (giving consent
    never undoes an unsubscribe), dated by the click, and the history lists the two in the order they happened."""
    send_id = _mailed(engine, timedelta(hours=3), consent=False)
    clicked_at = utcnow().replace(microsecond=0) - timedelta(hours=2)
    consent_at = clicked_at + timedelta(hours=1)
    file = CUSTOMERS.assign(marketing_consent=["true", "true"], consent_at=[consent_at.isoformat()] * 2)
    upload_customers(client, file.assign(email=["anna@example.com", "jan@example.com"]))
    _unsubscribe_event(client, send_id, clicked_at)

    shown = client.get("/customers/c1").json()
    assert shown["marketing_consent"] and _moment(shown["consent_changed_at"]) == consent_at
    assert shown["unsubscribed"] and _moment(shown["unsubscribed_at"]) == clicked_at
    history = client.get("/customers/c1/export").json()["consent_history"]
    assert [(c["change"], _moment(c["took_effect_at"])) for c in history] == [
        ("unsubscribed", clicked_at), ("given", consent_at),
    ]  # fmt: skip


def test_an_unsubscribe_kept_while_the_database_was_busy_is_dated_by_the_click(client, engine, locked):
    send_id = _mailed(engine, timedelta(days=30))
    token = UnsubscribeLinks.configured().token(send_id)
    release = locked()  # a customers import's write
    try:
        before = utcnow()
        assert client.post(f"/unsubscribe/{token}").status_code == 200
        clicked_by = utcnow()
        time.sleep(1)  # the lock held on: the unsubscribe is written a second after the click at the earliest
    finally:
        release()
    assert client.app.state.tailor.kept_unsubscribes.wait(10)

    shown = client.get("/customers/c1").json()
    assert shown["unsubscribed"] and before <= _moment(shown["unsubscribed_at"]) <= clicked_by
    assert _moment(client.get("/customers/c1/export").json()["customer"]["updated_at"]) >= clicked_by + timedelta(
        seconds=1
    )
