"""A customers import waits for another on the same PostgreSQL database (they run one at a time) at most
TAILOR_IMPORT_WAIT_SECONDS: it waited without end, a job or a request hanging behind a big file for as long as that
took, and then is refused saying another customers import is running, nothing of it written: the API's busy answer
(503 with Retry-After), the command line's one error line."""

from __future__ import annotations

import os
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.app import create_app
from service.auth import create_key
from service.db.models import Customer
from service.db.session import session_scope
from service.errors import ImportRunning
from service.importing import import_file
from tests.forked_cli import run_tailor
from tests.service.conftest import new_migrated_postgres_database, wait_for_job

pytestmark = pytest.mark.postgres
RUNNING = "Another customers import is running on this database; this one waited 1 s"


@pytest.fixture
def importing(postgres_url, tailor_home, tmp_path, monkeypatch):
    """A migrated PostgreSQL database where one customers import has written its file and not committed yet (its
    session), with a second file to import beside it; waits are 1 s, in a TAILOR_HOME of its own (staged uploads)."""
    monkeypatch.setenv("TAILOR_IMPORT_WAIT_SECONDS", "1")
    engine = new_migrated_postgres_database(postgres_url, "import_waits")
    (tmp_path / "first.csv").write_text("customer_id,email,first_name,marketing_consent\nc1,c1@example.com,A,true\n")
    second = tmp_path / "second.csv"
    second.write_text("customer_id,email,first_name,marketing_consent\nc2,c2@example.com,B,true\n")
    with Session(engine) as first:
        import_file(first, "customers", tmp_path / "first.csv")
        yield engine, second
        first.rollback()
    with session_scope(engine) as session:
        assert session.scalar(select(func.count(Customer.id))) == 0  # nothing of the second file either
    engine.dispose()


def test_a_second_import_waits_its_time_then_is_refused_writing_nothing(importing):
    engine, second = importing
    outcome: list[object] = []

    def import_beside() -> None:
        try:
            with session_scope(engine) as session:
                outcome.append(import_file(session, "customers", second))
        except Exception as error:  # noqa: BLE001 (told by the assertion below)
            outcome.append(error)

    other = threading.Thread(target=import_beside)
    other.start()
    other.join(timeout=20)  # it waited without end, for as long as the first import took
    assert len(outcome) == 1 and isinstance(outcome[0], ImportRunning), outcome
    assert str(outcome[0]).startswith(RUNNING)


def test_the_api_answers_it_as_busy(importing):
    engine, second = importing
    with session_scope(engine) as session:
        key = create_key(session, "waits")
    with TestClient(create_app(engine), headers={"X-API-Key": key}) as client, second.open("rb") as handle:
        answer = client.post("/imports/customers", files={"file": ("second.csv", handle, "text/csv")})
    assert answer.status_code == 503, answer.text
    assert (answer.headers["retry-after"], answer.json()["error"]) == ("60", "ImportRunning")
    assert answer.json()["message"].startswith(RUNNING)


def test_an_import_job_fails_saying_so(importing):
    engine, second = importing
    with session_scope(engine) as session:
        key = create_key(session, "waits")
    with TestClient(create_app(engine), headers={"X-API-Key": key}) as client, second.open("rb") as handle:
        started = client.post("/imports/customers?background=true", files={"file": ("second.csv", handle, "text/csv")})
        job = wait_for_job(client, started.json()["job_id"], timeout=60)
    assert job["status"] == "failed" and job["error"].startswith(RUNNING)
    assert job["result"]["error"] == "ImportRunning"


def test_the_command_line_says_so_in_one_line(importing, tmp_path):
    engine, second = importing
    url = engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "TAILOR_HOME": str(tmp_path), "DATABASE_URL": url}
    done = run_tailor(["import", "customers", str(second)], env=env, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {RUNNING}")
    assert "Traceback" not in done.stderr
