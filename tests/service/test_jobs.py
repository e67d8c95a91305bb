"""Both job runners record status, progress and results (or the error) on the job row."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy import select

from service.db.models import UNFINISHED_JOB, Job
from service.db.session import session_scope
from service.errors import Conflict, InvalidInput, JobCancelled, NotFound, NotReady, Problem
from service.jobs import InlineJobRunner, ThreadJobRunner
from service.jobs.runner import Progress, _create_job, _run, held_progress, request_cancel, worker_name
from tests import forked_cli
from tests.service.conftest import wait_for_job


def counting(progress, steps: int) -> dict:
    for step in range(steps):
        progress(step, steps, f"step {step}")
    return {"steps": steps}


def failing(progress) -> dict:
    progress(0, 2, "about to fail")
    raise NotReady("nothing to train on: import orders first")


def _job(engine, job_id: str) -> Job:
    with session_scope(engine) as session:
        return session.get(Job, job_id)


def test_inline_runner_reports_progress_to_listener_and_row(engine):
    seen = []
    runner = InlineJobRunner(engine, lambda done, total, message: seen.append((done, total, message)))
    job = _job(engine, runner.submit("count", counting, steps=3))
    assert [s[0] for s in seen] == [0, 1, 2] and runner.last_result == {"steps": 3}
    assert (job.status, job.progress, job.result) == ("succeeded", 1.0, {"steps": 3})


def test_a_stage_s_first_report_reaches_the_row_at_once(engine):
    """A generation sat at "choosing the audience" for minutes while the model wrote: its "writing drafts 0/8",
    made a moment after the stage before, fell under the write throttle, and nothing else came until a group
    was done."""
    with session_scope(engine) as session:
        session.add(Job(id="two-stages", kind="generate", status="running"))
    progress = Progress(engine, "two-stages")
    progress(0, 1, "choosing the audience")
    progress(0, 8, "writing drafts 0/8")
    assert _job(engine, "two-stages").message == "writing drafts 0/8"
    progress(1, 8, "writing drafts 1/8")  # within the throttle: not written yet
    assert _job(engine, "two-stages").message == "writing drafts 0/8"


def test_thread_runner_records_failures_with_the_users_message(engine):
    runner = ThreadJobRunner(engine)
    job_id = runner.submit("fail", failing)
    runner.wait(job_id, timeout=10)  # a failed job does not bring the API's worker thread down
    job = _job(engine, job_id)
    assert job.status == "failed" and job.error == "nothing to train on: import orders first"
    assert job.progress == 0.0 and job.message == "failed: nothing to train on: import orders first"  # not "about to"
    ok = runner.submit("count", counting, steps=2)
    runner.wait(ok, timeout=10)
    assert _job(engine, ok).status == "succeeded"
    runner.shutdown()


def _ended(engine, kind: str, work) -> Job:
    """The job row of ``work`` run on a thread runner of its own, once it has ended."""
    runner = ThreadJobRunner(engine)
    job_id = runner.submit(kind, work)
    runner.wait(job_id, timeout=10)
    runner.shutdown()
    return _job(engine, job_id)


def test_a_job_the_database_would_not_start_fails_saying_why_and_undoes_what_was_prepared(engine, caplog):
    """The UPDATE that starts a job (queued to running) came before the job's own error handling: where the database
    refused it, the server's runner swallowed the error, logged nothing, and left the job queued, its work never
    run, until a sweep failed it as "interrupted" and what was prepared for it stayed as it was."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign
    from service.jobs.runner import undone_if_never_run

    with session_scope(engine) as session:  # a campaign's job is queued only while its campaign is there
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    undone, ran = [], []

    @undone_if_never_run(lambda session, **params: undone.append(params))
    def prepared(progress, campaign_id: int) -> dict:
        ran.append(campaign_id)
        return {}

    with engine.begin() as connection:  # the database refuses the start, as it would a write it cannot take
        connection.exec_driver_sql(
            "CREATE TRIGGER no_start BEFORE UPDATE OF status ON jobs WHEN NEW.status = 'running' "
            "BEGIN SELECT RAISE(ABORT, 'jobs cannot start now'); END"
        )
    runner = ThreadJobRunner(engine)
    with caplog.at_level(logging.ERROR, logger="tailor.jobs"):
        job_id = runner.submit("generate", prepared, campaign_id=campaign_id)
        runner.wait(job_id, timeout=10)
    runner.shutdown()
    job = _job(engine, job_id)
    assert (job.status, ran, undone) == ("failed", [], [{"campaign_id": campaign_id}])
    assert job.error.startswith("not started:") and "jobs cannot start now" in job.error
    assert job.message == f"failed: {job.error}"
    (record,) = [record for record in caplog.records if record.message == "job not started"]
    assert record.job_id == job_id and "jobs cannot start now" in record.error


def rejecting(progress) -> dict:
    raise InvalidInput("customers file", [Problem(3, "email", "is not an email address"), Problem(4, None, "empty")])


def test_a_job_rejecting_its_input_keeps_the_problems_as_the_api_answers_them(engine):
    """A failed job's error was one line of text: a client could not point at a bad file's rows and columns as it
    can from the synchronous 422. The job's result now holds that same body, problems included."""
    job = _ended(engine, "import", rejecting)
    assert job.status == "failed" and job.error.startswith("customers file rejected, nothing was written: row 3")
    assert job.result == {
        "error": "InvalidInput",
        "message": job.error,
        "problems": [
            {"row": 3, "column": "email", "message": "is not an email address"},
            {"row": 4, "column": None, "message": "empty"},
        ],
    }


def locked_out(progress) -> dict:
    import sqlite3

    from sqlalchemy.exc import OperationalError

    raise OperationalError("INSERT INTO drafts ...", {}, sqlite3.OperationalError("database is locked"))


def test_a_job_that_could_not_get_the_database_lock_says_so_as_the_api_does(engine):
    """The job's error was SQLAlchemy's text, statement and all; a client sees what the API answers instead."""
    job = _ended(engine, "generate", locked_out)
    assert job.status == "failed" and job.error.startswith("The database is busy with another write")
    assert job.result["error"] == "DatabaseBusy" and "INSERT" not in job.error


def writing(progress, engine, reached: threading.Event, go: threading.Event) -> dict:
    with progress.during_write_transaction(), session_scope(engine) as session:
        session.add(Job(id="written-by-the-job", kind="other"))
        session.flush()  # the job now holds SQLite's one write lock
        progress(1, 2, "writing jobs")
        reached.set()
        go.wait(timeout=30)
    return {}


def test_progress_inside_a_jobs_own_sqlite_transaction_is_held_in_memory_until_it_ends(engine):
    """Writing the job's row while the job's own transaction held SQLite's write lock waited out the busy timeout
    (10 s) and failed the job; the figures are now held in memory, where GET /jobs/{id} reads them."""
    runner = ThreadJobRunner(engine)
    reached, go = threading.Event(), threading.Event()
    job_id = runner.submit("write", writing, engine=engine, reached=reached, go=go)
    try:
        assert reached.wait(timeout=5), _job(engine, job_id).error
        assert held_progress(_job(engine, job_id)) == {
            "done": 1,
            "total": 2,
            "progress": 0.5,
            "message": "writing jobs",
        }
        assert _job(engine, job_id).done == 0
    finally:
        go.set()
        runner.wait(job_id, timeout=30)
        runner.shutdown()
    job = _job(engine, job_id)
    assert (job.status, job.message, held_progress(job)) == ("succeeded", "writing jobs", {})


