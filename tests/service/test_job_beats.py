"""Every job beats while a process holds it, whatever its kind, and recovery judges a job by its beat alone: a command
in a second container with the server's hostname and pid (each its own PID 1) failed the server's running job, and
a job of a host that died was failed only an hour later, its campaign held "generating" meanwhile."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from sqlalchemy import event

from service.db.models import Job
from service.db.session import session_scope
from service.jobs import ThreadJobRunner
from service.jobs.recovery import interrupted
from service.jobs.runner import sweep_jobs
from tests.forked_cli import popen

BEAT = 0.2  # seconds between two beats in these tests


def _job(engine, job_id: str) -> Job:
    with session_scope(engine) as session:
        return session.get(Job, job_id)


def _wait_until(engine, job_id: str, status: str, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while (job := _job(engine, job_id)) is None or job.status != status:
        assert time.monotonic() < deadline, f"job {job_id} not {status}: {job and job.status}"
        time.sleep(0.05)
    return job


def test_every_job_beats_while_its_process_holds_it_one_update_a_beat_for_all(engine, monkeypatch):
    from service.jobs import heartbeat

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    beats: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def count(_connection, _cursor, statement, *_args) -> None:
        if threading.current_thread().name == "job-beats":
            beats.append(statement)

    go = threading.Event()

    def silent(progress) -> dict:  # an import's read, a training's fit: no report for a long while
        progress(0, 1, "working")
        go.wait(30)
        return {}

    runner = ThreadJobRunner(engine)
    running = runner.submit("import", silent)
    queued = runner.submit("send", silent)  # waits behind it in the queue
    _wait_until(engine, running, "running")
    while (before := _job(engine, running)).message != "working":  # its one report written
        time.sleep(0.05)
    queued_before = _job(engine, queued)
    time.sleep(10 * BEAT)
    after, queued_after = _job(engine, running), _job(engine, queued)
    beaten = len(beats)
    go.set()
    runner.wait(running, timeout=30)
    runner.wait(queued, timeout=30)
    runner.shutdown()
    assert after.heartbeat_at > before.heartbeat_at and queued_after.heartbeat_at > queued_before.heartbeat_at
    assert after.updated_at == before.updated_at  # a beat is not a report: `updated_at` says when the job moved
    assert 5 <= beaten <= 12, beats  # one statement a beat for both jobs, not one a job
    time.sleep(3 * BEAT)
    assert len(beats) <= beaten + 1  # ended, they beat no more: the thread stops with the last job


def test_a_live_job_is_left_alone_by_a_process_with_the_same_host_and_pid(engine, monkeypatch):
    """Two containers that share a hostname each run their process as PID 1: `tailor generate` in the second,
    sweeping first, took the server's running job for one of a process before it and failed it."""
    from service.jobs import recovery

    go = threading.Event()

    def waiting(progress) -> dict:
        progress(0, 1, "waiting")
        go.wait(30)
        return {"waited": True}

    runner = ThreadJobRunner(engine)
    job_id = runner.submit("generate", waiting)
    _wait_until(engine, job_id, "running")
    with monkeypatch.context() as second_container:  # another process: this host's name, this pid, its own start
        second_container.setattr(recovery, "BOOT_ID", "0another0boot")
        assert sweep_jobs(engine) == []
    go.set()
    runner.wait(job_id, timeout=30)
    runner.shutdown()
    assert _job(engine, job_id).status == "succeeded"


# A process that submits a long training job and waits: argv 1 the database URL, 2 its seconds between beats.
LONG_JOB = """
from service.jobs import heartbeat
heartbeat.HEARTBEAT_SECONDS = float(sys.argv[2])
from service.db.session import make_engine
from service.jobs import ThreadJobRunner

def long_step(progress):
    progress(0, 1, "a step that takes long")
    time.sleep(600)
    return {}

print(ThreadJobRunner(make_engine(sys.argv[1])).submit("train", long_step), flush=True)
time.sleep(600)
"""
ON_ANOTHER_HOST = (
    """
import socket, sys, time
socket.gethostname = lambda: "web-2"
"""
    + LONG_JOB
)


def test_a_job_of_a_host_that_died_is_failed_after_a_few_missed_beats(engine, monkeypatch):
    from service.jobs import heartbeat

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    host = popen([sys.executable, "-c", ON_ANOTHER_HOST, str(engine.url), str(BEAT)], stdout=subprocess.PIPE, text=True)
    try:
        job_id = host.stdout.readline().strip()
        assert _wait_until(engine, job_id, "running").worker.startswith("web-2:")
        time.sleep(5 * BEAT)  # silent all along, but beating
        assert sweep_jobs(engine) == []
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
    time.sleep(5 * BEAT)  # more than MISSED_BEATS beats, far less than an hour
    assert sweep_jobs(engine) == [job_id]
    assert _job(engine, job_id).error == interrupted("train")


