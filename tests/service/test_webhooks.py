"""TAILOR_WEBHOOK_URL: every job that ends is POSTed to a receiver (a real HTTP server on loopback here), signed
with TAILOR_WEBHOOK_SECRET, tried again when the receiver fails, and never in the way of the job."""

from __future__ import annotations

import json
import os
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from service.jobs.webhooks import signature
from tests import forked_cli
from tests.conftest import free_port
from tests.service.conftest import wait_for_job
from tests.service.test_importing import CUSTOMERS
from tests.service.test_imports_background import _in_background

SECRET = "s3cret-for-tests"


class _Receiver(BaseHTTPRequestHandler):
    """Keeps each delivery (headers, parsed body); answers 500 to the first `failing` ones, each after `delay` s."""

    deliveries: list[dict] = []
    failing = 0
    failure = 500
    delay = 0.0

    def do_POST(self):  # noqa: N802 (the standard library's name)
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).deliveries.append({"headers": dict(self.headers), "raw": raw, "body": json.loads(raw)})
        time.sleep(self.delay)
        failed = len(self.deliveries) <= self.failing
        self.send_response(self.failure if failed else 204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(monkeypatch):
    _Receiver.deliveries, _Receiver.failing, _Receiver.failure, _Receiver.delay = [], 0, 500, 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://127.0.0.1:{server.server_address[1]}/tailor-events")
    monkeypatch.setenv("TAILOR_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("TAILOR_WEBHOOK_RETRY_SECONDS", "0.05")
    yield _Receiver
    server.shutdown()


def _delivered(count: int, timeout: float = 20) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(_Receiver.deliveries) < count:
        assert time.monotonic() < deadline, _Receiver.deliveries
        time.sleep(0.05)
    return _Receiver.deliveries


def test_ended_jobs_are_posted_signed_to_the_webhook(client, receiver):
    """A marketing tool had to poll GET /jobs/{id} to learn that an import, a training or a send had ended."""
    imported = _in_background(client, "customers", CUSTOMERS)
    assert imported["status"] == "succeeded"
    (delivery,) = _delivered(1)
    assert delivery["headers"]["X-Tailor-Event"] == "job.ended"
    assert delivery["headers"]["X-Tailor-Signature"] == signature(SECRET, delivery["raw"])
    job = delivery["body"]["job"]
    assert delivery["body"]["event"] == "job.ended"
    assert (job["id"], job["kind"], job["status"]) == (imported["id"], "import", "succeeded")
    assert job["result"] == imported["result"] and job["error"] is None

    failed = wait_for_job(client, client.post("/train").json()["job_id"])  # no orders yet: the job fails
    assert failed["status"] == "failed"
    job = _delivered(2)[1]["body"]["job"]
    assert (job["id"], job["status"], job["error"]) == (failed["id"], "failed", failed["error"])
    assert "import orders first" in job["error"]


def _sweep_once_due(engine, timeout: float = 20) -> None:
    """The server's sweep as to the webhook (``deliver_pending``), once an announcement kept is due."""
    from sqlalchemy import func, select

    from service.db.clock import now_in_database
    from service.db.models import Job
    from service.db.session import session_scope
    from service.jobs.webhooks import deliver_pending

    deadline = time.monotonic() + timeout
    while True:
        with session_scope(engine) as session:
            due = Job.announcement_pending_since.is_not(None), Job.announcement_next_at <= now_in_database(session)
            if session.scalar(select(func.count()).select_from(Job).where(*due)):
                break
        assert time.monotonic() < deadline, "no announcement kept is due"
        time.sleep(0.05)
    deliver_pending(engine)


def test_a_failing_receiver_is_tried_again_and_never_fails_the_job(client, engine, receiver, monkeypatch):
    receiver.failing = 2  # two 500s, then it takes it
    assert _in_background(client, "customers", CUSTOMERS)["status"] == "succeeded"
    assert len(_delivered(1)) == 1  # the server's one try; kept for its sweep
    _sweep_once_due(engine)
    _sweep_once_due(engine)
    deliveries = _delivered(3)
    assert len({d["raw"] for d in deliveries}) == 1  # the same announcement, three times
    assert _pending(engine) == []

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/nobody")  # nothing listens
    assert _in_background(client, "customers", CUSTOMERS)["status"] == "succeeded"


@pytest.mark.parametrize("status", [429, 408, 404])
def test_a_receiver_busy_slow_or_refusing_is_tried_once_then_again_by_the_sweep(client, engine, receiver, status):
    """A 429 (rate limited) or 408 was taken for a refusal, like a 404, and never tried again. Each is tried once when
    its job ends, and again by the sweep (a receiver that refused may be set right meanwhile)."""
    receiver.failing, receiver.failure = 2, status
    assert _in_background(client, "customers", CUSTOMERS)["status"] == "succeeded"
    _delivered(1)
    time.sleep(0.3)  # the server's tries were 0.05 s and 0.1 s apart
    assert len(receiver.deliveries) == 1
    _sweep_once_due(engine)
    _sweep_once_due(engine)
    assert len(_delivered(3)) == 3 and _pending(engine) == []


def test_the_command_line_announces_its_jobs_before_it_returns(tailor_home, receiver):
    from typer.testing import CliRunner

    from service.cli import app

    result = CliRunner().invoke(app, ["train"])
    assert result.exit_code != 0  # nothing to learn from: the job fails, and the tool hears of it
    (delivery,) = receiver.deliveries  # already delivered: no waiting
    assert delivery["body"]["job"]["kind"] == "train" and delivery["body"]["job"]["status"] == "failed"


def test_a_url_with_credentials_authenticates_and_the_log_shows_neither_them_nor_its_query(
    client, receiver, monkeypatch, caplog
):
    """A user and password in TAILOR_WEBHOOK_URL were taken for part of the host name (never delivered, logged as a
    name not found), and the log line of a failed delivery carried the URL whole: password and token."""
    import base64
    import logging
    from urllib.parse import urlsplit

    port = urlsplit(os.environ["TAILOR_WEBHOOK_URL"]).port  # the receiver's
    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://hook%40user:p%3Ass@127.0.0.1:{port}/tailor-events?token=abc")
    assert _in_background(client, "customers", CUSTOMERS)["status"] == "succeeded"
    (delivery,) = _delivered(1)
    assert delivery["headers"]["Authorization"] == "Basic " + base64.b64encode(b"hook@user:p:ss").decode()

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://hook:pw-secret@127.0.0.1:{free_port()}/x?token=tok-secret")
    with caplog.at_level(logging.WARNING, logger="tailor.jobs"):
        assert _in_background(client, "customers", CUSTOMERS)["status"] == "succeeded"
        deadline = time.monotonic() + 20
        while "webhook not delivered" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.1)
    (line,) = [r for r in caplog.records if r.getMessage() == "webhook not delivered"]
    assert line.url.startswith("http://127.0.0.1:") and line.url.endswith("/x?***")
    assert "pw-secret" not in caplog.text and "tok-secret" not in caplog.text


def test_the_credentials_go_to_the_configured_receiver_alone(client, receiver, monkeypatch):
    """A receiver that redirected the call had the user and password sent on to the host it named."""
    elsewhere: list[dict] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name; a 302 turns the POST into a GET)
            elsewhere.append(dict(self.headers))
            self.send_response(204)
            self.end_headers()

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    threading.Thread(target=other.serve_forever, daemon=True).start()

    class Redirects(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{other.server_address[1]}/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    redirecting = ThreadingHTTPServer(("127.0.0.1", 0), Redirects)
    threading.Thread(target=redirecting.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://user:s3cret@127.0.0.1:{redirecting.server_address[1]}/hook")
        assert _in_background(client, "customers", CUSTOMERS)["status"] == "succeeded"
        deadline = time.monotonic() + 20
        while not elsewhere and time.monotonic() < deadline:
            time.sleep(0.05)
        assert elsewhere and "Authorization" not in elsewhere[0]
    finally:
        other.shutdown()
        redirecting.shutdown()


def test_a_job_its_process_left_unfinished_is_announced_once_failed(engine, receiver):
    """A send killed with its server was failed as interrupted at the next start, and never announced: a marketing
    tool waiting for its end waited for ever."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.db.models import Job
    from service.db.session import session_scope
    from service.jobs.recovery import INTERRUPTED, worker_name

    with session_scope(engine) as session:  # this host, a pid no process has: the server that ran it was killed
        session.add(
            Job(id="killed", kind="send", status="running", worker=f"{worker_name().split(':')[0]}:999999999:x")
        )
    with TestClient(create_app(engine)):
        (delivery,) = _delivered(1)
    job = delivery["body"]["job"]
    assert (job["id"], job["status"], job["error"]) == ("killed", "failed", INTERRUPTED)
    assert delivery["headers"]["X-Tailor-Signature"] == signature(SECRET, delivery["raw"])


ON_A_HOST_THAT_STALLS = """
import socket, sys, time
from pathlib import Path
socket.gethostname = lambda: "web-4"
from service.jobs import heartbeat
heartbeat.HEARTBEAT_SECONDS = float(sys.argv[2])
from service.db.session import make_engine
from service.jobs import ThreadJobRunner

engine = make_engine(sys.argv[1])

def trains_through_a_stall(progress):
    progress(0, 1, "training")
    heartbeat.job_beats(engine).every = 3600  # its beats stop, as in a stall: the job goes on
    print("stalled", flush=True)
    while not Path(sys.argv[3]).exists():
        time.sleep(0.05)
    return {"trained": True}

runner = ThreadJobRunner(engine)
job_id = runner.submit("train", trains_through_a_stall)
print(job_id, flush=True)
runner.wait(job_id, timeout=60)
runner.shutdown()
"""


def _why_it_did_not_stall(host, engine, job_id: str) -> str:
    """What became of a host process that ended before its job reached its stall: its exit status (a negative one,
    the signal that killed it) and the job's row, for a failure to say which it was."""
    from service.db.models import Job
    from service.db.session import session_scope

    with session_scope(engine) as session:
        job = session.get(Job, job_id) if job_id else None
        row = job and (job.status, job.error, job.message)
    return f"the host process ended first: exit status {host.wait(timeout=60)}, job {job_id or '(none printed)'}: {row}"


def test_a_job_failed_as_interrupted_while_it_still_ran_ends_as_it_did_announced_as_a_correction(
    any_engine, receiver, monkeypatch, tmp_path
):
    """A live job whose beats were missed (its process stalled, or the database was away, longer than they allow)
    was failed as interrupted by another process, and announced so; its own ending then overwrote "failed" and was
    announced again as if it were the first, the receiver none the wiser. Its ending still wins (its work was
    done), and its second announcement names the ending it corrects."""
    import signal
    import subprocess
    import sys

    from service.db.models import Job
    from service.db.session import session_scope
    from service.jobs import heartbeat
    from service.jobs.recovery import interrupted
    from service.jobs.runner import sweep_jobs
    from service.jobs.webhooks import announce_job

    engine, beat = any_engine, 0.2
    monkeypatch.setattr(heartbeat, "HEARTBEAT_SECONDS", beat)
    url, go_on = engine.url.render_as_string(hide_password=False), tmp_path / "go-on"
    host = forked_cli.popen(
        [sys.executable, "-c", ON_A_HOST_THAT_STALLS, url, str(beat), str(go_on)], stdout=subprocess.PIPE, text=True
    )
    try:
        job_id = host.stdout.readline().strip()
        assert host.stdout.readline().strip() == "stalled", _why_it_did_not_stall(host, engine, job_id)
        time.sleep(5 * beat)
        assert sweep_jobs(engine) == [job_id]
        assert announce_job(engine, job_id) is True  # as whoever fails it announces it
        go_on.touch()
        assert host.wait(timeout=60) == 0
    finally:
        if host.poll() is None:
            host.send_signal(signal.SIGKILL)
            host.wait()

    failed, ended = (delivery["body"] for delivery in _delivered(2))
    assert (failed["job"]["status"], failed["job"]["error"], "corrects" in failed) == (
        "failed", interrupted("train"), False
    )  # fmt: skip
    assert (ended["job"]["status"], ended["job"]["result"], ended["job"]["error"]) == (
        "succeeded", {"trained": True}, None
    )  # fmt: skip
    assert ended["corrects"] == {"status": "failed", "error": interrupted("train")}
    with session_scope(engine) as session:
        assert session.get(Job, job_id).status == "succeeded"


def test_a_job_ending_the_database_could_not_take_is_announced_once_the_sweep_writes_it(engine, receiver):
    """A job that ended while the database was away was announced at once, read as it was ("running", as if that
    were its ending) or not at all, and its ending, written by a later sweep, never."""
    from service.jobs import ThreadJobRunner
    from service.jobs.runner import sweep_jobs

    def ends_while_the_jobs_table_is_gone(progress) -> dict:
        progress(1, 2, "half way")
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE jobs RENAME TO jobs_away")
        return {"done": True}

    runner = ThreadJobRunner(engine)
    try:
        job_id = runner.submit("train", ends_while_the_jobs_table_is_gone)
        runner.wait(job_id, timeout=30)
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE jobs_away RENAME TO jobs")
        runner.announce(sweep_jobs(engine))  # as the server's sweep does
    finally:
        runner.shutdown()  # its deliveries made
    assert [(d["body"]["job"]["id"], d["body"]["job"]["status"]) for d in receiver.deliveries] == [
        (job_id, "succeeded")
    ]


class _NotHttp(socketserver.BaseRequestHandler):
    """Answers a line that is not HTTP (a port some other service listens on)."""

    def handle(self):
        self.request.recv(65536)
        self.request.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


def _a_job_announced_to(engine, url: str, monkeypatch, caplog) -> tuple[str, list]:
    """Run a job on the server's runner with TAILOR_WEBHOOK_URL at ``url``; its id, and the log's undelivered lines."""
    import logging

    from service.jobs import ThreadJobRunner

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", url)
    runner = ThreadJobRunner(engine)
    with caplog.at_level(logging.WARNING, logger="tailor.jobs"):
        job_id = runner.submit("train", lambda progress: {"trained": True})
        runner.wait(job_id, timeout=30)
        runner.shutdown()  # its deliveries tried
    return job_id, [r for r in caplog.records if r.getMessage() == "webhook not delivered"]


def test_a_receiver_that_fails_is_logged_naming_its_url_the_event_the_job_and_why(
    engine, receiver, monkeypatch, caplog
):
    """A shop whose endpoint answered 500 or was down saw one line with the URL and the error; one whose endpoint
    answered what is not HTTP, or whose URL had no scheme, saw nothing at all (the server's delivery thread dropped
    the exception), and the line never named the event it failed to deliver."""
    port = urlsplit(os.environ["TAILOR_WEBHOOK_URL"]).port
    receiver.failing = 1
    job_id, (line,) = _a_job_announced_to(engine, f"http://127.0.0.1:{port}/hook?token=t0k", monkeypatch, caplog)
    assert (line.job_id, line.webhook_event, line.url, line.tries) == (
        job_id,
        "job.ended",
        f"http://127.0.0.1:{port}/hook?***",
        1,
    )
    assert line.error == "HTTP 500" and len(receiver.deliveries) == 1
    caplog.clear()

    closed = free_port()
    job_id, (line,) = _a_job_announced_to(engine, f"http://127.0.0.1:{closed}/hook", monkeypatch, caplog)
    assert (line.job_id, line.url, line.tries) == (job_id, f"http://127.0.0.1:{closed}/hook", 1)
    assert "refused" in line.error.lower()
    caplog.clear()

    not_http = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _NotHttp)
    threading.Thread(target=not_http.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{not_http.server_address[1]}/hook"
        job_id, (line,) = _a_job_announced_to(engine, url, monkeypatch, caplog)
    finally:
        not_http.shutdown()
    assert (line.job_id, line.url, line.tries) == (job_id, url, 1)
    assert line.error.startswith("BadStatusLine")
    caplog.clear()

    # A URL without a scheme (a server refuses to start with it): why, naming the variable, without its secrets.
    url = "crm:pa55@hooks.example.test/tailor?token=tok-secret"
    job_id, (line,) = _a_job_announced_to(engine, url, monkeypatch, caplog)
    assert line.job_id == job_id and "tok-secret" not in line.error and "pa55" not in line.error
    assert line.error == (
        "the environment is not valid: TAILOR_WEBHOOK_URL='***@hooks.example.test/tailor?***': is not an http:// or "
        "https:// address (e.g. https://crm.example/hooks/tailor)"
    )


def test_a_url_written_without_its_scheme_keeps_its_password_out_of_the_log(engine, monkeypatch, caplog):
    """ "user:password@host/hook" with the https:// left out reads as the scheme "user", its password in the path, and
    the warning showed the URL whole: the password in the server's log."""
    url = "hook-user:pw-s3cret@hooks.example.test/tailor?token=tok-secret"

    job_id, (line,) = _a_job_announced_to(engine, url, monkeypatch, caplog)

    assert line.job_id == job_id and "TAILOR_WEBHOOK_URL='***@hooks.example.test/tailor?***'" in line.error
    shown = getattr(line, "url", "") + line.error
    assert "pw-s3cret" not in shown and "tok-secret" not in shown


def test_a_command_announces_a_job_s_ending_once_written_not_before(engine, receiver, monkeypatch):
    """A command whose job ended while another held the database's write lock announced it at once, read as it was:
    "running", as if that were its ending; the row stayed running until the command exited, then was failed as
    interrupted, though the job had done its work. It tries again a moment later, and announces what it wrote."""
    from service.db import session as database_session
    from service.db.session import make_engine
    from service.jobs import InlineJobRunner

    monkeypatch.setattr(database_session, "BUSY_TIMEOUT_MS", 100)  # how long each write waits for the lock
    command = make_engine(str(engine.url))  # its connections wait BUSY_TIMEOUT_MS
    writer = engine.raw_connection()  # another process's transaction, holding the one write lock

    def ends_while_another_writes(progress) -> dict:
        progress(1, 2, "half way")
        writer.driver_connection.execute("BEGIN IMMEDIATE")
        threading.Timer(0.3, writer.driver_connection.execute, ["ROLLBACK"]).start()
        return {"done": True}

    try:
        InlineJobRunner(command).submit("train", ends_while_another_writes)
    finally:
        time.sleep(0.3)
        writer.close()
        command.dispose()
    assert [(d["body"]["job"]["status"], d["body"]["job"]["result"]) for d in receiver.deliveries] == [
        ("succeeded", {"done": True})
    ]


class _NeverAnswers(socketserver.BaseRequestHandler):
    """Takes the connection and the request, and answers nothing until the test ends (a receiver stuck)."""

    released = threading.Event()

    def handle(self):
        self.request.recv(65536)
        self.released.wait(30)


@pytest.fixture
def stuck_receiver(monkeypatch):
    """The URL of a receiver that never answers; each try waits TAILOR_WEBHOOK_TIMEOUT_SECONDS, here 2 s."""
    _NeverAnswers.released = threading.Event()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _NeverAnswers)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("TAILOR_WEBHOOK_TIMEOUT_SECONDS", "2")
    yield f"http://127.0.0.1:{server.server_address[1]}/stuck"
    _NeverAnswers.released.set()
    server.shutdown()


def _command(*args: str):
    """Run `tailor ARGS` on this test's TAILOR_HOME; its result, how long it took, and its database's pending
    announcements (job id, kind, tries)."""
    from sqlalchemy import select
    from typer.testing import CliRunner

    from service.cli import app
    from service.db.models import Job
    from service.db.session import default_engine, session_scope

    default_engine.cache_clear()  # the command's database is this test's TAILOR_HOME
    started = time.monotonic()
    try:
        result = CliRunner().invoke(app, list(args))
        took = time.monotonic() - started
        with session_scope(default_engine()) as session:
            pending = session.execute(
                select(Job.id, Job.kind, Job.announcement_tries).where(Job.announcement_pending_since.is_not(None))
            ).all()
    finally:
        default_engine.cache_clear()
    return result, took, [tuple(row) for row in pending]


def test_a_command_whose_receiver_never_answers_ends_within_one_try_and_the_next_command_announces_it(
    tailor_home, receiver, stuck_receiver, monkeypatch
):
    """A receiver that took the connection and never answered kept every command waiting about 18 s at its end (three
    tries and their waits), nothing on the screen, and the job's announcement was then lost for good. One try now,
    said on stderr, and what it did not deliver is kept for later: the next command delivers it after its own."""
    answering = os.environ["TAILOR_WEBHOOK_URL"]
    monkeypatch.delenv("TAILOR_WEBHOOK_URL")
    _, alone, _ = _command("train")  # the command's own time, without a webhook (and its imports made once)
    monkeypatch.setenv("TAILOR_WEBHOOK_URL", stuck_receiver)
    result, took, pending = _command("train")
    assert result.exit_code != 0  # nothing to learn from: the job fails
    assert took < alone + 3, (took, alone)  # one try of 2 s, not three and the waits between
    assert "waiting for the webhook http://127.0.0.1:" in result.output
    ((first, kind, tries),) = pending
    assert (kind, tries) == ("train", 1)

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", answering)
    time.sleep(0.2)  # the kept one's wait (TAILOR_WEBHOOK_RETRY_SECONDS, doubled once)
    result, took, pending = _command("train")
    assert result.exit_code != 0 and pending == [] and took < alone + 3, (took, alone)
    announced = [(d["body"]["job"]["kind"], d["body"]["job"]["status"]) for d in receiver.deliveries]
    assert announced == [("train", "failed"), ("train", "failed")]
    assert receiver.deliveries[1]["body"]["job"]["id"] == first  # after the command's own
    assert receiver.deliveries[1]["headers"]["X-Tailor-Signature"] == signature(SECRET, receiver.deliveries[1]["raw"])


def _pending(engine) -> list[tuple]:
    from sqlalchemy import select

    from service.db.models import Job
    from service.db.session import session_scope

    with session_scope(engine) as session:
        rows = session.execute(
            select(Job.id, Job.announcement_tries).where(Job.announcement_pending_since.is_not(None))
        )
        return [tuple(row) for row in rows]


def _kept_waits_over(engine) -> None:
    """Sleep until every announcement kept owed may be tried again: its ``announcement_next_at`` past, by the
    database's clock, as the sweep reads it."""
    from sqlalchemy import func, select

    from service.db.clock import now_in_database
    from service.db.models import Job
    from service.db.session import session_scope

    with session_scope(engine) as session:
        owed = Job.announcement_pending_since.is_not(None)
        next_at = session.scalar(select(func.max(Job.announcement_next_at)).where(owed))
        if next_at is not None:
            time.sleep(max((next_at - now_in_database(session)).total_seconds(), 0) + 0.1)


def test_an_announcement_not_delivered_is_delivered_once_by_the_sweep_or_given_up_after_its_tries(
    any_engine, receiver, monkeypatch, caplog
):
    """The server's delivery that failed its tries was logged and dropped: a marketing tool waiting for the end
    of a send never heard of it, though its receiver was back a minute later. It is kept on the job's row, and the
    sweep delivers it once the receiver answers (once: not again at the next sweep); one never delivered is given up,
    logged, after TAILOR_WEBHOOK_GIVE_UP_AFTER_TRIES tries."""
    import logging

    from service.jobs import ThreadJobRunner

    engine, answering = any_engine, os.environ["TAILOR_WEBHOOK_URL"]
    monkeypatch.setenv("TAILOR_WEBHOOK_GIVE_UP_AFTER_TRIES", "5")

    def sweep() -> None:  # the server's, as to the webhook (service.app)
        _kept_waits_over(engine)  # 0.05 s doubled with each try: a fixed second for each sweep was 7 s a database
        runner = ThreadJobRunner(engine)
        runner.deliver_pending()
        runner.shutdown()  # its deliveries made

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/down")  # nothing listens
    runner = ThreadJobRunner(engine)
    kept = runner.submit("train", lambda progress: {"trained": True})
    runner.wait(kept, timeout=30)
    runner.shutdown()
    assert _pending(engine) == [(kept, 1)]  # its one try, made as it ended

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", answering)
    sweep()
    sweep()
    assert [(d["body"]["job"]["id"], d["body"]["job"]["status"]) for d in receiver.deliveries] == [(kept, "succeeded")]
    assert _pending(engine) == []

    monkeypatch.setenv("TAILOR_WEBHOOK_URL", f"http://127.0.0.1:{free_port()}/down")
    runner = ThreadJobRunner(engine)
    lost = runner.submit("train", lambda progress: {"trained": True})
    runner.wait(lost, timeout=30)
    runner.shutdown()
    with caplog.at_level(logging.WARNING, logger="tailor.jobs"):
        for _ in range(3):
            sweep()
        assert _pending(engine) == [(lost, 4)]
        sweep()
        assert _pending(engine) == []
        sweep()
    (given_up,) = [r for r in caplog.records if r.getMessage() == "webhook given up"]
    assert (given_up.job_id, given_up.tries) == (lost, 5) and "refused" in given_up.error.lower()
    assert len(receiver.deliveries) == 1


class _Silent(socketserver.BaseRequestHandler):
    """Takes the connection and the whole request (its body kept in ``tries``), and answers nothing until the test
    ends: a receiver stuck."""

    tries: list[bytes] = []
    held = threading.Event()
    released = threading.Event()

    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data and (chunk := self.request.recv(65536)):
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        while len(body) < length and (chunk := self.request.recv(65536)):
            body += chunk
        type(self).tries.append(body)
        self.held.set()
        self.released.wait(60)


@pytest.fixture
def silent_receiver():
    """The URL of a receiver that takes each try's connection and request and never answers (``_Silent``)."""
    _Silent.tries, _Silent.held, _Silent.released = [], threading.Event(), threading.Event()
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Silent)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/silent"
    _Silent.released.set()
    server.shutdown()


