"""On PostgreSQL, the sessions a request opens beside its route's own (the `Idempotency-Key` middleware's, the drafts
export's stream, POST /events' reading of a refused batch) waited for another transaction's lock without end, each
holding one of the server's request threads, where every other request waits at most the busy timeout and is
answered 503 DatabaseBusy. They now wait as long as the others."""

from __future__ import annotations

import hashlib
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import create_key, verify_key
from service.db.session import session_scope
from service.errors import is_database_busy
from tests.service.conftest import new_migrated_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def shop(postgres_url, tailor_home, monkeypatch):
    """A database with an API key (its key and id), an API client, and a session of another client's to hold
    locks with; writes wait 1 s for a lock."""
    monkeypatch.setattr("service.db.session.BUSY_TIMEOUT_MS", 1000)
    engine = new_migrated_postgres_database(postgres_url, "request_lock_waits")
    with session_scope(engine) as session:
        key = create_key(session, "waits")
        key_id = verify_key(session, key).id
    with Session(engine) as holder, TestClient(create_app(engine), headers={"X-API-Key": key}) as client:
        try:
            yield engine, holder, client, key_id
        finally:
            holder.rollback()
    engine.dispose()


def _within(seconds: float, request) -> list:
    """``request()`` on a thread of its own: its answer or error, if it came within ``seconds``, else nothing."""
    answers: list = []

    def run() -> None:
        try:
            answers.append(request())
        except Exception as error:  # noqa: BLE001 (told by the caller's assertion)
            answers.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    return answers


def test_a_keyed_request_whose_key_another_holds_is_answered_busy(shop):
    """The same key claimed by another transaction not committed yet (a retry sent as the first is recorded):
    the middleware's claim waited for it without end."""
    _engine, holder, client, key_id = shop
    key_hash = hashlib.sha256(f"key {key_id}\0retry-1".encode()).hexdigest()
    holder.execute(
        text("INSERT INTO idempotency_keys (key_hash, request_hash, created_at) VALUES (:k, :r, now())"),
        {"k": key_hash, "r": "0" * 64},
    )
    answers = _within(8, lambda: client.post("/events", json={"events": []}, headers={"Idempotency-Key": "retry-1"}))

    assert len(answers) == 1, "the keyed request still waits for the other transaction"
    assert answers[0].status_code == 503, answers[0]
    assert answers[0].json()["error"] == "DatabaseBusy"


def test_a_refused_event_batch_read_beside_a_held_table_is_answered_busy(shop):
    """A batch refused for one bad event had its other events read (`_refusals`) in a session that waited for a
    table another held (a migration's, a TRUNCATE's lock) without end."""
    _engine, holder, client, _key_id = shop
    holder.execute(text("LOCK TABLE sends IN ACCESS EXCLUSIVE MODE"))
    batch = {"events": [{"send_id": 1, "kind": "opened?"}, {"send_id": 2, "kind": "open"}]}
    answers = _within(8, lambda: client.post("/events", json=batch))

    assert len(answers) == 1, "the refusals' read still waits for the table"
    assert answers[0].status_code == 503, answers[0]
    assert answers[0].json()["error"] == "DatabaseBusy"


def test_a_drafts_export_stream_beside_a_held_table_stops_as_busy(shop):
    """The export's lines are read once its answer has begun (200, streaming), in a session of their own that
    waited without end; it now stops as busy (the server then ends the connection before the body's end: checked
    here on the stream's reader, not over HTTP)."""
    from service.pipeline.exporting import jsonl_chunks

    engine, holder, _client, _key_id = shop
    holder.execute(text("LOCK TABLE drafts IN ACCESS EXCLUSIVE MODE"))
    answers = _within(8, lambda: list(jsonl_chunks(engine, [1, 2])))

    assert len(answers) == 1, "the export's read still waits for the table"
    assert isinstance(answers[0], OperationalError) and is_database_busy(answers[0]), answers[0]