def test_a_schedule_lets_its_tick_pass_while_a_job_of_its_kind_beats_and_not_once_its_beats_are_missed(
    engine, monkeypatch
):
    """A second container's server (this host's name, this pid) took the first one's due-check for a dead
    process's and ran its own beside it, each tick."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.jobs import heartbeat, recovery
    from service.jobs.schedule import PeriodicJob

    # A beat of a second, not BEAT: the test's own thread beats for the first server, and on a loaded machine (two
    # cores under three workers) one of its 0.1 s sleeps and commits took past the 0.6 s of three missed beats, so
    # the schedule rightly took the job for dead (it failed so once in a fresh clone's make test, 2026-12-07).
    beat = 1.0
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", beat)
    first_server = f"{recovery.worker_name().rsplit(':', 1)[0]}:0another0boot"
    with session_scope(engine) as session:
        session.add(Job(id="due-check", kind="send_due", status="running", worker=first_server, heartbeat_at=utcnow()))
    runner = ThreadJobRunner(engine)
    schedule = PeriodicJob(runner, engine, "send_due", lambda progress: {}, 0.05, {})
    schedule.start()
    try:
        for _ in range(5):  # the first server's due-check beats
            with session_scope(engine) as session:
                session.get(Job, "due-check").heartbeat_at = utcnow()
            time.sleep(beat / 2)
        assert schedule.last_job_id is None
        with session_scope(engine) as session:  # its process died: no beat for more than a few
            session.get(Job, "due-check").heartbeat_at = utcnow() - timedelta(seconds=5 * beat)
        deadline = time.monotonic() + 10
        while schedule.last_job_id is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert schedule.last_job_id is not None
    finally:
        schedule.stop()
        runner.shutdown()


SWEEPING_ELSEWHERE = """
import sys, time
from service.jobs import heartbeat
heartbeat.HEARTBEAT_SECONDS = float(sys.argv[2])
from service.db.session import make_engine
from service.jobs.recovery import fail_interrupted_jobs

engine = make_engine(sys.argv[1])
failed, ends = [], time.monotonic() + float(sys.argv[3])
while time.monotonic() < ends:
    failed += fail_interrupted_jobs(engine)
    time.sleep(float(sys.argv[2]) / 2)  # twice a beat: a sweep a minute stands for it, and beats every 10 s
print(",".join(failed), flush=True)
"""


def test_a_job_holding_sqlite_for_longer_than_its_beats_is_not_failed_by_another_process(engine, monkeypatch):
    """On SQLite a job's own write transaction (an import's) keeps every other connection from writing, its beat
    included: a process sweeping meanwhile, and the moment it ended, read a beat several beats old."""
    from sqlalchemy import text

    from service.jobs import InlineJobRunner, heartbeat

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    sweeper = popen(
        [sys.executable, "-c", SWEEPING_ELSEWHERE, str(engine.url), str(BEAT), "6"], stdout=subprocess.PIPE, text=True
    )

    def holding(progress) -> dict:
        for _ in range(3):
            progress(0, 1, "writing")
            with progress.during_write_transaction(), session_scope(engine) as session:
                session.execute(text("DELETE FROM jobs WHERE id = 'none'"))  # the database's one write lock, held
                time.sleep(8 * BEAT)
        return {"held": True}

    try:
        time.sleep(1.0)  # the sweeper is at work
        job_id = InlineJobRunner(engine).submit("import", holding)
    finally:
        failed = sweeper.communicate(timeout=60)[0].strip()
    assert (_job(engine, job_id).status, failed) == ("succeeded", "")


def test_recovery_on_sqlite_leaves_the_jobs_to_the_next_sweep_while_another_process_writes(engine, monkeypatch):
    """Another process's import holds the one write lock for minutes, keeping the jobs' beats from being written:
    recovery waited for it, 10 s a try, then judged beats that could not be written."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.jobs.recovery import fail_interrupted_jobs

    with session_scope(engine) as session:
        session.add(Job(id="dead", kind="train", status="running", worker="web-2:7:0123456789ab",
                        heartbeat_at=utcnow() - timedelta(minutes=5)))  # fmt: skip
    writer = engine.raw_connection()  # another process's import, holding the one write lock
    try:
        writer.driver_connection.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        assert fail_interrupted_jobs(engine) == []
        assert time.monotonic() - started < 3
    finally:
        writer.driver_connection.execute("ROLLBACK")
        writer.close()
    assert fail_interrupted_jobs(engine) == ["dead"]