CRASHING_PROCESS = """
import sys
from service.db.models import Campaign, Job
from service.db.session import make_engine, session_scope
from service.campaigns import ensure_brand
from service.jobs.runner import _create_job

engine = make_engine(sys.argv[1])
with session_scope(engine) as session:
    campaign = Campaign(name="cut short", brand=ensure_brand(session, "hearth"), campaign_type="win_back",
                        status="generating")
    session.add(campaign)
    session.flush()
    campaign_id = campaign.id
job_id = _create_job(engine, "generate", params={"campaign_id": campaign_id})
with session_scope(engine) as session:
    session.get(Job, job_id).status = "running"
print(job_id)
"""


def test_a_restarted_server_fails_the_jobs_of_a_process_that_died(engine, api_key, monkeypatch):
    """A generate job whose process was killed stayed "running" and its campaign "generating" forever. The
    API, when it starts, fails them with a message that says so, once their beats are missed (the process may have
    died a moment before the start), though it sweeps only at start; jobs of live processes are left running."""
    import sys

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.db.models import Campaign
    from service.jobs import heartbeat
    from service.jobs.recovery import INTERRUPTED
    from service.jobs.runner import worker_name

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.2)
    monkeypatch.setenv("TAILOR_JOBS_SWEEP_SECONDS", "0")
    died = forked_cli.run(
        [sys.executable, "-c", CRASHING_PROCESS, str(engine.url)], capture_output=True, text=True, check=True,
        tailor_imported=True,  # it replaces nothing before importing Tailor's modules
    ).stdout.strip()  # fmt: skip
    go = threading.Event()
    runner = ThreadJobRunner(engine)  # this test's own process: still alive
    alive = runner.submit("train", lambda progress: {"waited": go.wait(30)})
    with session_scope(engine) as session:  # a job of another host from before jobs beat: left to that host
        session.add(Job(id="elsewhere", kind="train", status="queued", worker="another-host:1"))
        assert session.get(Job, died).worker != worker_name()

    try:
        with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
            deadline = time.monotonic() + 10
            while (job := client.get(f"/jobs/{died}").json())["status"] != "failed":
                assert time.monotonic() < deadline, job
                time.sleep(0.1)
            assert job["error"] == INTERRUPTED
            assert client.get(f"/jobs/{alive}").json()["status"] == "running"
            assert client.get("/jobs/elsewhere").json()["status"] == "queued"
    finally:
        go.set()
        runner.wait(alive, timeout=30)
        runner.shutdown()
    with session_scope(engine) as session:
        assert session.query(Campaign).filter_by(name="cut short").one().status == "failed"


def test_an_interrupted_job_says_how_far_it_got_and_what_comes_next(engine, api_key):
    """Crash audit: a killed generate that had stored 119 of 300 drafts showed progress 0.0 (its last report before
    the batch was stored went unwritten), and every interrupted job said "submit it again", the jobs nobody submits
    included (the due-check, the audience refresh after an import, the scheduled retrain), and an import whose
    transaction was rolled back did not say that nothing of its file was kept."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.campaigns import ensure_brand
    from service.clock import utcnow
    from service.db.models import Campaign, Customer, Draft, Variant
    from service.jobs.recovery import INTERRUPTED

    gone = f"{worker_name().split(':')[0]}:999999999:x"  # this host, a pid no process has
    started = utcnow() - timedelta(minutes=1)
    with session_scope(engine) as session:
        campaign = Campaign(name="cut short", brand=ensure_brand(session, "hearth"), campaign_type="vip",
                            status="generating")  # fmt: skip
        session.add(campaign)
        session.flush()
        for n, (status, created_at) in enumerate(
            [("approved", started - timedelta(hours=1)), *[("pending", None)] * 2]
        ):
            customer = Customer(external_id=f"c{n}", email=f"c{n}@example.com", marketing_consent=True)
            variants = [Variant(label="A", subject="Hi")]
            created_at = created_at or utcnow()
            session.add(Draft(campaign_id=campaign.id, customer=customer, status=status, variants=variants,
                              created_at=created_at))  # fmt: skip
        session.add(Job(id="generate", kind="generate", status="running", worker=gone, campaign_id=campaign.id,
                        done=0, total=5, message="storing drafts 1-2 of 5", created_at=started))  # fmt: skip
        for kind in ("import", "audience", "send_due", "retrain", "train"):
            session.add(Job(id=kind, kind=kind, status="running", worker=gone, message="reading the file"))
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        jobs = {job["id"]: job for job in client.get("/jobs").json()}
    assert {job["status"] for job in jobs.values()} == {"failed"}
    # the 2 drafts it stored of 5; the one approved from an earlier run is not its own
    assert (jobs["generate"]["done"], jobs["generate"]["progress"]) == (2, 0.4)
    assert jobs["train"]["error"] == jobs["generate"]["error"] == INTERRUPTED  # a person's: to submit again
    assert "nothing of its file was written" in jobs["import"]["error"]
    assert "`tailor audience refresh`" in jobs["audience"]["error"]
    assert "the next due-check sends" in jobs["send_due"]["error"]
    assert "the next scheduled retrain" in jobs["retrain"]["error"]
    for kind in ("audience", "send_due", "retrain"):
        assert jobs[kind]["error"].startswith("interrupted: ") and "submit it again" not in jobs[kind]["error"]


AS_PID_ONE = """
import os, sys
from service.db.models import Job
from service.db.session import make_engine, session_scope
from service.jobs import heartbeat
from service.jobs.recovery import fail_interrupted_jobs
from service.jobs.runner import _create_job

assert os.getpid() == 1
heartbeat.HEARTBEAT_SECONDS = float(sys.argv[3])
engine = make_engine(sys.argv[1])
if sys.argv[2] == "start":  # a job running when the container stops
    job_id = _create_job(engine, "train")
    with session_scope(engine) as session:
        session.get(Job, job_id).status = "running"
    print(job_id)
else:  # the container started again: the server is PID 1 once more
    print(",".join(fail_interrupted_jobs(engine)))
"""


# `unshare --pid --fork --mount-proc python -c SCRIPT ARGS...`, done by a forked `python -c` (tests/forked_cli.py):
# a new interpreter for each of the two containers' starts imported the libraries below Tailor's again, 3-4 CPU-s each.
# SCRIPT imports Tailor's modules itself, as PID 1 of the new namespace, so that what they read of the process at
# import (its boot id, from /proc of its own) is that PID 1's.
IN_A_NEW_PID_NAMESPACE = """
import builtins, ctypes, os, sys, types
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWPID, MS_REC, MS_PRIVATE = 0x00020000, 0x20000000, 0x4000, 0x40000
MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x2, 0x4, 0x8


def done(outcome, what):
    if outcome != 0:
        raise OSError(ctypes.get_errno(), f"{what}: {os.strerror(ctypes.get_errno())}")