@pytest.mark.parametrize("killed", ["command", "server"])
def test_an_announcement_whose_process_is_killed_during_its_first_try_is_delivered_by_the_next(
    engine, api_key, tailor_home, receiver, silent_receiver, killed
):
    """An announcement was kept on its job's row only once a try had failed: a command or server killed (SIGKILL, a
    power cut) before or during its first try left nothing saying it was owed, and it was never delivered. It is
    owed from the moment the job's ending is written; the process making the first try holds it meanwhile (another's
    sweep leaves it alone), and once that try's time is past, the next process delivers the same body."""
    import signal

    import httpx
    from sqlalchemy import select

    from service.db.clock import now_in_database
    from service.db.models import Job
    from service.db.session import session_scope
    from service.jobs.webhooks import deliver_pending
    from tests.forked_cli import run_tailor
    from tests.service.test_cli import run

    answering, port = os.environ["TAILOR_WEBHOOK_URL"], free_port()
    env = {**os.environ, "TAILOR_HOME": str(tailor_home), "TAILOR_WEBHOOK_URL": silent_receiver,
           "TAILOR_WEBHOOK_TIMEOUT_SECONDS": "2"}  # fmt: skip
    # `tailor train`, or the server's POST /train: nothing to learn from, the job fails, and is announced
    args = ["train"] if killed == "command" else ["serve", "--port", str(port)]
    ran: list = []
    process = threading.Thread(target=lambda: ran.append(run_tailor(args, env=env, timeout=120)), daemon=True)
    process.start()
    if killed == "server":
        deadline = time.monotonic() + 60
        while True:
            try:
                trained = httpx.post(f"http://127.0.0.1:{port}/train", headers={"X-API-Key": api_key}, timeout=30)
                break
            except httpx.TransportError:
                assert process.is_alive() and time.monotonic() < deadline, ran
                time.sleep(0.1)
        assert trained.status_code == 202, trained.text
    assert _Silent.held.wait(60), "the first try never came"
    (owed,) = _Silent.tries
    job_id = json.loads(owed)["job"]["id"]
    deliver_pending(engine)  # another process's sweep, its receiver answering: the one trying it holds it
    assert receiver.deliveries == []
    with session_scope(engine) as session:  # while the receiver holds the first try's connection
        os.kill(int(session.get(Job, job_id).worker.split(":")[1]), signal.SIGKILL)
    process.join(60)
    assert ran[0].returncode == -signal.SIGKILL
    with session_scope(engine) as session:
        next_at = session.scalar(select(Job.announcement_next_at).where(Job.id == job_id))
        assert next_at is not None, "nothing says the announcement is owed"
        time.sleep(max((next_at - now_in_database(session)).total_seconds(), 0) + 0.2)  # the killed try's time

    result = run(["train"], tailor_home, TAILOR_WEBHOOK_URL=answering)  # the next command, whose own gets through
    assert result.returncode != 0  # its own job fails as the first did
    delivered = [d["raw"] for d in receiver.deliveries]
    assert owed in delivered and len(delivered) == 2, delivered  # its own, then the one owed, the same body
    assert receiver.deliveries[delivered.index(owed)]["headers"]["X-Tailor-Signature"] == signature(SECRET, owed)
    assert _pending(engine) == []