def test_a_draft_a_live_sender_in_another_container_is_mailing_is_left_to_it_until_its_beats_are_missed(
    engine, monkeypatch
):
    """A command in a second container (this hostname, this pid) put back to review, as perhaps sent, the draft the
    first container's send job was handing to the mail server: a person approving it again mailed it twice."""
    from datetime import timedelta

    from service.campaigns import ensure_brand
    from service.clock import utcnow
    from service.db.models import Campaign, Customer, Draft
    from service.jobs import heartbeat, recovery
    from service.jobs.recovery import SEND_INTERRUPTED, flag_interrupted_sends

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    first_server = f"{recovery.worker_name().rsplit(':', 1)[0]}:0another0boot"
    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        draft = Draft(campaign=campaign, customer=customer, status="sending", claimed_by=first_server)
        session.add(draft)
        session.flush()
        draft_id = draft.id
        session.add(Job(id="send", kind="send", status="running", worker=first_server, campaign_id=campaign.id,
                        heartbeat_at=utcnow()))  # fmt: skip
    with session_scope(engine) as session:
        assert flag_interrupted_sends(session) == []  # its sender beats
    with session_scope(engine) as session:  # the first container stopped: its beats are missed
        session.get(Job, "send").heartbeat_at = utcnow() - timedelta(seconds=5 * BEAT)
    with session_scope(engine) as session:
        assert flag_interrupted_sends(session) == [draft_id]
    with session_scope(engine) as session:
        assert session.get(Draft, draft_id).flag_reasons == [SEND_INTERRUPTED]


def test_the_staged_upload_of_a_live_import_in_another_container_is_kept_until_its_beats_are_missed(
    engine, tailor_home, monkeypatch
):
    """A server starting in a second container (this hostname, this pid) that shares the home folder removed the
    upload the first one's import job was about to read, as a dead process's."""
    import socket
    from datetime import timedelta

    from service.clock import utcnow
    from service.importing.background import remove_stranded_uploads
    from service.jobs import heartbeat, recovery

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    first_server = f"{recovery.worker_name().rsplit(':', 1)[0]}:0another0boot"
    staged = tailor_home / "staging" / socket.gethostname() / first_server.split(":", 1)[1].replace(":", "-")
    staged.mkdir(parents=True)
    (staged / "orders.csv").write_text("order_id\n")
    with session_scope(engine) as session:
        session.add(Job(id="import", kind="import", status="queued", worker=first_server, heartbeat_at=utcnow()))
    assert remove_stranded_uploads(tailor_home / "staging", engine) == []
    with session_scope(engine) as session:  # the first container stopped: its beats are missed
        session.get(Job, "import").heartbeat_at = utcnow() - timedelta(seconds=5 * BEAT)
    then = time.time() - recovery.beats_missed_seconds() - 1  # and so did its writes
    for path in (staged / "orders.csv", staged):
        os.utime(path, (then, then))
    assert remove_stranded_uploads(tailor_home / "staging", engine) == [staged]
    assert not staged.exists()


def test_the_draft_a_sender_on_a_host_that_died_was_mailing_goes_back_to_review_as_its_job_is_failed(any_engine):
    engine = any_engine
    """Recovery failed the dead host's send job first, and then judged the draft's sender by its unfinished jobs
    alone: it had none left, so the sender was judged by its name, which another host's never tells, and the draft
    stayed "sending", its campaign's customer waiting, for an hour."""
    from datetime import timedelta

    from service.campaigns import ensure_brand
    from service.clock import utcnow
    from service.db.models import Campaign, Customer, Draft
    from service.jobs.recovery import SEND_INTERRUPTED, beats_missed_seconds, fail_interrupted_jobs

    dead_host = "web-2:7:0123456789ab"
    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="cross_sell")
        customer = Customer(external_id="c1", email="c1@example.com", marketing_consent=True)
        draft = Draft(campaign=campaign, customer=customer, status="sending", claimed_by=dead_host)
        session.add(draft)
        session.flush()
        draft_id = draft.id
        last_beat = utcnow() - timedelta(seconds=beats_missed_seconds() + 5)  # claimed a moment before it died
        session.add(Job(id="send", kind="send", status="running", worker=dead_host, campaign_id=campaign.id,
                        heartbeat_at=last_beat))  # fmt: skip

    assert fail_interrupted_jobs(engine) == ["send"]

    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        assert (draft.status, draft.flag_reasons, draft.claimed_by) == ("flagged", [SEND_INTERRUPTED], None)


