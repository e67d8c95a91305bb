"""PostgreSQL that is reachable but does not answer in time: a lock held by another session, a server whose processes
are stopped. /health answers 503 within its bound rather than waiting with the database, and a long wait that is
legitimate (a pipelined write behind another's lock, as an import's bulk updates) is not cut by the bound on an
unanswered connection (TCP_USER_TIMEOUT)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from service.app import create_app
from service.db.session import make_engine
from tests.service.conftest import new_migrated_postgres_database, new_postgres_database

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


@pytest.fixture
def served(postgres_url, tailor_home, monkeypatch):
    """The app on a migrated PostgreSQL database, /health waiting 1 s for it; its client and engine. Its pool holds
    a connection /health has used."""
    monkeypatch.setenv("TAILOR_DB_HEALTH_TIMEOUT_SECONDS", "1")
    engine = new_migrated_postgres_database(postgres_url, "health_waits")
    with TestClient(create_app(engine)) as client:
        assert client.get("/health").status_code == 200
        yield client, engine
    engine.dispose()


def _health_within(client, seconds: float):
    """/health's answer and how long it took; None for the answer when there was none within ``seconds`` (the
    request is left to end on its own)."""
    answers: list = []
    started = time.monotonic()
    asking = threading.Thread(target=lambda: answers.append(client.get("/health")), daemon=True)
    asking.start()
    asking.join(timeout=seconds)
    return (answers[0] if answers else None), time.monotonic() - started


def _said_unanswered(answer) -> None:
    assert answer is not None, "/health waited for the database past its bound"
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["error"] == "DatabaseUnavailable"
    assert "did not answer within 1 s (TAILOR_DB_HEALTH_TIMEOUT_SECONDS)" in body["message"]


def test_health_is_503_within_its_bound_while_another_session_locks_the_revision(served):
    """A session holding a lock on alembic_version (an upgrade from the command line, a hand-made LOCK TABLE) kept
    /health waiting as long as it held it; the server cancels /health's read after the bound."""
    client, engine = served
    with engine.connect() as holder:
        holder.execute(text("LOCK TABLE alembic_version IN ACCESS EXCLUSIVE MODE"))
        answer, took = _health_within(client, 10)
        _said_unanswered(answer)
        assert took < 4
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        with engine.connect() as looking:  # the read is cancelled by the server: nothing waits on the lock after it
            deadline = time.monotonic() + 3
            while looking.execute(text(waiting)).scalar() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert looking.execute(text(waiting)).scalar() == 0, "/health's read still waits for the lock"
        holder.rollback()
    assert client.get("/health").status_code == 200


def test_health_is_503_within_its_bound_while_the_database_server_is_stopped(served):
    """A PostgreSQL whose processes are stopped (SIGSTOP; a machine frozen or swapping) still has its kernel
    acknowledge every packet, so no network timeout ends the wait: /health waited without end. It now answers
    503 after its bound, again and again, with one read of the database under way, and 200 once the server goes on."""
    client, engine = served
    looking = make_engine(engine.url.render_as_string(hide_password=False))
    with looking.connect() as connection:
        others = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        backends = connection.execute(text(others)).scalars().all()
    looking.dispose()
    assert backends, "the app's pool holds no connection to stop"
    for pid in backends:
        os.kill(pid, signal.SIGSTOP)
    try:
        for _ in range(3):  # a monitor asking again
            answer, took = _health_within(client, 10)
            _said_unanswered(answer)
            assert took < 4
        probes = [thread for thread in threading.enumerate() if thread.name == "tailor-health-probe"]
        assert len(probes) == 1, "each /health left a read of its own waiting on the stopped database"
    finally:
        for pid in backends:
            os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while (answer := client.get("/health")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # the read under way ends (cancelled by its statement timeout), the next one answers
    assert answer.status_code == 200, answer.text


def test_every_connection_taken_is_503_saying_so_for_health_and_for_requests(tailor_home, monkeypatch):
    """With every connection of the pool held (requests and jobs waiting on a database that does not answer), /health
    and every request were a 500 InternalError naming SQLAlchemy's TimeoutError once the pool's wait ran out."""
    from sqlalchemy import create_engine

    from service.auth import create_key
    from service.db.migrate import upgrade
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_DB_HEALTH_TIMEOUT_SECONDS", "5")  # past the pool's own wait
    engine = create_engine(f"sqlite:///{tailor_home / 'pool.db'}", pool_size=1, max_overflow=0, pool_timeout=0.5)
    upgrade(engine)
    with session_scope(engine) as session:
        key = create_key(session, "pool")
    with TestClient(create_app(engine), headers={"X-API-Key": key}, raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 200
        with engine.connect():  # the pool's one connection
            for path in ("/health", "/customers"):
                answer = client.get(path)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"] == "DatabaseUnavailable"
                assert answer.json()["message"].startswith("No connection to the database came free"), answer.text
        assert client.get("/health").status_code == 200
    engine.dispose()


def test_health_answers_while_requests_waiting_on_a_stopped_server_hold_every_thread(served):
    """The server runs routes, and sync dependencies, on 40 threads; requests waiting on a database whose server is
    stopped (SIGSTOP, the postmaster too: new connections wait their connect timeout) held all of them, and /health,
    whose dependencies needed one, waited behind them, past any bound of its own."""
    from service.auth import create_key
    from service.db.session import session_scope

    client, engine = served
    with session_scope(engine) as session:
        key = create_key(session, "waiting")
    with engine.connect() as connection:
        data = connection.execute(text("SHOW data_directory")).scalar()
    postmaster = int(Path(data, "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True)
    stopped = [postmaster, *map(int, children.stdout.split())]
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    answers: list = []
    asking = [
        threading.Thread(target=lambda: answers.append(client.get("/customers", headers={"X-API-Key": key})))
        for _ in range(45)
    ]
    try:
        for thread in asking:
            thread.start()
        time.sleep(1)  # they take the threads
        answer, took = _health_within(client, 10)
        _said_unanswered(answer)
        assert took < 4
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        for thread in asking:
            thread.join(timeout=60)
    assert len(answers) == 45 and {answer.status_code for answer in answers} <= {200, 503}