def test_the_server_tries_an_ending_once_and_a_silent_receiver_holds_up_no_queue(
    engine, silent_receiver, monkeypatch, caplog
):
    """The server's delivery thread tried each ending three times: against a receiver that took the connection and
    never answered, about 18 s a job (three timeouts and the waits between), and the endings after it waited in line;
    then once each, which still held a burst of N endings (and the server's shutdown) N timeouts. A try not delivered
    now leaves the endings queued behind it to the sweep untried, as a command does; an ending queued after it is
    tried, as the receiver may be back."""
    from service.jobs import ThreadJobRunner

    timeout = 1.5
    monkeypatch.setenv("TAILOR_WEBHOOK_URL", silent_receiver)
    monkeypatch.setenv("TAILOR_WEBHOOK_TIMEOUT_SECONDS", str(timeout))

    def after_the_first_try_began(progress):  # ends while the receiver holds the first job's try
        assert _Silent.held.wait(30)
        return {"trained": 2}

    runner = ThreadJobRunner(engine)
    first = runner.submit("train", lambda progress: {"trained": 1})
    queued_behind = [runner.submit("train", after_the_first_try_began) for _ in range(3)]
    for job_id in [first, *queued_behind]:
        runner.wait(job_id, timeout=30)
    deadline = time.monotonic() + 4 * timeout

    def the_first_try_failed() -> bool:
        return any(
            r.getMessage() == "webhook not delivered" and getattr(r, "job_id", None) == first for r in caplog.records
        )

    while not the_first_try_failed() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert the_first_try_failed()
    later = runner.submit("train", lambda progress: {"trained": 3})  # queued after the failure: tried
    runner.wait(later, timeout=30)
    ended = time.monotonic()
    runner.shutdown()  # once its deliveries are tried
    took = time.monotonic() - ended
    assert [json.loads(body)["job"]["id"] for body in _Silent.tries] == [first, later]
    assert took < 2 * timeout, took  # the later one's timeout alone
    assert sorted(_pending(engine)) == sorted([(first, 1), (later, 1)] + [(job_id, 0) for job_id in queued_behind])