def test_a_running_import_of_this_process_holding_sqlite_longer_than_its_beats_can_still_be_cancelled(
    engine, monkeypatch
):
    """An import's own write transaction keeps its beat from being written: asked to stop after three beats, the job
    was taken for one whose process died, the sweep (which fails none of this process's live jobs) left it, and the
    request answered it still running, its cancellation never told to the job: the import ran to its end."""
    from sqlalchemy import text

    from service.jobs import heartbeat
    from service.jobs.runner import request_cancel

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    in_transaction = threading.Event()

    def importing(progress) -> dict:
        progress(0, 100, "reading")
        with progress.during_write_transaction(), session_scope(engine) as session:
            session.execute(text("DELETE FROM jobs WHERE id = 'none'"))  # the database's one write lock, held
            in_transaction.set()
            for row in range(1, 100):  # a report a row, as an import's batches come
                time.sleep(0.05)
                progress(row, 100, "writing")
        return {"imported": True}

    runner = ThreadJobRunner(engine)
    job_id = runner.submit("import", importing)
    assert in_transaction.wait(30)
    time.sleep(5 * BEAT)  # more than MISSED_BEATS beats that could not be written
    assert request_cancel(engine, job_id).status in ("running", "cancelling")
    runner.wait(job_id, timeout=30)
    runner.shutdown()
    assert _job(engine, job_id).status == "cancelled"


def test_a_cancel_of_a_job_whose_late_beat_comes_as_it_is_swept_is_still_told_to_the_job(engine):
    """Asked to stop a job of another process three beats late, the server swept, and its beat came meanwhile (a
    database busy a while), so nothing was failed: the request answered the job still running and told nobody, and
    the job ran on as if it had never been asked."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.jobs.recovery import beats_missed_seconds
    from service.jobs.runner import request_cancel

    late = utcnow() - timedelta(seconds=beats_missed_seconds() + 5)
    with session_scope(engine) as session:
        session.add(Job(id="late", kind="train", status="running", worker="web-2:7:0123456789ab", heartbeat_at=late))
    beat: list[bool] = []

    @event.listens_for(engine, "before_cursor_execute")
    def its_beat_lands(_connection, _cursor, statement, *_args) -> None:  # as the sweep begins
        if statement.startswith("BEGIN IMMEDIATE") and not beat:
            beat.append(True)
            with session_scope(engine) as session:
                session.get(Job, "late").heartbeat_at = utcnow()

    assert request_cancel(engine, "late").status == "cancelling"
    assert beat and _job(engine, "late").status == "cancelling"  # what the job's own process looks for


def test_a_job_whose_beat_another_process_s_long_write_held_back_beats_as_that_write_ends(engine, monkeypatch, caplog):
    """On SQLite another process's long write transaction (an import) keeps a job's beat from being written, and its
    process tried again only a beat later (10 s): a sweep in those seconds after the transaction ended read a beat
    as old as the transaction, and failed the live job (a queued one never ran)."""
    import logging

    from service.clock import utcnow
    from service.db import session as database_session
    from service.db.session import make_engine
    from service.jobs import heartbeat
    from service.jobs.recovery import beats_missed_seconds, fail_interrupted_jobs

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 1.0)
    monkeypatch.setattr(database_session, "BUSY_TIMEOUT_MS", 100)  # how long each try waits for the lock
    caplog.set_level(logging.DEBUG, logger="tailor.jobs")
    other_process = make_engine(str(engine.url))  # its connections wait BUSY_TIMEOUT_MS
    with session_scope(engine) as session:
        session.add(Job(id="queued", kind="train", status="queued", worker="web-2:7:0123456789ab",
                        heartbeat_at=utcnow()))  # fmt: skip
    beats = heartbeat.job_beats(other_process)
    beats.hold("queued")

    def tries_missed() -> int:
        return sum(record.getMessage() == "job heartbeat not recorded" for record in caplog.records)

    writer = engine.raw_connection()  # an import's transaction, holding the one write lock
    try:
        writer.driver_connection.execute("BEGIN IMMEDIATE")
        time.sleep(beats_missed_seconds() + 0.5)
        missed, deadline = tries_missed(), time.monotonic() + 3
        while tries_missed() == missed and time.monotonic() < deadline:  # just after a try that met the lock
            time.sleep(0.01)
    finally:
        writer.driver_connection.execute("ROLLBACK")
        writer.close()
    time.sleep(0.3)  # the sweep of a server a moment after the import ended
    try:
        assert fail_interrupted_jobs(engine) == []
        assert _job(engine, "queued").status == "queued"
    finally:
        beats.release("queued")
        other_process.dispose()


def test_recovery_that_waited_for_another_s_write_lets_the_beats_it_held_back_land_before_it_looks(engine):
    """Recovery that met another process's long write on SQLite tried again 0.2 s later and, the write just ended,
    read the beats of the live jobs that write had held back before they could land (they wait for the same lock),
    and failed those jobs as interrupted."""
    import sqlite3
    from datetime import timedelta

    from service.clock import utcnow
    from service.jobs.recovery import beats_missed_seconds, fail_interrupted_jobs

    held_back = utcnow() - timedelta(seconds=beats_missed_seconds() + 60)  # the import took minutes
    with session_scope(engine) as session:
        session.add(
            Job(id="live", kind="train", status="queued", worker="web-2:7:0123456789ab", heartbeat_at=held_back)
        )
    holding, released = threading.Event(), threading.Event()
    tries: list[str] = []

    def an_import() -> None:  # another process's write transaction, ending as recovery tries again
        writer = sqlite3.connect(engine.url.database, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        holding.set()
        while len(tries) < 2:
            time.sleep(0.01)
        writer.execute("ROLLBACK")
        writer.close()
        released.set()

    def its_beat() -> None:  # the live job's beat, waiting for the lock, lands a moment after
        released.wait(30)
        time.sleep(0.1)
        with session_scope(engine) as session:
            session.get(Job, "live").heartbeat_at = utcnow()

    @event.listens_for(engine, "before_cursor_execute")
    def recovery_tries(_connection, _cursor, statement, *_args) -> None:
        if statement.startswith("BEGIN IMMEDIATE"):
            tries.append(statement)
            if len(tries) == 2:  # its second try: the import ends just before it
                released.wait(30)

    threads = [threading.Thread(target=an_import), threading.Thread(target=its_beat)]
    threads[0].start()
    assert holding.wait(30)
    threads[1].start()
    try:
        assert fail_interrupted_jobs(engine) == []
    finally:
        for thread in threads:
            thread.join(30)
    assert _job(engine, "live").status == "queued"


def test_the_beat_of_a_database_no_longer_used_goes_with_its_engine(tailor_home):
    """Each engine's beat held its engine, the key it was kept under, so neither was ever let go: a process that
    opened a database after another (the tests, a command per database) kept every engine and its pool for good."""
    import gc
    import weakref

    from service.db.session import make_engine
    from service.jobs import heartbeat

    engine = make_engine(f"sqlite:///{tailor_home / 'other.db'}")
    heartbeat.job_beats(engine)
    engine_held = weakref.ref(engine)
    del engine
    gc.collect()
    assert engine_held() is None


ON_A_HOST_WHOSE_CLOCK_IS_OFF = (
    """