done(libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare")
pid = os.fork()
if pid == 0:  # PID 1 of the new namespace, with a /proc of its own that the host's mounts never see
    code = 1
    try:
        done(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        done(libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None), "mount proc")
        script, sys.argv = sys.argv[1], ["-c", *sys.argv[2:]]
        main = sys.modules["__main__"] = types.ModuleType("__main__")
        main.__builtins__ = builtins
        exec(compile(script, "<string>", "exec"), main.__dict__)
        code = 0
    except BaseException:
        sys.excepthook(*sys.exc_info())
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) & 0xFF)
"""


def test_a_server_restarted_with_the_same_pid_fails_the_jobs_of_the_one_before(engine):
    """In a container the server is PID 1 each time it starts: its jobs stayed "running" forever after a restart,
    as a job of "host:1" looked like one of the live process."""
    import os
    import sys

    from service.jobs.recovery import INTERRUPTED

    if os.geteuid() != 0:
        pytest.skip("starting a process as PID 1 of a new PID namespace needs root")

    def as_pid_one(step: str) -> str:
        command = [sys.executable, "-c", IN_A_NEW_PID_NAMESPACE, AS_PID_ONE]
        done = forked_cli.run([*command, str(engine.url), step, "0.2"], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    job_id = as_pid_one("start")
    assert _job(engine, job_id).worker.split(":")[1] == "1"
    time.sleep(1.0)  # the container restarts: the beats of the one before are missed meanwhile
    assert as_pid_one("restart") == job_id
    assert (_job(engine, job_id).status, _job(engine, job_id).error) == ("failed", INTERRUPTED)


def test_the_job_log_lines_name_the_job_s_kind_and_keep_tracebacks_for_the_unexpected(engine):
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tailor.jobs")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        InlineJobRunner(engine).submit("count", counting, steps=1)
        _ended(engine, "fail", failing)
        _ended(engine, "crash", crashing)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [(record.getMessage(), record.kind, record.levelname) for record in records]
    assert lines == [
        ("job started", "count", "INFO"), ("job finished", "count", "INFO"),
        ("job started", "fail", "INFO"), ("job failed", "fail", "WARNING"),
        ("job started", "crash", "INFO"), ("job failed", "crash", "ERROR"),
    ]  # fmt: skip
    # A user's error (import orders first) is told in its own words; a traceback is for what nobody expected.
    assert records[3].error == "nothing to train on: import orders first" and not hasattr(records[3], "trace")
    assert records[5].error == "ZeroDivisionError: division by zero" and "ZeroDivisionError" in records[5].trace


def crashing(progress) -> dict:
    return {"ratio": 1 / 0}


def stepping(progress, started: threading.Event, steps: int = 3000) -> dict:
    started.set()
    for step in range(steps):
        progress(step, steps, "stepping")
        time.sleep(0.01)
    return {"steps": steps}


def test_a_running_job_stops_at_its_next_report_and_a_queued_one_never_starts(engine):
    """Long work (a generation for thousands of customers) could not be stopped but by killing the server."""
    runner = ThreadJobRunner(engine)
    started, ran = threading.Event(), []
    try:
        running = runner.submit("generate", stepping, started=started)
        queued = runner.submit("train", lambda progress: ran.append(True) or {})
        assert started.wait(timeout=10)
        assert request_cancel(engine, queued).status == "cancelled"  # at once, as its row says
        assert _job(engine, queued).status == "cancelled" and held_progress(_job(engine, queued)) == {}
        assert request_cancel(engine, running).status == "running"
        assert held_progress(_job(engine, running))["status"] == "cancelling"  # as GET /jobs/{id} shows it
        runner.wait(running, timeout=30)
        runner.wait(queued, timeout=30)
    finally:
        runner.shutdown()
    stopped, skipped = _job(engine, running), _job(engine, queued)
    assert stopped.status == "cancelled" and stopped.error.startswith("cancelled on request after ")
    # The row keeps the last figures, and what the job was doing (a training's figures count its stages).
    assert stopped.error == f"cancelled on request after {stopped.done:,} of 3,000: stepping"
    assert 0 < stopped.done < 3000 and held_progress(stopped) == {}
    assert (skipped.status, skipped.error, ran) == ("cancelled", "cancelled on request before it started", [])
    with pytest.raises(Conflict, match=f"Job {running} already cancelled"):
        request_cancel(engine, running)
    with pytest.raises(NotFound):
        request_cancel(engine, "no-such-job")


def test_a_job_of_another_process_is_asked_through_its_row(engine):
    """A job run by another process (the CLI, a second server) reads the request from its row."""
    with session_scope(engine) as session:
        session.add(Job(id="elsewhere", kind="generate", status="running", worker="another-host:1"))
    assert request_cancel(engine, "elsewhere").status == "cancelling"
    assert _job(engine, "elsewhere").status == "cancelling"
    from service.jobs.runner import Progress

    progress = Progress(engine, "elsewhere")
    progress._last_cancel_check = 0.0  # as if a second had passed since its last look
    with pytest.raises(JobCancelled, match="cancelled on request after 5 of 10: writing$"):
        progress(5, 10, "writing")


def test_the_api_cancels_a_job_and_refuses_one_that_ended(client):
    unknown = client.post("/jobs/nope/cancel")  # named: a path no route serves is a 404 too
    assert (unknown.status_code, unknown.json()["message"]) == (404, "Job nope does not exist.")
    import_job = client.post(
        "/imports/customers", files={"file": ("c.csv", b"customer_id,email,first_name,locale,marketing_consent\n")},
        params={"background": True},
    ).json()["job_id"]  # fmt: skip
    ended = wait_for_job(client, import_job)
    refused = client.post(f"/jobs/{import_job}/cancel")
    assert refused.status_code == 409 and refused.json() == {
        "error": "Conflict", "message": f"Job {import_job} already {ended['status']}: there is nothing to cancel.",
        "problems": [],
    }  # fmt: skip


def writing_until_stopped(progress, engine, reached: threading.Event) -> dict:
    with progress.during_write_transaction(), session_scope(engine) as session:
        session.add(Job(id="written-before-the-stop", kind="other"))
        session.flush()  # the job now holds SQLite's one write lock, as an import does
        for step in range(3000):
            progress(step, 3000, "writing")
            reached.set()
            time.sleep(0.01)
    return {}


def test_a_job_stopped_inside_its_write_transaction_writes_nothing(engine):
    """The request to stop an import must not wait for the import's own write lock, and what it wrote goes."""
    runner = ThreadJobRunner(engine)
    reached = threading.Event()
    job_id = runner.submit("import", writing_until_stopped, engine=engine, reached=reached)
    try:
        assert reached.wait(timeout=10)
        started = time.perf_counter()
        request_cancel(engine, job_id)
        assert time.perf_counter() - started < 1  # not the 10 s busy timeout of a write
        runner.wait(job_id, timeout=30)
    finally:
        runner.shutdown()
    job = _job(engine, job_id)
    assert job.status == "cancelled" and job.message.endswith(": writing") and job.done > 0
    assert _job(engine, "written-before-the-stop") is None


def storing_after_a_long_step(progress, reached: threading.Event) -> dict:
    """A generation's shape: a step that outlasts the heartbeat (a group's copy from the model), then the report
    before storing what it wrote, which meets the cancellation."""
    from service.jobs.heartbeat import Heartbeat

    with Heartbeat(progress, every=0.1) as beat:
        beat(0, 5, "writing drafts: 0 of 5")
        reached.set()
        time.sleep(1.5)  # the heartbeat repeats the step's report, "still working", and meets the cancellation
        beat(0, 5, "storing drafts: 1-2 of 5")
    return {}


