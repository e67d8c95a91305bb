"""A customers import's row locks on PostgreSQL (service.importing.customer_locks): the file's stored customers, in
the order of their ids over the whole file, each batch of ids looked up and locked in one array parameter."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.db.models import Customer
from service.db.session import session_scope
from service.importing.customer_locks import lock_customers
from tests.service.conftest import new_migrated_postgres_database


@pytest.mark.postgres
def test_the_file_s_stored_customers_are_locked_in_the_order_of_their_ids_a_batch_in_one_parameter(
    postgres_url, monkeypatch
):
    """Each id was a parameter of its own (``IN (...)``): the queries looking up and locking the 100,000 stored
    customers of a file took 3 to 6 s, most of it in the parameters. The ids, in batches of two here, are locked in
    their order across the file's chunks, whatever order the file names them in; a customer it does not name stays
    free."""
    engine = new_migrated_postgres_database(postgres_url, "customer_locks")
    try:
        with session_scope(engine) as session:
            for name in ("a", "b", "c", "d", "e", "free"):
                session.add(Customer(external_id=name, email=f"{name}@example.com", first_name=name))
        with session_scope(engine) as session:
            ids = {name: id_ for name, id_ in session.execute(select(Customer.external_id, Customer.id))}
        locks: list[dict] = []
        look_ups: list[dict] = []

        def seen(_connection, _cursor, statement, parameters, *_args) -> None:
            if statement.rstrip().endswith("FOR UPDATE"):
                locks.append(parameters)
            elif "WHERE customers.external_id" in statement:
                look_ups.append(parameters)

        monkeypatch.setattr("service.db.batches.IN_BATCH", 2)
        event.listen(engine, "before_cursor_execute", seen)
        with Session(engine) as importing:
            chunks = [["e", "a", "unknown"], ["c", "b", "a"], ["d"]]
            lock_customers(importing, [(names, [f"{name}@example.com" for name in names]) for names in chunks])
            event.remove(engine, "before_cursor_execute", seen)
            assert look_ups == [{"keys": keys} for keys in (["e", "a"], ["unknown"], ["c", "b"], ["a"], ["d"])]
            assert [batch["ids"] for batch in locks] == [
                [ids["a"], ids["b"]], [ids["c"], ids["d"]], [ids["e"]]
            ]  # fmt: skip
            with Session(engine) as other:
                other.execute(select(Customer.id).where(Customer.external_id == "free").with_for_update(nowait=True))
                for name in "abcde":
                    with pytest.raises(OperationalError, match="could not obtain lock"):
                        other.execute(
                            select(Customer.id).where(Customer.external_id == name).with_for_update(nowait=True)
                        )
                    other.rollback()
            importing.rollback()
    finally:
        engine.dispose()