def test_nothing_is_owed_for_a_job_that_ends_while_no_webhook_is_set(engine, monkeypatch):
    """A job's ending owes its announcement in the same transaction, where a webhook is set: none, nothing to keep."""
    from service.jobs import InlineJobRunner, ThreadJobRunner

    monkeypatch.delenv("TAILOR_WEBHOOK_URL", raising=False)
    InlineJobRunner(engine).submit("train", lambda progress: {"trained": True})
    runner = ThreadJobRunner(engine)
    runner.wait(runner.submit("train", lambda progress: {"trained": True}), timeout=30)
    runner.shutdown()
    assert _pending(engine) == []


@pytest.mark.parametrize("written", ["before the other's try", "as the other claims it"])
def test_a_job_failed_as_interrupted_that_then_ends_on_its_own_is_announced_with_what_it_corrects(
    any_engine, receiver, monkeypatch, written
):
    """Another process failed a job as interrupted and went to announce it; the job's own process then wrote its own
    ending, owed with what it corrects. The other's try read the job as it then was and announced that new ending
    without ``corrects`` (the ending it replaces, which the receiver may never have had), or, claimed as the new one
    was owed, took it from the job's own process, which then announced nothing."""
    from sqlalchemy import event

    from service.db.clock import database_now
    from service.db.models import Job
    from service.db.session import session_scope
    from service.jobs import webhooks
    from service.jobs.recovery import _fail_as_interrupted
    from service.jobs.runner import _write_ending, corrected_ending

    engine = any_engine
    with session_scope(engine) as session:
        session.add(
            Job(id="stalled", kind="train", status="running", worker="elsewhere:1:x", heartbeat_at=database_now())
        )
    with session_scope(engine) as session:  # another process's recovery: the job missed its beats
        assert _fail_as_interrupted(session, session.get(Job, "stalled"))

    ended: list[str] = []

    def its_own_ending() -> None:  # the job's own process, which had only stalled: once
        if not ended:
            ended.append("stalled")
            _write_ending(engine, "stalled", {"status": "succeeded", "result": {"trained": True}})

    if written == "before the other's try":
        other_try = webhooks._try

        def ended_then_tried(*args):
            its_own_ending()
            return other_try(*args)

        monkeypatch.setattr(webhooks, "_try", ended_then_tried)
    else:

        def ended_as_claimed(_connection, _cursor, statement, *_):
            claim = statement.startswith("UPDATE jobs SET") and "announcement_pending_since IS NOT NULL" in statement
            if claim and "announcement_tries=" in statement:  # between the claim's read and its write
                its_own_ending()

        event.listen(engine, "before_cursor_execute", ended_as_claimed)
    assert webhooks.announce_job(engine, "stalled") is True  # the other process's first try
    assert ended
    assert webhooks.announce_job(engine, "stalled", None, corrected_ending("stalled")) is True  # the job's own
    announced = [(d["body"]["job"]["status"], d["body"].get("corrects", {}).get("status")) for d in receiver.deliveries]
    assert announced == [("succeeded", "failed")]  # once, saying what it corrects
    assert _pending(any_engine) == []


