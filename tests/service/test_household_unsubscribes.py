"""An unsubscribe holds for every customer id at the address (service.addresses), and stopping them is one UPDATE
per batch of ids, not per customer: an import that stopped 100,000 customers at addresses unsubscribed before took
over a minute on SQLite, holding the write lock all along. The UPDATE stays conditional, as the one-customer
unsubscribe is (service.consent): a customer another transaction unsubscribed since their row was read is left as
that transaction left them, and each unsubscribe is recorded once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from service import consent
from service.addresses import stop_shared_addresses
from service.clock import utcnow
from service.db.models import ConsentChange, Customer, Send
from service.db.session import session_scope
from service.events import ingest_events
from service.schemas import EventIn
from tests.service.conftest import lock_household_as_sender, new_migrated_postgres_database


def _household(engine, size: int, addresses: int = 1) -> list[int]:
    """At each of ``addresses`` addresses, an unsubscribed customer and ``size`` subscribed ones; the row ids of the
    subscribed ones."""
    with session_scope(engine) as session:
        for address in range(addresses):
            email = f"home{address}@example.com"
            rows = [
                {"external_id": f"h{address}-{i}", "email": email, "email_key": email, "marketing_consent": True,
                 "unsubscribed": i == 0}
                for i in range(size + 1)
            ]  # fmt: skip
            session.execute(insert(Customer), rows)
        return list(session.scalars(select(Customer.id).where(~Customer.unsubscribed).order_by(Customer.id)))


def _changes(engine) -> list[tuple[int, str]]:
    with session_scope(engine) as session:
        return [tuple(row) for row in session.execute(select(ConsentChange.customer_id, ConsentChange.source))]


@contextmanager
def _customer_updates(engine) -> Iterator[list[str]]:
    """The UPDATE statements of customers rows run on ``engine`` within the block."""
    updates: list[str] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("UPDATE CUSTOMERS"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield updates
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_stopping_an_address_s_many_ids_is_an_update_per_batch_and_a_change_each(engine):
    subscribed = _household(engine, size=100, addresses=3)
    with _customer_updates(engine) as updates, session_scope(engine) as session:
        assert stop_shared_addresses(session) == set(subscribed)
    assert len(updates) == 1, updates[:3]
    assert sorted(_changes(engine)) == [(customer_id, consent.ADDRESS) for customer_id in subscribed]
    with session_scope(engine) as session:
        assert session.scalar(select(Customer.id).where(~Customer.unsubscribed)) is None


def test_an_unsubscribe_at_an_address_many_ids_share_is_two_updates_and_a_change_each(engine):
    """A shop's placeholder address ("noemail@shop.example") held by 300 customer ids, one of whom unsubscribes."""
    ids = _household(engine, size=300)
    with session_scope(engine) as session:
        send = Send(customer=session.get(Customer, ids[0]), subject="News", campaign_type="cross_sell",
                    sent_at=utcnow() - timedelta(days=2), to_email="home0@example.com")  # fmt: skip
        session.add(send)
        session.flush()
        send_id = send.id
    asked_at = (utcnow() - timedelta(days=1)).replace(microsecond=0)
    with _customer_updates(engine) as updates, session_scope(engine) as session:
        unsubscribe = EventIn(send_id=send_id, kind="unsubscribe", occurred_at=asked_at)
        assert ingest_events(session, [unsubscribe])["recorded"] == 1
    assert len(updates) == 2, updates[:3]  # the send's own customer, and the others at its address
    expected = [(ids[0], "unsubscribe event"), *((customer_id, consent.ADDRESS) for customer_id in ids[1:])]
    assert sorted(_changes(engine)) == expected
    with session_scope(engine) as session:
        assert set(session.scalars(select(ConsentChange.took_effect_at))) == {asked_at}


