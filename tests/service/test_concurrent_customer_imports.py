"""Two customers files imported side by side on one database (two servers, or the API and the command line): the
second compares each row with what the first committed, not with what it read before the first's commit. It read
the customers before waiting for the first's writes, so it moved a customer's drafts from the zone they had
left (once more, from the wrong clock), and recorded their consent withdrawn a second time. Likewise an unsubscribe
committed while a file was being imported: the import wrote back the customer as it had read them, subscribed. And two
files bringing the same new customer: the second inserted them again, and was refused for the duplicate id."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import consent
from service.db.models import ConsentChange, Customer, Draft
from service.db.session import session_scope
from service.importing import import_file
from service.importing.customer_rows import CustomerPlan
from tests.service.conftest import lock_household_as_sender, new_migrated_postgres_database
from tests.service.test_zone_moves import HEADER, NINE_IN_NEW_YORK, _at_nine_in_new_york

NINE_IN_TOKYO = datetime(2027, 1, 11, 0, 0)  # 09:00 on 11 January 2027 in Tokyo (UTC+9)


def _moving_to(tmp_path, zone: str):
    """A file that moves the New Yorker `ny` to ``zone`` and withdraws their consent."""
    path = tmp_path / f"{zone.replace('/', '_')}.csv"
    path.write_text(HEADER + f"ny,ny@example.com,Ny,false,{zone}\nstay,stay@example.com,Stay,true,America/New_York\n")
    return path


def _side_by_side(engine, first_file, second_import) -> None:
    """``first_file`` imported and written, not yet committed, while ``second_import`` runs beside it."""
    with Session(engine) as first:
        import_file(first, "customers", first_file)
        other = threading.Thread(target=second_import)
        other.start()
        other.join(timeout=1)  # it reads the customers, or waits for the first's lock
        first.commit()
    other.join(timeout=60)


def _import_beside(engine, path, failures: list[Exception]) -> None:
    """Import the customers file at ``path`` in a transaction of its own (a thread beside the test's); its error goes
    to ``failures``."""
    try:
        with session_scope(engine) as importing:
            import_file(importing, "customers", path)
    except Exception as error:  # noqa: BLE001 (told by the caller's assertion)
        failures.append(error)


def test_a_second_import_compares_with_what_the_first_committed(shared_engine, tmp_path):
    drafts = _at_nine_in_new_york(shared_engine, tmp_path)
    failures: list[Exception] = []

    def second_import() -> None:
        try:
            with session_scope(shared_engine) as second:
                import_file(second, "customers", _moving_to(tmp_path, "Asia/Tokyo"))
        except Exception as error:  # noqa: BLE001 (told by the assertion below)
            failures.append(error)

    _side_by_side(shared_engine, _moving_to(tmp_path, "Europe/Berlin"), second_import)
    assert failures == []
    with session_scope(shared_engine) as session:
        assert session.scalar(select(Customer.timezone).where(Customer.external_id == "ny")) == "Asia/Tokyo"
        moments = {name: session.get(Draft, draft_id).send_after for name, draft_id in drafts.items()}
        history = session.scalars(
            select(ConsentChange.change)
            .join(Customer, Customer.id == ConsentChange.customer_id)
            .where(Customer.external_id == "ny")
            .order_by(ConsentChange.id)
        ).all()
    # Berlin's 09:00 read on New York's clock (03:00) put it at 03:00 in Tokyo; the consent was withdrawn once.
    assert (moments["best"], moments["stay"], history) == (NINE_IN_TOKYO, NINE_IN_NEW_YORK, ["given", "withdrawn"])


def test_an_unsubscribe_while_a_file_is_imported_stays(shared_engine, tmp_path):
    """The file renames the customer (so it writes their row) and says nothing of an unsubscribe."""
    with session_scope(shared_engine) as session:
        session.add(Customer(external_id="c1", email="ann@example.com", first_name="Ann", marketing_consent=True))
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email,first_name,marketing_consent\nc1,ann@example.com,Anna,true\n")
    failures: list[Exception] = []

    with Session(shared_engine) as unsubscribing:
        customer = unsubscribing.scalar(select(Customer).where(Customer.external_id == "c1"))
        consent.unsubscribe(customer, "unsubscribe link")  # written, not yet committed
        other = threading.Thread(target=_import_beside, args=(shared_engine, path, failures))
        other.start()
        other.join(timeout=1)  # it reads the customer, or waits for the unsubscribe's lock
        unsubscribing.commit()
    other.join(timeout=60)
    assert failures == []
    with session_scope(shared_engine) as session:
        stored = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        assert (stored.first_name, stored.unsubscribed) == ("Anna", True)


def test_a_new_customer_in_two_files_at_once_is_inserted_once(shared_engine, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email,first_name,marketing_consent\nc1,ann@example.com,Ann,true\n")
    failures: list[Exception] = []

    def second_import() -> None:
        try:
            with session_scope(shared_engine) as second:
                assert import_file(second, "customers", path).unchanged == 1
        except Exception as error:  # noqa: BLE001 (told by the assertion below)
            failures.append(error)

    _side_by_side(shared_engine, path, second_import)
    assert failures == []
    with session_scope(shared_engine) as session:
        assert session.scalars(select(ConsentChange.change)).all() == ["given"]


def test_another_writer_writes_while_a_file_is_compared_and_the_import_keeps_what_it_wrote(engine, tmp_path):
    """SQLite: the import took the database's one write lock before it read the customers, and held it while it
    compared them with the file, so a file of 110,000 changed customers kept other writers waiting past their 10 s.
    Now it compares first: a write meanwhile (an unsubscribe of a customer the file renames) is not kept waiting, and
    the import, once it holds the lock, compares that customer again: the unsubscribe stays."""
    with session_scope(engine) as session:
        session.add(Customer(external_id="c1", email="ann@example.com", first_name="Ann", marketing_consent=True))
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email,first_name,marketing_consent\nc1,ann@example.com,Anna,true\n")
    written_meanwhile: list[bool] = []
    compare = CustomerPlan.of

    def unsubscribe_first(rows, read, now) -> CustomerPlan:
        if not written_meanwhile:
            with sqlite3.connect(engine.url.database, timeout=0) as other:  # not waiting: "database is locked"
                other.execute("UPDATE customers SET unsubscribed = 1 WHERE external_id = 'c1'")
            written_meanwhile.append(True)
        return compare(rows, read, now)

    with pytest.MonkeyPatch.context() as patch, session_scope(engine) as session:
        patch.setattr(CustomerPlan, "of", unsubscribe_first)
        assert import_file(session, "customers", path).updated == 1
    with session_scope(engine) as session:
        stored = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        assert (stored.first_name, stored.unsubscribed) == ("Anna", True)


def test_another_writer_writes_while_a_later_chunk_is_compared_and_the_import_keeps_what_it_wrote(
    engine, tmp_path, monkeypatch
):
    """SQLite: a file of more than one chunk wrote its first chunk, and so took the database's one write lock, before
    it read and compared its later chunks: at 150,000 changed customers other writers waited most of 5 s. Now every
    chunk is compared before any is written: a write meanwhile (an unsubscribe of a customer the second chunk renames)
    is not kept waiting, and the import, once it holds the lock, compares that customer again: the unsubscribe stays."""
    monkeypatch.setattr("service.importing.files.CHUNK_ROWS", 1)
    with session_scope(engine) as session:
        for name in ("c1", "c2"):
            session.add(
                Customer(external_id=name, email=f"{name}@example.com", first_name=name, marketing_consent=True)
            )
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,email,first_name,marketing_consent\nc1,c1@example.com,One,true\nc2,c2@example.com,Two,true\n"
    )
    compared: list[bool] = []
    compare = CustomerPlan.of

    def unsubscribe_at_the_second_chunk(rows, read, now) -> CustomerPlan:
        compared.append(True)
        if len(compared) == 2:  # the second chunk's comparison
            with sqlite3.connect(engine.url.database, timeout=0) as other:  # not waiting: "database is locked"
                other.execute("UPDATE customers SET unsubscribed = 1 WHERE external_id = 'c2'")
        return compare(rows, read, now)

    monkeypatch.setattr(CustomerPlan, "of", unsubscribe_at_the_second_chunk)
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).updated == 2
    with session_scope(engine) as session:
        stored = session.execute(select(Customer.first_name, Customer.unsubscribed).order_by(Customer.external_id))
        assert stored.all() == [("One", False), ("Two", True)]


# What splits the file's stored customers into groups locked one after another: each id looked up alone, or each
# row of the file read as a chunk of its own.
SPLITS = {"batches": ("service.db.batches.IN_BATCH", 1), "chunks": ("service.importing.files.CHUNK_ROWS", 1)}


@pytest.mark.postgres
@pytest.mark.parametrize("split", SPLITS)
def test_a_file_and_a_sender_locking_a_household_wait_for_each_other_without_a_deadlock(postgres_url, tmp_path, split):
    """A sender locks a household's rows in the order of their ids (service.pipeline.contact_policy), and a customers
    import the file's customers in the order of their ids too, but only within each batch of ids it looked up, later
    within each chunk of the file: the file giving the household's later id in an earlier batch or chunk, each held the
    row the other waited for, and PostgreSQL broke the deadlock by failing one of them."""
    engine = new_migrated_postgres_database(postgres_url, "household_locks")
    try:
        with session_scope(engine) as session:
            for name in ("first", "later"):  # one address's household: ids in this order
                session.add(Customer(external_id=name, email="home@example.com", first_name=name))
        household = _ids(engine)
        path = tmp_path / "customers.csv"
        path.write_text(HEADER + "later,home@example.com,Later,true,\nfirst,home@example.com,First,true,\n")
        failures: list[Exception] = []

        with pytest.MonkeyPatch.context() as patch, Session(engine) as sender:
            patch.setattr(*SPLITS[split])
            sender.execute(select(Customer.id).where(Customer.id == household["first"]).with_for_update())
            other = threading.Thread(target=_import_beside, args=(engine, path, failures))
            other.start()
            other.join(timeout=1)  # it locks what it can of the household, and waits for the sender's row
            try:
                later = select(Customer.id).where(Customer.id == household["later"]).with_for_update()
                sender.execute(later)  # the household's next row, as the sender's one statement locks it
                sender.commit()
            except Exception as error:  # noqa: BLE001 (told by the assertion below)
                failures.append(error)
                sender.rollback()
            other.join(timeout=60)
        assert failures == []
        with session_scope(engine) as session:
            assert sorted(session.scalars(select(Customer.first_name))) == ["First", "Later"]
    finally:
        engine.dispose()


def _ids(engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Customer.external_id, Customer.id)).all())


@pytest.mark.postgres
def test_a_file_unsubscribing_a_household_member_and_a_sender_locking_the_household_do_not_deadlock(
    postgres_url, tmp_path
):
    """The file unsubscribes one id at an address another id has (`home`, a lower id, which the file does not name):
    the import held the file's row from the start, the sender locked `home` and waited for that row, and the import
    then unsubscribed `home` too (the address asked to stop, service.addresses) and waited for the sender: PostgreSQL
    broke the deadlock by failing the import. It holds the household from the start now, and the sender waits."""
    engine = new_migrated_postgres_database(postgres_url, "household_stops")
    try:
        with session_scope(engine) as session:
            for name in ("home", "file"):  # one address's household: ids in this order
                session.add(
                    Customer(external_id=name, email="home@example.com", first_name=name, marketing_consent=True)
                )
        household = _ids(engine)
        path = tmp_path / "customers.csv"
        path.write_text(
            "customer_id,email,first_name,marketing_consent,unsubscribed\nfile,home@example.com,F,true,true\n"
        )
        failures: list[Exception] = []
        holding, go_on = threading.Event(), threading.Event()
        compare = CustomerPlan.of

        def held_then_compared(rows, read, now) -> CustomerPlan:
            holding.set()  # the file's customers held, as they are before the first chunk is read
            go_on.wait(10)
            return compare(rows, read, now)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(CustomerPlan, "of", held_then_compared)
            importing = threading.Thread(target=_import_beside, args=(engine, path, failures))
            importing.start()
            assert holding.wait(10)
            sending = threading.Thread(target=lock_household_as_sender, args=(engine, household.values(), failures))
            sending.start()
            sending.join(timeout=1)  # it locks what it can of the household, and waits
            go_on.set()
            importing.join(timeout=60)
            sending.join(timeout=60)
        assert failures == []
        with session_scope(engine) as session:
            assert set(session.scalars(select(Customer.external_id).where(Customer.unsubscribed))) == {"home", "file"}
    finally:
        engine.dispose()
