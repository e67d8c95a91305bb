"""Two processes recovering at once (two API replicas starting, a server and a command): on PostgreSQL both failed,
and announced, the same interrupted job, and a campaign another process had just started generating was failed
under its running job. Each test makes the two meet where they raced, on a real database."""

from __future__ import annotations

import contextlib
import threading

import pytest
from sqlalchemy import event, select

from service.campaigns import ensure_brand
from service.clock import utcnow
from service.db.models import Campaign, Customer, Draft, Job, Send
from service.db.session import session_scope
from service.jobs.recovery import fail_interrupted_jobs, flag_interrupted_sends, worker_name
from service.pipeline.send_outcomes import record_delivered
from tests.service.conftest import new_migrated_postgres_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
GONE = f"{worker_name().split(':')[0]}:999999999:x"  # this host, a pid no process has


@pytest.fixture
def database(request, engine):
    """The test's SQLite database, or a new one on a throwaway PostgreSQL server (``backend``)."""
    if request.param == "sqlite":
        yield engine
        return

    postgres = new_migrated_postgres_database(request.getfixturevalue("postgres_url"), "recovery_races")
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


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
def test_a_draft_its_sender_records_sent_while_it_is_judged_interrupted_stays_sent(database):
    """A due-check (or a send, or a generation) read a draft "sending" by a sender it judged stopped (its beats late:
    the database away a while), and the sender, alive, recorded the email sent before the draft was put back: the
    draft was flagged for review as perhaps sent over its "sent", the mail server's "delivered" beside it."""
    with session_scope(database) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="win_back")
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        draft = Draft(campaign=campaign, customer=customer, status="sending", claimed_by=GONE)
        session.add(draft)
        session.flush()
        send = Send(customer=customer, campaign_id=campaign.id, draft_id=draft.id, subject="Hi",
                    campaign_type="win_back", sent_at=utcnow(), to_email=customer.email)  # fmt: skip
        session.add(send)
        session.flush()
        ids = (campaign.id, draft.id, send.id)
    recorded: list[bool] = []

    def the_sender_records_it_sent() -> None:  # after the draft was read "sending", before it is put back
        if not recorded:
            recorded.append(False)  # its own UPDATE of the draft comes here too
            recorded[0] = record_delivered(database, *ids, None, utcnow()) is not None

    _before_statement(database, "UPDATE DRAFTS", the_sender_records_it_sent)
    with session_scope(database) as session:  # as the due-check looks first
        flagged = flag_interrupted_sends(session)
    assert recorded == [True]
    assert flagged == []
    with session_scope(database) as session:
        draft = session.get(Draft, ids[1])
        assert (draft.status, draft.flagged, draft.flag_reasons) == ("sent", False, [])


@pytest.mark.parametrize("database", BACKENDS, indirect=True)
def test_a_job_submitted_while_the_sweep_starts_is_not_taken_for_lost(database, monkeypatch):
    """The server's sweep took the jobs this process holds before it read the unfinished ones: a job submitted in
    between (a request on another thread, the sweep's thread held back by a busy CPU) was read unfinished, was not
    among those held, and was failed as interrupted before it started."""
    from service.jobs import runner

    submitted: list[str] = []
    look = runner.look_for_interrupted_jobs

    def submitted_meanwhile(engine, **how):
        submitted.append(runner._create_job(engine, "generate", work=lambda **_: {}, params={}))
        return look(engine, **how)

    monkeypatch.setattr(runner, "look_for_interrupted_jobs", submitted_meanwhile)
    try:
        assert runner.sweep_jobs(database) == []
        with session_scope(database) as session:
            assert session.get(Job, submitted[0]).status == "queued"
    finally:
        for job_id in submitted:  # never run: not this process's to hold for the next tests
            runner._queued.pop(job_id, None)
            runner.job_beats(database).release(job_id)
