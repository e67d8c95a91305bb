"""The locks a customers import holds, from before it reads what it compares its file with (the customers' zone,
consent, unsubscribe) until it commits: a second import side by side read them before the first's commit, moved
their drafts from the zone they had left and recorded a consent change twice; an unsubscribe committed meanwhile was
written back as it was read.

PostgreSQL: customers imports one at a time (an advisory lock: new customers have no row to lock), each waiting at most
``TAILOR_IMPORT_WAIT_SECONDS`` for the one before (it waited without end); then the rows of every stored customer
the file names, and of every customer at their addresses or at the file's (the household that the import's stop of
shared addresses, service.addresses, writes to), in one order of their ids over the whole file, before its first
chunk is read. A sender locks a household's rows in the order of their ids (service.pipeline.contact_policy): an
import locking them chunk by chunk (or batch by batch) held a row a later chunk's lower id waited behind, while the
sender held that one and waited for it, a deadlock that failed one; so did a household member the file does not
name, whom the import unsubscribed (the address unsubscribed under the file's id) once the sender held them.

SQLite: its one write lock (``take_the_write_lock``), taken once every chunk's plan is made (its rows compared with
the stored customers, service.importing.customer_rows, kept by service.importing.customer_plans), where those reads
are checked: the rows of customers another writer changed meanwhile are planned again. Taken before the read, it was
held through the comparison too, and a file of 110,000 changed customers held it past the 10 s other writers wait for
it (API writes, tracking events: "database is locked"); taken by the first chunk's write, through the later chunks'."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.addresses import address_key
from service.db import batches
from service.db.models import Customer
from service.db.session import take_the_write_lock
from service.errors import ImportRunning, is_database_busy
from service.settings import ImportSettings

# The PostgreSQL advisory lock that customers imports take one at a time: any number, the same in every Tailor process.
CUSTOMERS_IMPORT_LOCK = 7_341_202_612
# The stored ids and addresses of a batch of a file's customers (``:keys``), the ids at a batch of those addresses
# (``:addresses``), and the row locks of a batch of those ids (``:ids``, taken in their order), each batch one array
# parameter: as ``IN (...)``, a parameter a customer, the queries that
# look up and lock a file's 100,000 stored customers took 3 to 6 s, most of it in passing and parsing 10,000 parameters
# a query (1.2 to 1.4 s so, on a shared machine; evals.scale.customer_import --postgres).
_STORED_IDS = select(Customer.id, Customer.email_key).where(
    Customer.external_id == any_(bindparam("keys", type_=ARRAY(Customer.external_id.type)))
)
_AT_ADDRESSES = select(Customer.id).where(
    Customer.email_key == any_(bindparam("addresses", type_=ARRAY(Customer.email_key.type)))
)
_ROW_LOCKS = (
    select(Customer.id)
    .where(Customer.id == any_(bindparam("ids", type_=ARRAY(Customer.id.type))))
    .order_by(Customer.id)
    .with_for_update()
)
# How long the transaction's next lock waits (``:wait``, such as 60000ms), until it ends.
_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :wait, true)")


def lock_customers(session: Session, chunks: Iterable[tuple[Iterable[str], Iterable[str]]]) -> None:
    """Hold the customers of a file's ``chunks`` (each its ids and its emails) and those at their addresses until the
    session commits, as the module says; ImportRunning when another customers import held PostgreSQL's lock past the
    wait allowed."""
    if session.get_bind().dialect.name != "postgresql":  # SQLite's lock: see data_version_unlocked
        return
    _wait_for_other_imports(session)
    stored = [_held(session, external_ids, emails) for external_ids, emails in chunks]
    ids = np.unique(np.concatenate(stored)) if stored else np.empty(0, dtype=np.int64)  # sorted: 8 bytes a customer
    for start in range(0, len(ids), batches.IN_BATCH):
        session.execute(_ROW_LOCKS, {"ids": ids[start : start + batches.IN_BATCH].tolist()})


def _held(session: Session, external_ids: Iterable[str], emails: Iterable[str]) -> np.ndarray:
    """The row ids of the stored customers of ``external_ids`` and of every customer at their addresses or at
    ``emails``' (a chunk's)."""
    ids, keys = [], {address_key(email) for email in emails}
    for batch in batches.batches(dict.fromkeys(external_ids), size=batches.IN_BATCH):
        for row_id, key in session.execute(_STORED_IDS, {"keys": batch}):
            ids.append(row_id)
            keys.add(key)
    keys.discard("")  # no address: no household
    for batch in batches.batches(sorted(keys), size=batches.IN_BATCH):
        ids.extend(session.scalars(_AT_ADDRESSES, {"addresses": batch}))
    return np.fromiter(ids, dtype=np.int64, count=len(ids))


def _wait_for_other_imports(session: Session) -> None:
    """Take the customers imports' advisory lock, waiting for another import at most ``TAILOR_IMPORT_WAIT_SECONDS``
    (as a lock timeout for this statement alone: the row locks after it wait as before)."""
    seconds = ImportSettings().wait_seconds
    before = session.scalar(text("SELECT current_setting('lock_timeout')"))
    session.execute(_LOCK_TIMEOUT, {"wait": f"{max(1, round(seconds * 1000))}ms"})
    try:
        session.execute(text(f"SELECT pg_advisory_xact_lock({CUSTOMERS_IMPORT_LOCK})"))
    except OperationalError as error:
        if is_database_busy(error):
            raise ImportRunning(seconds) from None
        raise
    session.execute(_LOCK_TIMEOUT, {"wait": before})


def data_version_unlocked(session: Session) -> int | None:
    """Before a file's customers are read: on SQLite, while its write lock is not held yet (no write so far), the
    database's ``data_version``, which another connection's commit changes (``unchanged_once_locked``); else None."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    connection = session.connection()
    if connection.connection.dbapi_connection.in_transaction:  # it wrote: it holds the lock already
        return None
    return connection.exec_driver_sql("PRAGMA data_version").scalar()


def unchanged_once_locked(session: Session, version: int) -> bool:
    """Take SQLite's write lock, held until the commit; whether no other connection committed since the database
    was at ``version`` (``data_version_unlocked``): what was read is then what the lock would have let it read."""
    take_the_write_lock(session)
    return session.connection().exec_driver_sql("PRAGMA data_version").scalar() == version
