"""Recovery's hour-long checks judge by the database's clock, as the beats are (service.db.clock): a draft claimed
for sending, and a job of a process that does not beat (an earlier release's), are neither taken back while they
are fresh nor left once stale, by a host whose clock is hours off the database's."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

from sqlalchemy import update

from service.db.clock import now_in_database
from service.db.models import Draft, Job
from service.db.session import session_scope
from service.jobs import ThreadJobRunner
from service.jobs.recovery import STALE_AFTER, fail_interrupted_jobs, flag_interrupted_sends
from tests import forked_cli
from tests.service.conftest import set_host_clock_off
from tests.service.test_send_claims import due_campaign

HOURS_OFF = timedelta(hours=2)
ELSEWHERE = "web-5:4242:0123456789ab"  # a process on another host, that runs no job

CLAIM_ON_A_HOST_BEHIND = """
import socket, sys
from datetime import timedelta
import service.clock
python_clock = service.clock.utcnow
service.clock.utcnow = lambda: python_clock() - timedelta(hours=2)  # before the modules read it
socket.gethostname = lambda: "web-5"
from service.db.session import make_engine
from service.pipeline.send_outcomes import claim as _claim

print(_claim(make_engine(sys.argv[1]), int(sys.argv[2])) is not None)
"""


def _flagged(engine) -> list[int]:
    with session_scope(engine) as session:
        return flag_interrupted_sends(session)


def _an_hour_ago_and_more(engine):
    with session_scope(engine) as session:
        return now_in_database(session) - STALE_AFTER - timedelta(minutes=1)


def test_a_claimed_send_is_taken_back_by_the_database_clock_whatever_the_hosts_clocks(any_engine, monkeypatch):
    """A claim was timed by the claiming host's clock and judged by the reader's: a draft being mailed by a host two
    hours behind, or judged by one two hours ahead, went back to review, flagged as perhaps sent, while its email was
    with the mail server; and one left by a host that died stayed "sending" for hours more where the reader was
    behind."""
    engine = any_engine
    just_claimed, left_long_ago = due_campaign(engine, 2)
    url = engine.url.render_as_string(hide_password=False)
    claim = [sys.executable, "-c", CLAIM_ON_A_HOST_BEHIND, url, str(just_claimed)]
    assert forked_cli.run(claim, capture_output=True, text=True, check=True).stdout.strip() == "True"
    assert _flagged(engine) == []
    set_host_clock_off(monkeypatch, HOURS_OFF)  # the reader ahead
    assert _flagged(engine) == []

    with session_scope(engine) as session:
        left = update(Draft).where(Draft.id == left_long_ago)
        session.execute(left.values(status="sending", claimed_by=ELSEWHERE, updated_at=_an_hour_ago_and_more(engine)))
    set_host_clock_off(monkeypatch, -HOURS_OFF)  # the reader behind
    assert _flagged(engine) == [left_long_ago]
    with session_scope(engine) as session:
        assert session.get(Draft, just_claimed).status == "sending"


def test_a_job_of_a_process_that_does_not_beat_is_judged_by_the_database_clock(any_engine, monkeypatch):
    """An earlier release's job on another host was failed as interrupted, while its row moved, by a process whose
    clock was two hours ahead; one whose row had not moved for an hour was left running by one two hours behind."""
    engine = any_engine
    with session_scope(engine) as session:
        session.add(Job(id="moving", kind="train", status="running", worker=ELSEWHERE))
        session.add(Job(id="still", kind="train", status="running", worker=ELSEWHERE))
    with session_scope(engine) as session:
        session.execute(update(Job).where(Job.id == "still").values(updated_at=_an_hour_ago_and_more(engine)))
    set_host_clock_off(monkeypatch, HOURS_OFF)
    assert fail_interrupted_jobs(engine, live=set()) == ["still"]
    with session_scope(engine) as session:  # as it was
        still = update(Job).where(Job.id == "still")
        session.execute(still.values(status="running", updated_at=_an_hour_ago_and_more(engine)))
    set_host_clock_off(monkeypatch, -HOURS_OFF)
    assert fail_interrupted_jobs(engine, live=set()) == ["still"]
    with session_scope(engine) as session:
        assert session.get(Job, "moving").status == "running"


def test_a_schedule_lets_its_tick_pass_for_a_live_job_of_a_process_that_does_not_beat(engine, monkeypatch):
    """A server whose clock was two hours ahead took another server's due-check, its row moving, for one whose host
    died, and ran its own beside it."""
    from service.jobs.schedule import PeriodicJob

    with session_scope(engine) as session:
        session.add(Job(id="other-server", kind="send_due", status="running", worker=ELSEWHERE))
    set_host_clock_off(monkeypatch, HOURS_OFF)
    runner = ThreadJobRunner(engine)
    schedule = PeriodicJob(runner, engine, "send_due", lambda progress: {}, 0.05, {})
    schedule.start()
    try:
        time.sleep(0.5)
        assert schedule.last_job_id is None
    finally:
        schedule.stop()
        runner.shutdown()
