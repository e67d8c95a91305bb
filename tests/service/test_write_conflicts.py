"""On PostgreSQL a deadlock (40P01) or a serialization failure (40001) is a conflict of two transactions at one
moment, the database rolling one of them back: sending the request again is all it takes. The API answered it 503
"The database cannot be used", logged as the database down, and `tailor` ended in a traceback; each is now the busy
answer that says to try again, logged as such. The conflict is raised inside the real request by a trigger on the
table it writes, as PostgreSQL raises it for a transaction it chose to roll back."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from service.app import create_app
from service.auth import create_key
from service.db.models import ApiKey, Campaign
from service.db.session import session_scope
from tests.service.conftest import new_migrated_postgres_database
from tests.service.test_cli import run

pytestmark = pytest.mark.postgres

CONFLICTS = {"40P01": "deadlock detected", "40001": "could not serialize access due to concurrent update"}


@pytest.fixture
def postgres_engine(postgres_url, tailor_home):
    """A migrated database of its own on the throwaway PostgreSQL server."""
    engine = new_migrated_postgres_database(postgres_url, "write_conflicts")
    yield engine
    engine.dispose()


def _conflict_on(engine, table: str, sqlstate: str) -> None:
    """Have each insert into ``table`` fail as PostgreSQL fails the transaction it rolls back for ``sqlstate``."""
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE OR REPLACE FUNCTION conflicting() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{CONFLICTS[sqlstate]}' USING ERRCODE = '{sqlstate}'; END $$"
        ))  # fmt: skip
        connection.execute(text(f"CREATE TRIGGER conflicting BEFORE INSERT ON {table} EXECUTE FUNCTION conflicting()"))


def _conflict_gone(engine, table: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"DROP TRIGGER conflicting ON {table}"))


@pytest.mark.parametrize("sqlstate", sorted(CONFLICTS))
def test_a_write_conflict_is_answered_busy_to_try_again(postgres_engine, caplog, sqlstate):
    with session_scope(postgres_engine) as session:
        key = create_key(session, "conflicts")
    body = {"name": "Crossed", "brand": "hearth", "campaign_type": "vip"}
    _conflict_on(postgres_engine, "campaigns", sqlstate)
    with TestClient(create_app(postgres_engine), headers={"X-API-Key": key}) as client:
        with caplog.at_level(logging.INFO, logger="tailor.api"):
            crossed = client.post("/campaigns", json=body)
        assert crossed.status_code == 503, crossed.text
        assert crossed.headers["retry-after"] == "30" and crossed.json()["error"] == "DatabaseBusy"
        message = crossed.json()["message"]
        assert "at the same moment" in message and "nothing of this request was written" in message, message
        assert message.endswith("Try again in 30 s.") and "cannot be used" not in message
        logged = [(record.getMessage(), record.levelno) for record in caplog.records if record.name == "tailor.api"]
        assert ("database write conflict", logging.WARNING) in logged and "database unavailable" not in str(logged)
        (line,) = [record for record in caplog.records if record.getMessage() == "database write conflict"]
        assert line.error == {"40P01": "DeadlockDetected", "40001": "SerializationFailure"}[sqlstate]
        _conflict_gone(postgres_engine, "campaigns")
        assert client.post("/campaigns", json=body).status_code == 201  # the same request, sent again
    with session_scope(postgres_engine) as session:
        assert session.scalar(select(func.count()).select_from(Campaign)) == 1


@pytest.mark.parametrize("sqlstate", sorted(CONFLICTS))
def test_the_command_line_tells_a_write_conflict_as_one_line_to_try_again(postgres_engine, tmp_path, sqlstate):
    _conflict_on(postgres_engine, "api_keys", sqlstate)
    url = postgres_engine.url.render_as_string(hide_password=False)
    result = run(["keys", "create", "crossed"], tmp_path, DATABASE_URL=url)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: Another request, job or command wrote some of the same records"), last
    assert last.endswith("Try again in 30 s."), last
    with session_scope(postgres_engine) as session:
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 0
