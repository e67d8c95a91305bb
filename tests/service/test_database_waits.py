"""PostgreSQL that is reachable but does not answer in time: a lock held by another session, a server whose processes
are stopped. /health answers 503 within its bound rather than waiting with the database, and a long wait that is
legitimate (a pipelined write behind another's lock, as an import's bulk updates) is not cut by the bound on an
unanswered connection (TCP_USER_TIMEOUT)."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from sqlalchemy import text

from service.db.session import make_engine
from tests.service.conftest import new_postgres_database

pytestmark = pytest.mark.postgres


def test_a_pipelined_write_waits_behind_a_lock_longer_than_the_connect_timeout(postgres_url):
    """psycopg pipelines an executemany (SQLAlchemy's bulk UPDATE by primary key, as an import's): behind a lock, the
    server reads no more of it, the client's data waits behind a closed TCP window, and with TCP_USER_TIMEOUT at the
    connect timeout Linux dropped the connection after that long ("could not receive data from server: Connection
    timed out"), the import failed, though the server answered and the lock was freed soon after."""
    made = new_postgres_database(postgres_url, "pipelined_wait")
    engine = make_engine(made.url.render_as_string(hide_password=False), connect_timeout_seconds=1)
    made.dispose()
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE rows_to_update (id integer PRIMARY KEY, value text)"))
        connection.execute(text("INSERT INTO rows_to_update SELECT n, '' FROM generate_series(1, 20000) AS n"))
    holder = engine.connect()
    holder.begin()
    holder.execute(text("SELECT id FROM rows_to_update WHERE id = 1 FOR UPDATE"))
    release = threading.Timer(3, holder.commit)  # three times the connect timeout
    release.start()
    rows = [{"id": n, "value": "x" * 2000} for n in range(1, 20001)]  # 40 MB: more than the sockets' buffers hold
    try:
        started = time.monotonic()
        with engine.begin() as connection:
            connection.execute(text("UPDATE rows_to_update SET value = :value WHERE id = :id"), rows)
        waited = time.monotonic() - started
    finally:
        release.join()
        holder.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM rows_to_update WHERE value <> ''")).scalar() == 20000
    assert waited >= 2.5, "the write did not wait for the lock: the test no longer shows the pipelined wait"
    engine.dispose()


def _unacknowledged_for_at_most(dbapi_connection) -> int:
    with socket.socket(fileno=os.dup(dbapi_connection.fileno())) as copy:
        return copy.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)


@pytest.mark.skipif(not hasattr(socket, "TCP_USER_TIMEOUT"), reason="the system has no TCP_USER_TIMEOUT")
def test_the_pools_ping_stays_bounded_by_the_connect_timeout(postgres_url):
    """A connection in the pool keeps the bound on what it sends (its ping to a host gone meanwhile fails after the
    connect timeout, not the kernel's 15 minutes of retransmissions); one in use has none."""
    engine = make_engine(postgres_url, connect_timeout_seconds=3)
    used = engine.raw_connection()
    dbapi_connection = used.dbapi_connection
    assert _unacknowledged_for_at_most(dbapi_connection) == 0
    used.close()  # back to the pool
    assert _unacknowledged_for_at_most(dbapi_connection) == 3000
    with engine.connect() as connection:  # the same connection, pinged on its way out
        assert connection.connection.dbapi_connection is dbapi_connection
        assert _unacknowledged_for_at_most(dbapi_connection) == 0
    engine.dispose()