def test_a_cancelled_job_s_message_says_it_was_cancelled_not_the_step_it_was_at(engine):
    """GET /jobs/{id} of a cancelled generation kept the message "storing drafts: 1-2 of 5 (still working: 52 s on this
    step)": the step it was at, read as if it were still at it, storing drafts it never stored. A failed job's says
    `failed: ` and its error; a cancelled one's says why it stopped, as its error does."""
    runner = ThreadJobRunner(engine)
    reached = threading.Event()
    job_id = runner.submit("generate", storing_after_a_long_step, reached=reached)
    try:
        assert reached.wait(timeout=10)
        request_cancel(engine, job_id)
        runner.wait(job_id, timeout=30)
    finally:
        runner.shutdown()
    job = _job(engine, job_id)
    assert job.status == "cancelled" and job.error.startswith("cancelled on request after 0 of 5: writing drafts")
    assert job.message == job.error
    assert "storing" not in job.message


def test_ctrl_c_on_the_command_running_a_job_cancels_it(engine):
    """Ctrl-C left the job 'running' (and a campaign 'generating') until the API's next start."""

    def interrupted(progress) -> dict:
        progress(1, 10, "writing")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        InlineJobRunner(engine).submit("generate", interrupted)
    with session_scope(engine) as session:
        job = session.scalars(select(Job)).one()
        assert (job.status, job.error) == ("cancelled", "cancelled: interrupted (Ctrl-C)")


def test_kinds_on_their_own_lane_run_beside_a_long_job(engine):
    """Mail waited behind a long generation or training, however long it took."""
    runner = ThreadJobRunner(engine, own_lane=("send",))
    release = threading.Event()
    try:
        started = threading.Event()
        long = runner.submit("generate", lambda progress: {"waited": started.set() or release.wait(30)})
        send = runner.submit("send", lambda progress: {"sent": 1})
        behind = runner.submit("train", lambda progress: {})
        runner.wait(send, timeout=10)
        assert started.wait(timeout=10)  # the send may end before the long job's row says it runs
        assert _job(engine, send).status == "succeeded"
        assert (_job(engine, long).status, _job(engine, behind).status) == ("running", "queued")
    finally:
        release.set()
        runner.shutdown()


def test_the_server_sends_on_its_own_lane_only_where_two_can_write_at_once(engine):
    from service.app import SENDING_JOBS, create_app

    assert create_app(engine).state.tailor.jobs.own_lane == frozenset()  # SQLite: one writer, a send waits its turn
    assert set(SENDING_JOBS) == {"send", "send_due"}


def test_the_latest_jobs_are_listed_newest_first_by_status_and_kind(client, engine):
    """A marketing tool that lost a job's id, or wants to know what runs now, had no way to find it."""
    from datetime import datetime, timedelta

    from service.db.models import Job
    from service.db.session import session_scope

    start = datetime(2026, 11, 30, 9, 0)
    rows = [("j1", "import", "succeeded"), ("j2", "train", "failed"), ("j3", "generate", "running"),
            ("j4", "send", "queued"), ("j5", "generate", "succeeded")]  # fmt: skip
    with session_scope(engine) as session:
        for minutes, (job_id, kind, status) in enumerate(rows):
            created = start + timedelta(minutes=minutes)
            session.add(Job(id=job_id, kind=kind, status=status, created_at=created, updated_at=created))

    def ids(**params) -> list[str]:
        answer = client.get("/jobs", params=params)
        assert answer.status_code == 200, answer.text
        return [job["id"] for job in answer.json()]

    assert ids() == ["j5", "j4", "j3", "j2", "j1"]
    assert ids(status="running") == ["j3"] and ids(kind="generate") == ["j5", "j3"]
    assert ids(kind="generate", status="succeeded") == ["j5"] and ids(limit=2, offset=1) == ["j4", "j3"]
    first = client.get("/jobs", params={"limit": 1}).json()[0]
    assert first == client.get("/jobs/j5").json()  # the same fields as one job's status
    refused = client.get("/jobs", params={"status": "done"})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "query.status"
    unknown = client.get("/jobs", params={"kind": "bogus"})  # it answered [] as if no such job had run
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["field"] == "query.kind"


def _holding_the_queue(client) -> threading.Event:
    """Start a long job on the app's runner, as another generation would be; set the event to end it."""
    release = threading.Event()
    client.app.state.tailor.jobs.submit("train", lambda progress: {"waited": release.wait(30)})
    return release


def test_a_generation_cancelled_in_the_queue_gives_its_campaign_back(client, engine, monkeypatch):
    """A generate job cancelled while another ran answered "cancelling", and its campaign stayed "generating"
    forever: deleting or generating it again, and erasing any customer, were refused with 409 even after a
    restart."""
    import service.routes.campaigns

    monkeypatch.setattr(service.routes.campaigns, "require_models", lambda models: None)  # it never runs
    release = _holding_the_queue(client)
    try:
        campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()
        campaign_id = campaign_id["id"]
        job_id = client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"]
        assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "generating"

        cancelled = client.post(f"/jobs/{job_id}/cancel")
        assert cancelled.status_code == 200
        assert (cancelled.json()["status"], cancelled.json()["error"]) == (
            "cancelled",
            "cancelled on request before it started",
        )
        listed = {status: [j["id"] for j in client.get("/jobs", params={"status": status}).json()]
                  for status in ("queued", "cancelling", "cancelled")}  # fmt: skip
        assert listed == {"queued": [], "cancelling": [], "cancelled": [job_id]}
        assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "failed"
        assert client.delete("/customers/nobody").status_code == 404  # not 409: no campaign is being generated
    finally:
        release.set()
    client.app.state.tailor.jobs.wait(job_id, timeout=30)
    assert client.get(f"/jobs/{job_id}").json()["status"] == "cancelled"
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "failed"  # the queue reached it: no change
    assert client.delete(f"/campaigns/{campaign_id}").status_code == 204


def test_a_generation_asked_through_its_row_gives_its_campaign_back_when_the_queue_reaches_it(engine):
    """Another process's request to cancel a queued generation is read when the job's turn comes."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign
    from service.pipeline.generate import generate_campaign

    with session_scope(engine) as session:
        campaign = Campaign(name="x", brand=ensure_brand(session, "hearth"), campaign_type="vip", status="generating")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    job_id = _create_job(engine, "generate")
    with session_scope(engine) as session:
        session.get(Job, job_id).status = "cancelling"  # as request_cancel in another process marks it
    assert _run(engine, job_id, generate_campaign, {"engine": engine, "models": None, "campaign_id": campaign_id}) == {}
    assert (_job(engine, job_id).status, _job(engine, job_id).error) == (
        "cancelled",
        "cancelled on request before it started",
    )
    with session_scope(engine) as session:
        assert session.get(Campaign, campaign_id).status == "failed"


def test_a_restarted_server_gives_back_a_campaign_that_no_job_generates(engine, api_key):
    """A campaign left "generating" by a job that ended without putting it back refused 409 forever; a restart
    did not help, as it repaired only the campaigns of unfinished jobs."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.campaigns import ensure_brand
    from service.db.models import Campaign

    with session_scope(engine) as session:
        brand = ensure_brand(session, "hearth")
        session.add(Campaign(name="stuck", brand=brand, campaign_type="vip", status="generating"))
        session.add(Job(id="ended", kind="generate", status="cancelled", worker=worker_name()))
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        assert [c["status"] for c in client.get("/campaigns").json()] == ["failed"]