def test_a_job_of_a_dead_process_failed_as_it_is_cancelled_is_announced_at_once(engine, api_key, receiver, monkeypatch):
    """POST /jobs/{id}/cancel on a job whose process died fails it as interrupted (its sweep), and the server owed its
    announcement but never tried it: it waited for the server's next sweep once its first try's time was past, and
    with TAILOR_JOBS_SWEEP_SECONDS=0 for the server's next start."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.db.clock import now_in_database
    from service.db.models import Job
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_JOBS_SWEEP_SECONDS", "0")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        with session_scope(engine) as session:  # a command's job, its process killed an hour ago
            beat = now_in_database(session) - timedelta(hours=1)
            session.add(Job(id="killed", kind="train", status="running", worker="elsewhere:1:x", heartbeat_at=beat))
        cancelled = client.post("/jobs/killed/cancel")
        assert cancelled.json()["status"] == "failed", cancelled.text
        (delivery,) = _delivered(1, timeout=5)
    assert (delivery["body"]["job"]["id"], delivery["body"]["job"]["status"]) == ("killed", "failed")
    assert _pending(engine) == []


def test_a_command_leaves_an_ending_untried_when_too_little_of_its_wait_is_left(engine, receiver, monkeypatch):
    """A command's endings share one try's timeout: the first, answered in 1.4 s of 2, left 0.6 s, and the second
    was tried with it, cut off before its answer, and the cut-off try counted toward the give-up. Left for the
    next process instead: untried, still owed, not posted."""
    from service.db.models import Job
    from service.db.session import session_scope
    from service.jobs.webhooks import SHORTEST_TRY_SECONDS, announce_briefly, owe

    receiver.delay = 1.4
    assert 2 - receiver.delay < SHORTEST_TRY_SECONDS  # what is left after the first is too little
    monkeypatch.setenv("TAILOR_WEBHOOK_TIMEOUT_SECONDS", "2")
    with session_scope(engine) as session:
        session.add_all([Job(id=job_id, kind="train", status="succeeded") for job_id in ("first", "second")])
        session.flush()
        owe(session, ["first", "second"])
    announce_briefly(engine, [("first", None), ("second", None)], tell=lambda line: None)
    time.sleep(receiver.delay)  # a cut-off try's post would have come in by now
    assert [delivery["body"]["job"]["id"] for delivery in receiver.deliveries] == ["first"]
    assert _pending(engine) == [("second", 0)]
