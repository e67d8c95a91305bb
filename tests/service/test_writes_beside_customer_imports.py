"""On PostgreSQL a customers import holds the rows of its file's customers until it commits (12 to 16 s at 100,000
customers): an API write to one of them (an erasure) waited for the whole import, without end, holding one of the
server's request threads. It now waits at most the busy timeout, as an SQLite write does, and is answered 503 with
Retry-After, nothing of it written. An unsubscribe, by its link or an email service's event, still waits its turn
and is recorded once the import commits: a busy answer would lose it; but not for ever (a lock held for good kept
it, and the server's request threads, waiting without end): past TAILOR_DB_RECORDING_WAIT_SECONDS the link keeps it
on disk and the event is answered busy, to be sent again."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import create_key
from service.clock import utcnow
from service.db.models import Customer, Send
from service.db.session import session_scope
from service.importing import import_file
from service.signed_links import UnsubscribeLinks
from service.unsubscribe_spool import kept
from tests.service.conftest import new_migrated_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def held(postgres_url, tailor_home, tmp_path, monkeypatch):
    """A customer `c1` with a send, whom a customers import has renamed and holds, not committed yet (its session);
    an API client; writes wait 1 s for a lock, unsubscribes 6 s."""
    monkeypatch.setattr("service.db.session.BUSY_TIMEOUT_MS", 1000)
    monkeypatch.setenv("TAILOR_DB_RECORDING_WAIT_SECONDS", "6")
    engine = new_migrated_postgres_database(postgres_url, "writes_beside_imports")
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", first_name="Ann", marketing_consent=True)
        send = Send(customer=customer, subject="News", campaign_type="cross_sell", sent_at=utcnow() - timedelta(days=1))
        session.add(send)
        session.flush()
        send_id, key = send.id, create_key(session, "beside")
    path = tmp_path / "customers.csv"
    path.write_text("customer_id,email,first_name,marketing_consent\nc1,c1@example.com,Anna,true\n")
    with Session(engine) as importing, TestClient(create_app(engine), headers={"X-API-Key": key}) as client:
        import_file(importing, "customers", path)
        try:
            yield engine, importing, client, send_id
        finally:
            importing.rollback()  # a no-op once the test committed it
    engine.dispose()


def _beside(request, answers: list) -> threading.Thread:
    """``request()`` on a thread of its own, its answer (or error) going to ``answers``."""

    def run() -> None:
        try:
            answers.append(request())
        except Exception as error:  # noqa: BLE001 (told by the caller's assertion)
            answers.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _stored(engine) -> tuple[str, bool]:
    with session_scope(engine) as session:
        return tuple(session.execute(select(Customer.first_name, Customer.unsubscribed)).one())


def test_an_erasure_of_a_customer_the_import_holds_is_answered_busy_nothing_written(held):
    engine, importing, client, _send_id = held
    answers: list = []
    _beside(lambda: client.delete("/customers/c1"), answers).join(timeout=10)  # it waited for the import's commit
    assert len(answers) == 1, "the erasure still waits for the import"
    answer = answers[0]
    assert answer.status_code == 503, answer.text
    assert (answer.headers["retry-after"], answer.json()["error"]) == ("30", "DatabaseBusy")
    importing.commit()
    assert _stored(engine) == ("Anna", False)


UNSUBSCRIBES = {
    "link": lambda client, send_id: client.post(f"/unsubscribe/{UnsubscribeLinks.configured().token(send_id)}"),
    "event": lambda client, send_id: client.post(
        "/events", json={"events": [{"send_id": send_id, "kind": "unsubscribe"}]}
    ),
}


@pytest.mark.parametrize("way", UNSUBSCRIBES)
def test_an_unsubscribe_of_a_customer_the_import_holds_waits_and_is_recorded(held, way):
    engine, importing, client, send_id = held
    answers: list = []
    unsubscribing = _beside(lambda: UNSUBSCRIBES[way](client, send_id), answers)
    unsubscribing.join(timeout=3)  # past the 1 s other writes wait
    assert answers == []  # still waiting for the import's commit
    importing.commit()
    unsubscribing.join(timeout=30)
    assert [answer.status_code for answer in answers] == [200], answers
    assert _stored(engine) == ("Anna", True)


@pytest.mark.parametrize("way", UNSUBSCRIBES)
def test_an_unsubscribe_held_past_its_wait_is_kept_on_disk_or_answered_busy(held, way):
    engine, importing, client, send_id = held
    answers: list = []
    _beside(lambda: UNSUBSCRIBES[way](client, send_id), answers).join(timeout=20)  # it waited for the commit
    assert len(answers) == 1, "the unsubscribe still waits for the import"
    answer = answers[0]
    if way == "event":
        assert answer.status_code == 503, answer.text
        assert (answer.headers["retry-after"], answer.json()["error"]) == ("30", "DatabaseBusy")
    else:
        assert answer.status_code == 200, answer.text
        assert [one.send_id for one in kept()] == [send_id]  # written once the database takes it
    importing.commit()
    if way == "event":
        assert _stored(engine) == ("Anna", False)  # nothing of the refused event written