def test_a_campaign_is_not_deleted_under_its_queued_jobs_and_the_refusal_names_them(client, monkeypatch):
    """A campaign deleted while its send waited in the queue failed the send with "'NoneType' object has no
    attribute 'scheduled_at'"; and the refusal for a generation said "POST /jobs/{id}/cancel", not which job."""
    import service.routes.campaigns

    monkeypatch.setattr(service.routes.campaigns, "require_models", lambda models: None)  # it never runs
    release = _holding_the_queue(client)
    try:
        campaign = {"name": "x", "brand": "hearth", "campaign_type": "vip"}
        sending, generating = (client.post("/campaigns", json=campaign).json()["id"] for _ in range(2))
        send_job = client.post(f"/campaigns/{sending}/send").json()["job_id"]
        generate_job = client.post(f"/campaigns/{generating}/generate").json()["job_id"]

        for campaign_id, job_id, doing in ((sending, send_job, "sent"), (generating, generate_job, "generated")):
            refused = client.delete(f"/campaigns/{campaign_id}")
            assert refused.status_code == 409 and refused.json()["message"] == (
                f"Campaign {campaign_id} is being {doing}: cancel its job (POST /jobs/{job_id}/cancel) first."
            )
            assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelled"
            assert client.delete(f"/campaigns/{campaign_id}").status_code == 204
    finally:
        release.set()


def test_a_send_whose_campaign_is_gone_is_refused_saying_so_and_records_no_job(engine):
    """The job was queued, and failed saying the campaign was deleted: a request to send was answered 202 for it."""
    from service.campaigns import delete_campaign, ensure_brand
    from service.db.models import Campaign
    from service.errors import CampaignNotFound
    from service.pipeline.sending import send_campaign

    with session_scope(engine) as session:
        campaign = Campaign(name="spring", brand=ensure_brand(session, "hearth"), campaign_type="vip")
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id
    with session_scope(engine) as session:
        delete_campaign(session, campaign_id)
    runner = ThreadJobRunner(engine)
    try:
        with pytest.raises(CampaignNotFound) as refused:
            runner.submit("send", send_campaign, engine=engine, campaign_id=campaign_id)
    finally:
        runner.shutdown()
    assert str(refused.value).startswith(f"Campaign {campaign_id} ('spring') was deleted on ")
    with session_scope(engine) as session:
        assert session.scalars(select(Job)).all() == []


SERVING_A_LONG_JOB = """
import sys, time
import uvicorn
from service.app import create_app
from service.db.session import make_engine

def reporting(progress):  # a long training that reports between its steps
    for step in range(100_000):
        progress(step, 100_000, "stepping")
        time.sleep(0.01)
    return {}

def silent(progress):  # one long step that reports nothing (a model's fit)
    progress(0, 1, "fitting")
    time.sleep(600)
    return {}

engine = make_engine(sys.argv[1])
app = create_app(engine)
work = {"reporting": reporting, "silent": silent}[sys.argv[2]]
print(app.state.tailor.jobs.submit("train", work), app.state.tailor.jobs.submit("generate", reporting), flush=True)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[3]), log_config=None)
"""


def _answers(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.parametrize("work", ["reporting", "silent"])
def test_a_stopped_server_stops_its_jobs_within_a_grace_period_failing_them_as_interrupted(engine, work, monkeypatch):
    """SIGTERM left the process up until a multi-minute training had finished; the training succeeded after the
    server had been told to stop, and the container was killed anyway."""
    import os
    import signal
    import subprocess
    import sys

    from service.jobs import heartbeat
    from service.jobs.recovery import INTERRUPTED, beats_missed_seconds, fail_interrupted_jobs
    from tests.conftest import free_port

    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", 0.2)  # here, where the server's jobs are judged
    environment = {**os.environ, "TAILOR_JOBS_SHUTDOWN_GRACE_SECONDS": "3", "TAILOR_SEND_DUE_CHECK_MINUTES": "0"}
    port = free_port()
    server = forked_cli.popen(
        [sys.executable, "-c", SERVING_A_LONG_JOB, str(engine.url), work, str(port)],
        stdout=subprocess.PIPE, text=True, env=environment, tailor_imported=True,  # it replaces nothing of Tailor's
    )  # fmt: skip
    try:
        running, queued = server.stdout.readline().split()
        deadline = time.monotonic() + 30
        while not (_job(engine, running).status == "running" and _answers(f"http://127.0.0.1:{port}/health")):
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        stopping = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)  # uvicorn ends by raising the signal it caught: -15 after a clean shutdown
        assert time.monotonic() - stopping < 12  # the grace period (3 s) and the rest of a clean exit
    finally:
        server.kill()
        server.wait()
    assert (_job(engine, queued).status, _job(engine, queued).error) == ("failed", INTERRUPTED)
    if work == "reporting":  # stopped at its next report
        assert (_job(engine, running).status, _job(engine, running).error) == ("failed", INTERRUPTED)
        assert 0 < _job(engine, running).done < 100_000
    else:  # still inside its step: left running for the next start, which fails it once its beats are missed
        assert _job(engine, running).status == "running"
        time.sleep(beats_missed_seconds() + 0.5)
        assert fail_interrupted_jobs(engine) == [running]
        assert (_job(engine, running).status, _job(engine, running).error) == ("failed", INTERRUPTED)


