"""A hard bounce marks its address for every customer id at it (service.addresses), and marking them is one UPDATE
per batch of ids, not one per customer: 10,000 bounce events posted at once took 13 s on SQLite, each event looking
up who had its address and whether it was recorded before, the session flushing the last event's changes before each
look-up; the events recorded before are now read at once too. The UPDATE marks each customer in
the spelling of the address the database holds, and only those still at a bounced address: a customer another
transaction changed since their row was read is marked as that transaction left them, or left alone."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from service.addresses import address_key, stop_shared_addresses
from service.campaigns import create_campaign
from service.clock import utcnow
from service.db.models import Customer, Draft, Send
from service.db.session import session_scope
from service.events import ingest_events
from service.pipeline.send_outcomes import skip
from service.schemas import CampaignIn, EventIn

CLAIM = "web-1:4242:0123456789ab/claim"  # the send's claim on the draft whose address the server refused


def _customers(engine, emails: list[str], bounced: bool = False) -> list[int]:
    """Customers at these addresses (bounced there already, with ``bounced``); their row ids in that order."""
    with session_scope(engine) as session:
        first = session.scalar(select(Customer.id).order_by(Customer.id.desc()).limit(1)) or 0
        rows = [
            {"external_id": f"c{first + i}", "email": email, "email_key": address_key(email), "marketing_consent": True,
             "bounced_email": email if bounced else None}
            for i, email in enumerate(emails)
        ]  # fmt: skip
        session.execute(insert(Customer), rows)
        return list(session.scalars(select(Customer.id).where(Customer.id > first).order_by(Customer.id)))


def _sends(engine, customer_ids: list[int], emails: list[str]) -> list[int]:
    with session_scope(engine) as session:
        sends = [
            Send(customer_id=customer_id, subject="News", campaign_type="vip", to_email=email,
                 sent_at=utcnow() - timedelta(days=2))
            for customer_id, email in zip(customer_ids, emails, strict=True)
        ]  # fmt: skip
        session.add_all(sends)
        session.flush()
        return [send.id for send in sends]


def _bounced(engine) -> set[int]:
    with session_scope(engine) as session:
        return set(session.scalars(select(Customer.id).where(Customer.bounced_email == Customer.email)))


@contextmanager
def _customer_updates(engine, matching: Callable[[str], bool] | None = None) -> Iterator[list[str]]:
    """The UPDATEs of customers rows (or the statements ``matching``, in capitals) run on ``engine`` within the
    block: each row of an executemany as one, as the database runs it."""
    updates: list[str] = []
    matching = matching or (lambda statement: statement.startswith("UPDATE CUSTOMERS"))

    def count(_connection, _cursor, statement, parameters, _context, executemany) -> None:
        if matching(" ".join(statement.split()).upper()):
            updates.extend([statement] * (len(parameters) if executemany else 1))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield updates
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_bounce_events_of_many_customers_are_an_update_per_batch(engine):
    emails = [f"c{i}@example.com" for i in range(60)]
    send_ids = _sends(engine, _customers(engine, emails), emails)
    bounces = [EventIn(send_id=send_id, kind="bounce", event_id=f"bounce-{send_id}") for send_id in send_ids]
    reading_events = lambda statement: statement.startswith("SELECT") and " FROM EVENTS" in statement  # noqa: E731
    with (
        _customer_updates(engine) as updates,
        _customer_updates(engine, reading_events) as look_ups,
        session_scope(engine) as session,
    ):
        assert ingest_events(session, bounces)["recorded"] == 60
    assert len(updates) == 1, updates[:3]
    assert len(look_ups) == 1, look_ups[:3]  # whether each was recorded before, asked once for all
    with session_scope(engine) as session:  # posted again, twice in one batch: each one a duplicate
        assert ingest_events(session, bounces[:2] * 2) == {"recorded": 0, "duplicates": 4}
    with session_scope(engine) as session:
        assert _bounced(engine) == set(session.scalars(select(Customer.id)))


def test_a_bounce_at_an_address_many_ids_share_is_one_update(engine):
    """A shop's placeholder address ("noemail@shop.example") held by 300 customer ids, one of whose sends bounced."""
    ids = _customers(engine, ["Noemail@Shop.example", *(["noemail@shop.example"] * 299)])
    (send_id,) = _sends(engine, ids[:1], ["noemail@shop.example"])
    with _customer_updates(engine) as updates, session_scope(engine) as session:
        ingest_events(session, [EventIn(send_id=send_id, kind="bounce")])
    assert len(updates) == 1, updates[:3]
    assert _bounced(engine) == set(ids)  # the first in its own spelling, which email_bounced compares


def test_the_households_an_import_leaves_are_an_update_per_batch(engine):
    at_home = _customers(engine, [f"home{i % 3}@example.com" for i in range(300)])
    already = _customers(engine, [f"home{i}@example.com" for i in range(3)], bounced=True)
    with _customer_updates(engine) as updates, session_scope(engine) as session:
        assert stop_shared_addresses(session) == set(at_home)
    assert len(updates) == 1, updates[:3]
    assert _bounced(engine) == {*at_home, *already}


def test_a_customer_another_transaction_changed_after_the_read_is_marked_as_it_left_them(shared_engine):
    """The bounce marks the address the database holds: a customer re-spelt by an import since this session read
    them is marked in the new spelling (in the one read, their address did not read as bounced), and one moved to
    another address, which bounced too, keeps that address's mark."""
    respelt, moved = _customers(shared_engine, ["home@example.com", "home@example.com"])
    (send_id,) = _sends(shared_engine, [respelt], ["home@example.com"])
    with Session(shared_engine) as marking:
        held = {c.id: c for c in marking.scalars(select(Customer).where(Customer.id.in_([respelt, moved])))}
        with session_scope(shared_engine) as by_import:  # a customers file, imported meanwhile
            by_import.get(Customer, respelt).email = "Home@Example.com"
            elsewhere = by_import.get(Customer, moved)
            elsewhere.email = elsewhere.bounced_email = "new@example.com"
        ingest_events(marking, [EventIn(send_id=send_id, kind="bounce")])
        assert held[respelt].email_bounced and held[respelt].bounced_email == "Home@Example.com"
        marking.commit()
    with session_scope(shared_engine) as session:
        assert session.get(Customer, respelt).bounced_email == "Home@Example.com"
        assert session.get(Customer, moved).bounced_email == "new@example.com"


def test_an_smtp_refusal_marks_the_address_for_every_id_at_it(engine):
    """The mail server refused the address for good during a send: its draft's customer and the other ids at it."""

    ids = _customers(engine, ["home@example.com"] * 3)
    with session_scope(engine) as session:
        session.execute(update(Customer).values(email="HOME@example.com").where(Customer.id == ids[2]))
        campaign = create_campaign(session, CampaignIn(name="Refused", brand="hearth", campaign_type="vip"))
        draft = Draft(campaign=campaign, customer_id=ids[0], status="sending", claimed_by=CLAIM)
        session.add(draft)
        session.flush()
        draft_id = draft.id
    with _customer_updates(engine) as updates:
        told = skip(
            engine, draft_id, CLAIM, "The mail server refused the address", "550 5.1.1 no such mailbox", bounced=True
        )
    assert told["draft_id"] == draft_id and len(updates) == 1
    assert _bounced(engine) == set(ids)