import socket, sys, time
from datetime import timedelta
import service.clock
socket.gethostname = lambda: "web-3"
python_clock = service.clock.utcnow
service.clock.utcnow = lambda: python_clock() + timedelta(seconds=float(sys.argv[3]))  # before the modules read it
"""
    + LONG_JOB
)


def test_the_live_job_of_a_host_whose_clock_is_off_is_left_alone_whoever_judges_it(any_engine, monkeypatch):
    """A beat was written by the beating host's clock and judged by the reader's: a host 20 s behind the others had
    its live jobs failed as interrupted by them, and so did every host a reader ahead of it judged. Both are the
    database's clock now; here the host is 40 s behind, and then the reader 40 s ahead, over beats 0.6 s apart."""
    from datetime import timedelta

    from service.jobs import heartbeat
    from tests.service.conftest import set_host_clock_off

    engine = any_engine
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", BEAT)
    url = engine.url.render_as_string(hide_password=False)
    host = popen(
        [sys.executable, "-c", ON_A_HOST_WHOSE_CLOCK_IS_OFF, url, str(BEAT), "-40"], stdout=subprocess.PIPE, text=True
    )
    try:
        job_id = host.stdout.readline().strip()
        assert _wait_until(engine, job_id, "running").worker.startswith("web-3:")
        time.sleep(5 * BEAT)  # silent all along, but beating
        assert sweep_jobs(engine) == []
        set_host_clock_off(monkeypatch, timedelta(seconds=40))  # the reader's clock
        time.sleep(2 * BEAT)
        assert sweep_jobs(engine) == []
        assert _job(engine, job_id).status == "running"
    finally:
        host.send_signal(signal.SIGKILL)
        host.wait()
    time.sleep(5 * BEAT)
    assert sweep_jobs(engine) == [job_id]  # once it stopped, its beats are missed as before