def test_a_schedule_lets_its_tick_pass_while_another_server_runs_the_same_kind(engine):
    """Two servers on one database both ran the due-check each tick; a job of a host that died (its row still) must
    not stop the schedule for good."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.jobs.schedule import STALE_AFTER, PeriodicJob

    with session_scope(engine) as session:
        session.add(Job(id="other-server", kind="send_due", status="running", worker="another-host:1:b00t"))
    runner = ThreadJobRunner(engine)
    schedule = PeriodicJob(runner, engine, "send_due", lambda progress: {}, 0.05, {})
    schedule.start()
    try:
        time.sleep(0.5)
        assert schedule.last_job_id is None  # the other server's due-check runs
        with session_scope(engine) as session:  # nothing moved on its row for long: that host died
            session.get(Job, "other-server").updated_at = utcnow() - STALE_AFTER - timedelta(minutes=1)
        deadline = time.monotonic() + 10
        while schedule.last_job_id is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert schedule.last_job_id is not None
    finally:
        schedule.stop()
        runner.shutdown()


def test_a_schedule_whose_jobs_fail_waits_longer_after_each_failure(engine):
    """With the mail server down, the due-check made a failed job every tick (every 5 minutes, 288 a day), each a
    row, a warning and a webhook, for as long as the server was down."""
    from service.jobs.schedule import PeriodicJob

    outcome = {"fails": True}

    def work(progress) -> dict:
        if outcome["fails"]:
            raise ConnectionRefusedError("the mail server is down")
        return {}

    runner = ThreadJobRunner(engine)
    schedule = PeriodicJob(runner, engine, "send_due", work, 60, {})  # an hour is 60 ticks: no cap reached here

    def ticks(count: int) -> list[int]:
        """The ticks, of ``count``, that submitted a job (each waited for)."""
        submitted = []
        for tick in range(count):
            before = schedule.last_job_id
            schedule._tick()
            if schedule.last_job_id not in (None, before):
                submitted.append(tick)
                deadline = time.monotonic() + 30
                while _job(engine, schedule.last_job_id).status in UNFINISHED_JOB:
                    assert time.monotonic() < deadline
                    time.sleep(0.01)
        return submitted

    try:
        assert ticks(16) == [0, 2, 6, 14]  # after 1, 2, 3 failures in a row: 1, 3, 7 ticks pass
        assert schedule.failures == 4  # told at the last tick, the first of 15 to pass
        outcome["fails"] = False
        assert ticks(16) == [14, 15]  # then a job that succeeds: every tick again
        assert schedule.failures == 0
        outcome["fails"] = True
        ticks(2)  # one failure: the tick after it passes
        assert schedule.failures == 1
        schedule.ready = lambda: False  # nothing to do meanwhile: a later failure is counted from the start (review)
        assert ticks(1) == [] and schedule.failures == 0
    finally:
        runner.shutdown()


def test_the_runner_keeps_nothing_of_the_jobs_that_ended(engine):
    """The runner kept each job's future for the life of the process (2,000 of 2,000 held after a soak test)."""
    runner = ThreadJobRunner(engine)
    try:
        job_ids = [runner.submit("send_due", lambda progress: {}) for _ in range(20)]
        for job_id in job_ids:
            runner.wait(job_id, timeout=30)
        deadline = time.monotonic() + 10
        while runner._futures and time.monotonic() < deadline:  # the last one's callback may still be running
            time.sleep(0.01)
        assert runner._futures == {}
        assert {_job(engine, job_id).status for job_id in job_ids} == {"succeeded"}
    finally:
        runner.shutdown()


def test_a_campaign_s_jobs_name_it_and_are_listed_by_it(client, mail_server, monkeypatch):
    """A client that retried a send could not tell which of the send jobs listed was its campaign's: a job showed
    no campaign."""
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(mail_server[0].port))
    body = {"name": "Jobs", "brand": "hearth", "campaign_type": "cross_sell"}
    first, second = (client.post("/campaigns", json=body).json()["id"] for _ in range(2))
    sends = {
        campaign_id: client.post(f"/campaigns/{campaign_id}/send").json()["job_id"] for campaign_id in (first, second)
    }
    for campaign_id, job_id in sends.items():
        job = wait_for_job(client, job_id)
        assert (job["status"], job["campaign_id"]) == ("succeeded", campaign_id)
    listed = client.get("/jobs", params={"kind": "send", "campaign_id": second}).json()
    assert [(job["id"], job["campaign_id"]) for job in listed] == [(sends[second], second)]
    assert client.get("/jobs", params={"campaign_id": first}).json()[0]["id"] == sends[first]
    trained = client.post("/train").json()["job_id"]  # a job about no campaign says so
    assert client.get(f"/jobs/{trained}").json()["campaign_id"] is None
    refused = client.get("/jobs", params={"campaign_id": 0})
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "query.campaign_id"


def test_a_running_job_asked_to_stop_is_listed_as_the_cancelling_job_it_shows(client):
    """Right after POST /jobs/{id}/cancel, `?status=cancelling` answered [] while `?status=running` listed the job
    showing "cancelling": the list filtered the rows, which this process had not told."""
    started, release = threading.Event(), threading.Event()

    def waiting(progress) -> dict:
        started.set()
        release.wait(30)
        progress(1, 2, "after the long step")  # where it learns that it was asked to stop
        return {}

    runner = client.app.state.tailor.jobs
    job_id = runner.submit("train", waiting)
    try:
        assert started.wait(timeout=10)
        assert client.post(f"/jobs/{job_id}/cancel").json()["status"] == "cancelling"

        def listed(status: str) -> list[tuple[str, str]]:
            return [(job["id"], job["status"]) for job in client.get("/jobs", params={"status": status}).json()]

        assert listed("cancelling") == [(job_id, "cancelling")]
        assert listed("running") == []
    finally:
        release.set()
    runner.wait(job_id, timeout=30)
    assert client.get("/jobs", params={"status": "cancelling"}).json() == []
    assert [job["id"] for job in client.get("/jobs", params={"status": "cancelled"}).json()] == [job_id]


