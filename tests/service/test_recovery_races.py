"""Two processes recovering at once (two API replicas starting, a server and a command): on PostgreSQL both failed,
and announced, the same interrupted job, and a campaign another process had just started generating was failed
under its running job. Each test makes the two meet where they raced, on a real database."""

from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import event, select

from service.campaigns import ensure_brand
from service.db.models import Campaign, Job
from service.db.session import session_scope
from service.jobs.recovery import fail_interrupted_jobs, worker_name
from tests.service.conftest import new_postgres_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
GONE = f"{worker_name().split(':')[0]}:999999999:x"  # this host, a pid no process has


@pytest.fixture
def database(request, engine):
    """The test's SQLite database, or a new one on a throwaway PostgreSQL server (``backend``)."""
    if request.param == "sqlite":
        yield engine
        return
    from service.db.migrate import upgrade

    postgres = new_postgres_database(request.getfixturevalue("postgres_url"), "recovery_races")
    upgrade(postgres)
    yield postgres
    postgres.dispose()


def _before_statement(engine, starts: str, call) -> None:
    """Run ``call()`` before each statement of ``engine`` that starts with ``starts`` (SQL, upper case)."""

    @event.listens_for(engine, "before_cursor_execute")
    def before(_connection, _cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith(starts):
            call()


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
def test_two_processes_recovering_at_once_fail_and_announce_each_job_once(database):
    with session_scope(database) as session:
        session.add_all(Job(id=f"killed-{n}", kind="send", status="running", worker=GONE) for n in range(3))
    # Both have read the unfinished jobs before either writes: where they raced.
    both_read = threading.Barrier(2)
    met: set[int] = set()

    def meet() -> None:
        if threading.get_ident() not in met:
            met.add(threading.get_ident())
            with contextlib.suppress(threading.BrokenBarrierError):  # the other wrote nothing: nothing to race for
                both_read.wait(timeout=3)

    _before_statement(database, "UPDATE JOBS", meet)
    failed: dict[str, list[str]] = {}

    def recover(name: str) -> None:
        failed[name] = fail_interrupted_jobs(database)

    threads = [threading.Thread(target=recover, args=(name,)) for name in ("replica-a", "replica-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert set(failed) == {"replica-a", "replica-b"}, "a recovery raised (see the log)"
    announced = failed["replica-a"] + failed["replica-b"]
    assert sorted(announced) == ["killed-0", "killed-1", "killed-2"]  # each once, by one of the two
    with session_scope(database) as session:
        assert set(session.scalars(select(Job.status))) == {"failed"}


@pytest.mark.parametrize("database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_campaign_another_process_starts_generating_during_recovery_keeps_generating(database):
    """On PostgreSQL, where others write while recovery runs (on SQLite, recovery is the one writer meanwhile)."""
    with session_scope(database) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="win_back")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    started: list[bool] = []

    def another_process_starts_generating() -> None:  # after recovery read the jobs: no generate job was running
        if started:
            return
        started.append(True)
        with session_scope(database) as session:
            session.get(Campaign, campaign_id).status = "generating"
            session.add(Job(id="generating", kind="generate", status="running", worker=worker_name(),
                            campaign_id=campaign_id))  # fmt: skip

    _before_statement(database, "UPDATE CAMPAIGNS", another_process_starts_generating)
    _before_statement(database, "SELECT CAMPAIGNS", another_process_starts_generating)
    assert fail_interrupted_jobs(database) == []
    assert started
    with session_scope(database) as session:
        assert session.get(Campaign, campaign_id).status == "generating"
        assert session.get(Job, "generating").status == "running"