def test_a_customer_another_transaction_unsubscribed_after_the_read_is_left_as_it_left_them(shared_engine):
    first, second = _household(shared_engine, size=2)
    with Session(shared_engine) as stopping:
        held = {c.id: c for c in stopping.scalars(select(Customer).where(Customer.id.in_([first, second])))}
        with session_scope(shared_engine) as by_link:  # the link of the second, followed meanwhile
            consent.unsubscribe(by_link.get(Customer, second), "unsubscribe link")
        with session_scope(shared_engine) as session:
            by_link_at = session.get(Customer, second).unsubscribed_at
        assert consent.unsubscribe_all(stopping, [first, second], consent.ADDRESS) == {first}
        assert held[first].unsubscribed and held[first].unsubscribed_at is not None  # as the UPDATE left it
        assert (held[second].unsubscribed, held[second].unsubscribed_at) == (True, by_link_at)  # as the link did
        stopping.commit()
    assert sorted(_changes(shared_engine)) == [(first, consent.ADDRESS), (second, "unsubscribe link")]
    with session_scope(shared_engine) as session:
        assert session.get(Customer, second).unsubscribed_at == by_link_at


def test_an_address_stopped_twice_at_once_is_recorded_once_for_each_id(shared_engine):
    """Two imports (or an import and an email service's unsubscribe) both read the household subscribed; the second's
    UPDATE waits for the first's commit and then finds nothing to change."""
    subscribed = _household(shared_engine, size=3)
    failures: list[Exception] = []

    def second_stop() -> None:
        try:
            with session_scope(shared_engine) as second:
                stop_shared_addresses(second)
        except Exception as error:  # noqa: BLE001 (told by the assertion below)
            failures.append(error)

    with session_scope(shared_engine) as first:
        assert stop_shared_addresses(first) == set(subscribed)  # written, not yet committed
        other = threading.Thread(target=second_stop)
        other.start()
        other.join(timeout=1)  # it reads the customers, then waits for the first's lock
    other.join(timeout=30)
    assert failures == []
    assert sorted(_changes(shared_engine)) == [(customer_id, consent.ADDRESS) for customer_id in subscribed]


@pytest.mark.postgres
def test_an_unsubscribe_event_and_a_sender_locking_the_household_do_not_deadlock(postgres_url):
    """The send is the household's later id's: the event unsubscribed its own customer first (their row locked), then
    the address's other ids, while a sender had locked the household's first id, in the order of their ids, and
    waited for the later one: PostgreSQL broke the deadlock by failing one of the two. The event holds the household
    in the order of its ids, as the sender does, and one waits for the other."""
    engine = new_migrated_postgres_database(postgres_url, "unsubscribe_locks")
    try:
        first, later = _household(engine, size=2)
        with session_scope(engine) as session:
            send = Send(customer=session.get(Customer, later), subject="News", campaign_type="cross_sell",
                        sent_at=utcnow() - timedelta(days=2), to_email="home0@example.com")  # fmt: skip
            session.add(send)
            session.flush()
            send_id = send.id
        failures: list[Exception] = []
        holding, go_on = threading.Event(), threading.Event()
        unsubscribe_all = consent.unsubscribe_all

        def after_its_own(*args, **kwargs) -> set[int]:
            holding.set()  # the send's own customer unsubscribed, not yet committed
            go_on.wait(10)
            return unsubscribe_all(*args, **kwargs)

        def event_beside() -> None:
            try:
                with session_scope(engine) as session:
                    ingest_events(session, [EventIn(send_id=send_id, kind="unsubscribe")])
            except Exception as error:  # noqa: BLE001 (told by the assertion below)
                failures.append(error)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(consent, "unsubscribe_all", after_its_own)
            ingesting = threading.Thread(target=event_beside)
            ingesting.start()
            holding.wait(10)
            sending = threading.Thread(target=lock_household_as_sender, args=(engine, [first, later], failures))
            sending.start()
            sending.join(timeout=1)  # it locks what it can of the household, and waits
            go_on.set()
            ingesting.join(timeout=60)
            sending.join(timeout=60)
        assert failures == []
        with session_scope(engine) as session:
            assert session.scalar(select(Customer.id).where(~Customer.unsubscribed)) is None
    finally:
        engine.dispose()