def _generating_campaign(client, name: str) -> int:
    """A campaign marked generating, as a generate job's start leaves it."""
    from service.db.models import Campaign

    campaign_id = client.post("/campaigns", json={"name": name, "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(client.app.state.tailor.engine) as session:
        session.get(Campaign, campaign_id).status = "generating"
    return campaign_id


def test_a_job_whose_command_was_killed_is_failed_by_cancelling_it_or_by_the_sweep(client, engine):
    """`tailor generate` killed while a server ran left its job running and its campaign generating until the
    server restarted: cancelling only marked it cancelling, and every erasure and generate was refused meanwhile."""
    import socket
    import subprocess
    import sys

    from service.jobs.recovery import INTERRUPTED
    from service.jobs.runner import sweep_jobs

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process of this host that no longer runs
    killed = f"{socket.gethostname()}:{gone.pid}:b00t"
    first, second, unrelated = (_generating_campaign(client, name) for name in ("a", "b", "c"))
    with session_scope(engine) as session:
        for job_id, campaign_id in (("cli-1", first), ("cli-2", second)):
            session.add(Job(id=job_id, kind="generate", status="running", worker=killed, campaign_id=campaign_id))

    cancelled = client.post("/jobs/cli-1/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "failed", cancelled.json()
    assert cancelled.json()["error"] == INTERRUPTED
    assert client.get(f"/campaigns/{first}").json()["status"] == "failed"
    assert _job(engine, "cli-2").status == "failed"  # the same sweep found the other one
    assert client.get(f"/campaigns/{second}").json()["status"] == "failed"
    # A campaign marked generating whose job is not queued yet (the API's moment between the two) is left alone.
    assert client.get(f"/campaigns/{unrelated}").json()["status"] == "generating"
    assert sweep_jobs(engine) == []


def test_the_sweep_fails_a_job_of_this_process_it_no_longer_has_but_not_one_it_runs(client, engine):
    from service.jobs.runner import sweep_jobs

    lost_campaign = _generating_campaign(client, "lost")
    with session_scope(engine) as session:
        session.add(Job(id="lost", kind="generate", status="running", worker=worker_name(), campaign_id=lost_campaign))
    release = threading.Event()
    runner = ThreadJobRunner(engine)
    try:
        running = runner.submit("hold", lambda progress: {"held": release.wait(30)})
        queued = runner.submit("count", counting, steps=2)
        assert sweep_jobs(engine) == ["lost"]
        assert client.get(f"/campaigns/{lost_campaign}").json()["status"] == "failed"
        release.set()
        runner.wait(running, timeout=30)
        runner.wait(queued, timeout=30)
        assert _job(engine, running).status == _job(engine, queued).status == "succeeded"
    finally:
        release.set()
        runner.shutdown()


def test_a_job_ending_the_database_could_not_take_is_written_by_the_next_sweep(engine):
    """A job that ended while the database could not be written (PostgreSQL stopped for a moment) was logged as
    failed but stayed running for the life of the process."""
    from service.jobs.runner import sweep_jobs

    def ends_while_the_jobs_table_is_gone(progress) -> dict:
        progress(1, 2, "half way")
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE jobs RENAME TO jobs_away")
        return {"done": True}

    runner = InlineJobRunner(engine)
    job_id = runner.submit("count", ends_while_the_jobs_table_is_gone)
    assert runner.last_result == {"done": True}
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE jobs_away RENAME TO jobs")
    assert (_job(engine, job_id).status, _job(engine, job_id).done) == ("running", 1)
    assert sweep_jobs(engine) == [job_id]  # its ending written, to announce; not failed as lost
    written = _job(engine, job_id)
    assert (written.status, written.result, written.done, written.total) == ("succeeded", {"done": True}, 2, 2)


def test_a_campaign_left_generating_by_an_ending_written_late_is_failed_by_a_later_sweep_if_not_by_that_one(engine):
    """A sweep wrote a generation's ending late (the database was away when it ended, and its campaign stayed
    "generating"), but another process held SQLite's writer, so recovery did not look in that sweep: the sweep
    dropped the job from those whose campaigns it fails, and the campaign stayed "generating", refusing to be
    generated again, exported or deleted, until the server started again."""
    from sqlalchemy import event

    from service.campaigns import ensure_brand
    from service.db.models import Campaign
    from service.jobs.runner import sweep_jobs

    with session_scope(engine) as session:
        campaign = Campaign(
            name="late", brand=ensure_brand(session, "hearth"), campaign_type="vip", status="generating"
        )
        session.add(campaign)
        session.flush()
        campaign_id = campaign.id

    def ends_while_the_database_is_away(progress, campaign_id: int) -> dict:
        progress(1, 2, "half way")
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE jobs RENAME TO jobs_away")
        return {}  # its campaign not made ready either: the database was away

    job_id = InlineJobRunner(engine).submit("generate", ends_while_the_database_is_away, campaign_id=campaign_id)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE jobs_away RENAME TO jobs")
    writer = engine.raw_connection()  # another process's import, which takes the one writer once the ending is written

    def another_process_writes(_connection, _cursor, statement, *_args) -> None:
        if statement == "BEGIN IMMEDIATE" and not writer.driver_connection.in_transaction:  # recovery's first try
            writer.driver_connection.execute("BEGIN IMMEDIATE")

    event.listen(engine, "before_cursor_execute", another_process_writes)
    try:
        assert sweep_jobs(engine) == [job_id]  # its ending written, to announce
    finally:
        event.remove(engine, "before_cursor_execute", another_process_writes)
        writer.driver_connection.execute("ROLLBACK")
        writer.close()
    assert _job(engine, job_id).status == "succeeded"  # its ending, written late
    with session_scope(engine) as session:
        assert session.get(Campaign, campaign_id).status == "generating"  # not looked at yet
    assert sweep_jobs(engine) == []
    with session_scope(engine) as session:
        assert session.get(Campaign, campaign_id).status == "failed"


def test_the_server_sweeps_its_jobs_while_it_runs(engine, api_key, monkeypatch):
    from fastapi.testclient import TestClient

    from service.app import create_app

    monkeypatch.setenv("TAILOR_JOBS_SWEEP_SECONDS", "0.2")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}):
        with session_scope(engine) as session:
            session.add(Job(id="lost-later", kind="train", status="running", worker=worker_name()))
        deadline = time.monotonic() + 10
        while _job(engine, "lost-later").status == "running":
            assert time.monotonic() < deadline, "no sweep failed the job"
            time.sleep(0.1)
    assert _job(engine, "lost-later").status == "failed"


def test_finished_jobs_and_audience_snapshots_older_than_the_kept_days_go_as_new_ones_are_made(
    engine, demo_files, monkeypatch
):
    """Neither was ever deleted: a shop that imports and sends every day made thousands of jobs a year, each with
    its result, and a snapshot per audience refresh."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.db.models import AudienceSnapshot
    from service.importing import import_file
    from service.pipeline.training import refresh_audience

    monkeypatch.setenv("TAILOR_JOBS_KEEP_DAYS", "30")
    long_ago = utcnow() - timedelta(days=31)
    with session_scope(engine) as session:
        for status in ("succeeded", "failed", "cancelled", "running", "queued"):
            session.add(Job(id=f"old-{status}", kind="send", status=status, created_at=long_ago, updated_at=long_ago))
        session.add(Job(id="recent", kind="train", status="succeeded", created_at=utcnow() - timedelta(days=29)))
        for kind in ("customers", "products", "orders"):
            import_file(session, kind, demo_files[kind])
        session.add(AudienceSnapshot(as_of=long_ago.date(), horizon_days=90, segments=[], computed_at=long_ago))

    _create_job(engine, "send")
    with session_scope(engine) as session:
        kept = set(session.scalars(select(Job.id)))
    assert {"old-running", "old-queued", "recent"} <= kept and not kept & {
        "old-succeeded",
        "old-failed",
        "old-cancelled",
    }

    refresh_audience(engine)
    with session_scope(engine) as session:
        snapshots = session.scalars(select(AudienceSnapshot.computed_at)).all()
    assert len(snapshots) == 1 and snapshots[0] > long_ago  # the one just made: GET /segments serves it

    monkeypatch.setenv("TAILOR_JOBS_KEEP_DAYS", "0")  # kept for ever
    with session_scope(engine) as session:
        session.add(Job(id="ancient", kind="train", status="succeeded", created_at=long_ago))
    _create_job(engine, "send")
    with session_scope(engine) as session:
        assert session.get(Job, "ancient") is not None


def test_a_job_whose_announcement_is_owed_outlives_the_kept_days_until_it_has_been_owed_that_long(engine, monkeypatch):
    """With few days kept, a job that ended before them and whose announcement was still owed (the webhook down, or
    its ending written late) was deleted with it, and the announcement was never made, nothing logged."""
    from datetime import timedelta

    from service.clock import utcnow

    monkeypatch.setenv("TAILOR_JOBS_KEEP_DAYS", "1")
    long_ago, now = utcnow() - timedelta(days=2), utcnow()
    with session_scope(engine) as session:
        for name, owed_since in (("owed-now", now), ("owed-long", long_ago), ("announced", None)):
            session.add(
                Job(
                    id=name, kind="send", status="succeeded", created_at=long_ago, updated_at=long_ago,
                    announcement_pending_since=owed_since, announcement_next_at=owed_since,
                )
            )  # fmt: skip
    _create_job(engine, "send")
    with session_scope(engine) as session:
        kept = set(session.scalars(select(Job.id).where(Job.id.in_(["owed-now", "owed-long", "announced"]))))
    assert kept == {"owed-now"}


def test_a_job_is_deleted_by_when_it_ended_and_the_latest_training_outlives_the_kept_days(engine, monkeypatch):
    """Deleted by its creation alone, a job that had run long went the moment it ended, and the latest training's
    job went with the scheduled retrain's own creation, so that it never found the data marker it skips by; a
    TAILOR_JOBS_KEEP_DAYS beyond the calendar (1000000) failed every job's creation."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.pipeline.training import data_marker, last_training_marker

    monkeypatch.setenv("TAILOR_JOBS_KEEP_DAYS", "1")
    long_ago, marker = utcnow() - timedelta(days=2), data_marker(engine)
    with session_scope(engine) as session:
        result = {"skipped": True, "data_marker": marker}
        session.add(Job(id="trained", kind="retrain", status="succeeded", created_at=long_ago, updated_at=long_ago,
                        result=result))  # fmt: skip
        session.add(Job(id="ran-long", kind="import", status="succeeded", created_at=long_ago, updated_at=utcnow()))
    _create_job(engine, "retrain")
    assert last_training_marker(engine) == marker
    with session_scope(engine) as session:
        assert session.get(Job, "ran-long") is not None

    monkeypatch.setenv("TAILOR_JOBS_KEEP_DAYS", "1000000")
    _create_job(engine, "send")


def test_a_job_of_another_host_whose_row_stopped_moving_an_hour_ago_is_failed_and_frees_its_campaign(engine):
    """A host that died, or a container replaced by a redeploy (a new hostname), never fails its own jobs: a job of
    another host whose row has not moved for an hour is failed by the sweep, and a cancellation of it fails it at
    once, rather than leaving it 'cancelling' and its campaign 'generating' for good."""
    from datetime import timedelta

    from service.campaigns import ensure_brand
    from service.clock import utcnow
    from service.db.models import Campaign
    from service.jobs.recovery import INTERRUPTED
    from service.jobs.runner import sweep_jobs

    with session_scope(engine) as session:
        campaign = Campaign(
            name="stuck", brand=ensure_brand(session, "hearth"), campaign_type="win_back", status="generating"
        )
        session.add(campaign)
        session.flush()
        old = utcnow() - timedelta(hours=2)
        session.add(Job(id="dead-host", kind="generate", status="running", worker="web-2:7:0123456789ab",
                        campaign_id=campaign.id, created_at=old, updated_at=old))  # fmt: skip
        session.add(Job(id="live-host", kind="train", status="running", worker="web-3:8:0123456789ab"))
        session.add(Job(id="queued-behind", kind="train", status="queued", worker="web-3:8:0123456789ab",
                        created_at=old, updated_at=old))  # fmt: skip
        campaign_id = campaign.id
    assert sweep_jobs(engine) == ["dead-host"]
    assert (_job(engine, "dead-host").status, _job(engine, "dead-host").error) == ("failed", INTERRUPTED)
    assert _job(engine, "live-host").status == "running"
    assert _job(engine, "queued-behind").status == "queued"  # a live host's queue: waiting is not dying
    with session_scope(engine) as session:
        assert session.get(Campaign, campaign_id).status == "failed"


def test_a_job_whose_pid_is_another_live_process_s_now_is_failed(engine):
    """A job is known by its process's pid: after a reboot, or a container's restart, that pid was often another
    live process's (a kernel thread, the new server's own), and the job stayed "running" for good, its campaign
    refused every action."""
    import socket
    import subprocess

    from service.jobs.recovery import fail_interrupted_jobs, process_start

    other = subprocess.Popen(["sleep", "60"])
    try:
        started = process_start(other.pid)
        if started is None:
            pytest.skip("this system's /proc does not tell when a process started")
        workers = {"its own": started, "of a process before it": started.rsplit("_", 1)[0] + "_1"}
        jobs = {}
        with session_scope(engine) as session:
            for whose, start in workers.items():
                worker = f"{socket.gethostname()}:{other.pid}:{start}"
                jobs[whose] = job = Job(id=f"job {whose}", kind="train", status="running", worker=worker)
                session.add(job)
                session.flush()
            ids = {whose: job.id for whose, job in jobs.items()}
        assert fail_interrupted_jobs(engine) == [ids["of a process before it"]]
        assert _job(engine, ids["its own"]).status == "running"  # its process runs
    finally:
        other.kill()
        other.wait()


def test_a_campaign_left_generating_is_failed_at_start_though_a_command_generates_another(engine):
    """Started while a command generated another campaign, the server failed the interrupted generate job but not
    its campaign, which stayed "generating" for good: generating it again, sending or deleting it answered 409, and
    its job could not be cancelled, having failed."""
    from service.campaigns import ensure_brand
    from service.db.models import Campaign
    from service.jobs.recovery import fail_interrupted_jobs

    with session_scope(engine) as session:
        brand = ensure_brand(session, "hearth")
        left, meanwhile = (
            Campaign(name=name, brand=brand, campaign_type="win_back", status="generating")
            for name in ("left by a killed server", "generated by a command now")
        )
        session.add_all([left, meanwhile])
        session.flush()
        gone = f"{worker_name().split(':')[0]}:999999999:x"  # this host, a pid no process has
        dead = Job(id="killed", kind="generate", status="running", campaign_id=left.id, worker=gone)
        running = Job(id="running", kind="generate", status="running", campaign_id=meanwhile.id, worker=worker_name())
        session.add_all([dead, running])
        session.flush()
        ids = (left.id, meanwhile.id, dead.id)
    assert fail_interrupted_jobs(engine) == [ids[2]]
    with session_scope(engine) as session:
        assert [session.get(Campaign, i).status for i in ids[:2]] == ["failed", "generating"]


@pytest.mark.parametrize("interval", [1e300, float("inf")])
def test_a_schedule_longer_than_the_clock_can_wait_waits_without_dying(interval):
    """TAILOR_SEND_DUE_CHECK_MINUTES=1e300 (or an interval in hours whose seconds overflow to inf) passed the
    settings, and the schedule's thread died at start with an OverflowError traceback."""
    from service.jobs.schedule import PeriodicCall

    calls: list[int] = []
    died: list[BaseException] = []
    hook, threading.excepthook = threading.excepthook, lambda args: died.append(args.exc_value)
    try:
        schedule = PeriodicCall("far-off", lambda: calls.append(1), interval)
        schedule.start()
        time.sleep(0.3)
        assert [t.name for t in threading.enumerate()].count("tailor-every-far-off") == 1
        schedule.stop()
    finally:
        threading.excepthook = hook
    assert (died, calls) == ([], [])
    assert "tailor-every-far-off" not in [t.name for t in threading.enumerate()]


def _stepping(progress) -> dict:
    """A long job that reports between its steps, as a training does."""
    for step in range(100_000):
        progress(step, 100_000, "stepping")
        time.sleep(0.01)
    return {}


def test_a_grace_period_longer_than_the_clock_can_wait_still_stops_the_jobs(engine):
    """TAILOR_JOBS_SHUTDOWN_GRACE_SECONDS=1e300 passed the settings, and the server's shutdown ended in an
    OverflowError traceback instead of stopping its running job."""
    from service.jobs.recovery import INTERRUPTED

    runner = ThreadJobRunner(engine)
    job_id = runner.submit("train", _stepping)
    deadline = time.monotonic() + 10
    while _job(engine, job_id).status != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert runner.shutdown(grace_seconds=1e300) == []
    assert (_job(engine, job_id).status, _job(engine, job_id).error) == ("failed", INTERRUPTED)
