"""The log stream is one JSON object per line: Tailor's own events, the web server's and Python's warnings."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

from service.logs import STRUCTURED_LOGGERS, configure_logging
from tests import forked_cli
from tests.conftest import free_port


def test_the_server_logs_startup_and_requests_as_json(tmp_path):
    """uvicorn's startup and access lines used to be plain text in the middle of the JSON stream."""
    port = free_port()
    tailor = str(Path(sys.executable).with_name("tailor"))
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}
    server = forked_cli.popen(
        [tailor, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    ids = {}
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "the server did not start"
                time.sleep(0.3)
        # A request's id: the client's when it is a short token, else one made for it; sent back with the answer.
        for given in ("tool-42", "not a token", "x" * 65):
            asked = urllib.request.Request(f"http://127.0.0.1:{port}/campaigns", headers={"X-Request-ID": given})
            try:
                urllib.request.urlopen(asked, timeout=10)
            except urllib.error.HTTPError as refused:  # no API key: a 401, logged as a refusal
                ids[given] = refused.headers["X-Request-ID"]
        # A request sent on the same connection right behind another is read as the first one's answer goes: the
        # server's line about it (it is malformed) carried the first one's id.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Request-ID: first-req\r\n\r\nNOT HTTP\r\n\r\n")
            connection.recv(65536)
            time.sleep(0.5)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # every line is JSON
    access = [line for line in lines if line["logger"] == "uvicorn.access"]
    assert any(line["path"] == "/health" and line["status"] == 200 and line["method"] == "GET" for line in access)
    assert any(line["logger"].startswith("uvicorn") and "startup complete" in line["event"] for line in lines)
    assert ids["tool-42"] == "tool-42" and len({ids["not a token"], ids["x" * 65], "tool-42"}) == 3
    assert all(len(made) == 32 and int(made, 16) >= 0 for made in (ids["not a token"], ids["x" * 65]))
    malformed = [line for line in lines if "Invalid HTTP request" in line["event"]]
    assert malformed and all(line.get("request_id") != "first-req" for line in malformed), malformed
    for request_id in ids.values():  # the refusal's line and the access line, found by the id
        logged = [line for line in lines if line.get("request_id") == request_id]
        assert {line["logger"] for line in logged} >= {"uvicorn.access"} and len(logged) >= 2, logged


def test_the_statements_db_echo_logs_are_json_lines_on_stderr_not_text_on_stdout(tmp_path):
    """TAILOR_DB_ECHO=true wrote SQLAlchemy's plain text to stdout, into a command's output."""
    tailor = str(Path(sys.executable).with_name("tailor"))
    env = {**os.environ, "TAILOR_HOME": str(tmp_path), "TAILOR_DB_ECHO": "true"}
    listed = forked_cli.run([tailor, "keys", "list"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "SELECT" not in listed.stdout and "BEGIN" not in listed.stdout, listed.stdout
    lines = [json.loads(line) for line in listed.stderr.splitlines() if line.strip()]  # every line is JSON
    statements = [line["event"] for line in lines if line["logger"].startswith("sqlalchemy.engine")]
    assert any(event.startswith("SELECT") for event in statements), statements


def test_an_echoing_engine_does_not_make_the_others_echo(capsys):
    from sqlalchemy import text

    from service.db.session import make_engine

    loggers = [logging.getLogger(name) for name in (*STRUCTURED_LOGGERS, "sqlalchemy.engine")]
    saved = [(logger, logger.handlers[:], logger.propagate) for logger in loggers]
    try:
        configure_logging()
        loud, quiet = make_engine("sqlite://", echo=True), make_engine("sqlite://")
        for engine, column in ((quiet, "from_the_quiet_one"), (loud, "from_the_loud_one"), (quiet, "quiet_again")):
            with engine.connect() as connection:
                connection.execute(text(f"select 1 as {column}"))
        logged = capsys.readouterr().err
    finally:
        logging.captureWarnings(False)
        for logger, handlers, propagate in saved:
            logger.handlers[:], logger.propagate = handlers, propagate
    assert "from_the_loud_one" in logged and "from_the_quiet_one" not in logged and "quiet_again" not in logged


def test_python_warnings_go_through_the_json_formatter(capsys):
    loggers = [logging.getLogger(name) for name in STRUCTURED_LOGGERS]
    saved = [(logger, logger.handlers[:], logger.propagate) for logger in loggers]
    try:
        configure_logging()
        warnings.warn("the least populated class has only 4 members", UserWarning, stacklevel=1)
        line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert line["logger"] == "py.warnings" and "least populated class" in line["event"]
    finally:
        logging.captureWarnings(False)
        for logger, handlers, propagate in saved:
            logger.handlers[:], logger.propagate = handlers, propagate


def test_lines_carry_the_event_s_fields_and_not_other_libraries_marks(capsys):
    """Once litellm was imported, every uvicorn line carried "litellm_redacted": "<object object at 0x...>" (its
    secret filter's mark) and uvicorn's startup lines a second, colour-coded copy of the message."""
    import litellm  # noqa: F401  (importing it adds its secret filter to uvicorn's loggers)

    loggers = [logging.getLogger(name) for name in STRUCTURED_LOGGERS]
    saved = [(logger, logger.handlers[:], logger.propagate) for logger in loggers]
    try:
        configure_logging()
        logging.getLogger("uvicorn.error").info("Started server process [%d]", 7, extra={"color_message": "\x1b[36m7"})
        logging.getLogger("tailor.test").info("campaign written", extra={"campaign_id": 3})
        server, tailor = (json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-2:])
        assert server["event"] == "Started server process [7]" and set(server) == {"ts", "level", "logger", "event"}
        assert tailor["campaign_id"] == 3 and set(tailor) == {"ts", "level", "logger", "event", "campaign_id"}
    finally:
        for logger, handlers, propagate in saved:
            logger.handlers[:], logger.propagate = handlers, propagate


def test_the_level_comes_from_tailor_log_level(capsys, monkeypatch):
    loggers = [logging.getLogger(name) for name in STRUCTURED_LOGGERS]
    saved = [(logger, logger.handlers[:], logger.propagate, logger.level) for logger in loggers]
    try:
        monkeypatch.setenv("TAILOR_LOG_LEVEL", "warning")
        configure_logging()
        logging.getLogger("tailor.jobs").info("job started")
        logging.getLogger("uvicorn.access").info("GET /health")
        logging.getLogger("tailor.jobs").warning("job failed", extra={"job_id": "j1"})
        lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
        assert [(line["level"], line["event"]) for line in lines] == [("warning", "job failed")]
        monkeypatch.setenv("TAILOR_LOG_LEVEL", "DEBUG")
        configure_logging()
        assert logging.getLogger("tailor").level == logging.DEBUG
        assert logging.getLogger("uvicorn.access").level == logging.INFO  # a server's debug lines stay out
    finally:
        for logger, handlers, propagate, level in saved:
            logger.handlers[:], logger.propagate = handlers, propagate
            logger.setLevel(level)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/unsubscribe/874.zDMeip8XfkoYXdy8CmAPXJXB", "/unsubscribe/…"),
        ("/track/open/874.zDMeip8XfkoYXdy8CmAPXJXB", "/track/open/…"),
        ("/track/click/874.zDMeip8XfkoYXdy8CmAPXJXB?url=https%3A%2F%2Fshop.example%2Fp%2F1", "/track/click/…?url=…"),
        # spelt in capitals (a link retyped, a proxy's rewrite): no route answers it, but the token is the same
        ("/TRACK/open/874.zDMeip8XfkoYXdy8CmAPXJXB", "/TRACK/open/…"),
        ("/Unsubscribe/874.zDMeip8XfkoYXdy8CmAPXJXB", "/Unsubscribe/…"),
    ],
)
def test_a_link_token_is_not_written_to_the_access_log(path, logged):
    """Whoever read the log could unsubscribe every recipient whose link was opened, or record opens and clicks in
    their name: the token is the key."""
    from service.logs import JsonFormatter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "POST", path, "1.1", 200), None,
    )  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == logged and "zDMeip8X" not in json.dumps(line)


@pytest.mark.parametrize(
    ("path", "logged", "personal"),
    [
        ("/campaigns/2/drafts?customer=thomas.00063@example.org&status=flagged",
         "/campaigns/2/drafts?customer=…&status=…", "thomas"),
        ("/review/campaigns/2?customer=Thomas%20Weber", "/review/campaigns/2?customer=…", "Weber"),
        ("/customers/C00017", "/customers/…", "C00017"),
        ("/customers/C00017/recommendations?k=5", "/customers/…/recommendations?k=…", "C00017"),
        ("/customers/C00017/export", "/customers/…/export", "C00017"),
    ],
)  # fmt: skip
def test_customers_ids_and_searched_addresses_are_not_written_to_the_access_log(path, logged, personal):
    """Every search by address, and the erasure of a customer by id, put the person in the log for good."""
    from service.logs import JsonFormatter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", path, "1.1", 200), None,
    )  # fmt: skip
    line = json.loads(JsonFormatter().format(record))
    assert line["path"] == logged and personal not in json.dumps(line)


def test_a_refusal_about_a_customer_is_logged_without_naming_them(client, caplog):
    """ "Customer 'C00017' does not exist." went to the log with the erased customer's id, path and message."""
    with caplog.at_level(logging.INFO, logger="tailor.api"):
        assert client.get("/customers/C00017").status_code == 404
        assert client.delete("/customers/C00017").status_code == 404
        assert client.post("/erasures/lift", json={"email": "gone@example.com"}).status_code == 404
        assert client.get("/campaigns/999").status_code == 404  # a refusal about no one keeps its words
    rejected = [record for record in caplog.records if record.getMessage() == "request rejected"]
    assert len(rejected) == 4
    assert all("C00017" not in f"{r.path} {r.error}" and "gone@" not in r.error for r in rejected[:3])
    assert rejected[0].path == "/customers/…" and rejected[0].error == "NotFound"
    assert "Campaign 999" in rejected[3].error


def test_a_refused_import_is_logged_without_the_customers_its_rows_name(client, caplog):
    """An orders file naming a customer not imported (or erased before a list of erasures was kept) put
    "unknown customer 'C00017'" in the log, in the request's line and in a background import's, for good."""
    from tests.service.conftest import wait_for_job

    orders = "order_id,customer_id,product_id,quantity,amount,timestamp\no1,C00017,p1,1,2,2024-01-01\n"
    files = {"file": ("orders.csv", orders.encode(), "text/csv")}
    with caplog.at_level(logging.INFO, logger="tailor"):
        refused = client.post("/imports/orders", files=files)
        job = wait_for_job(client, client.post("/imports/orders?background=true", files=files).json()["job_id"])
    assert refused.status_code == 422 and "unknown customer 'C00017'" in refused.text  # the uploader is told
    assert job["status"] == "failed" and "C00017" in job["error"]  # and so is the job's reader
    logged = [r for r in caplog.records if r.getMessage() in ("request rejected", "job failed")]
    assert len(logged) == 2 and [r.error for r in logged] == ["InvalidInput", "InvalidInput"]


def test_a_path_spelt_with_escapes_is_redacted_as_the_router_reads_it():
    """GET /customers%2FC00001 answered with the customer, and the access log kept the id."""
    from service.logs import redacted

    assert redacted("GET /customers%2FC00001 HTTP/1.1") == "GET /customers/… HTTP/1.1"
    assert redacted("/unsubscribe%2F17.abc") == "/unsubscribe/…"
    assert redacted('"GET /%63ustomers/ANNA-1 HTTP/1.1"') == '"GET /customers/… HTTP/1.1"'  # any escape, not %2F alone
    assert redacted("/c%75stomers/Anna%20Smith") == "/customers/…"  # a space unescaped is no end of the id
    assert redacted("/customers/Anna%3FSmith=1") == "/customers/…"
    assert redacted("/review/campaigns/2?customer=Thomas%20Weber") == "/review/campaigns/2?customer=…"


def test_an_id_that_holds_a_slash_is_redacted_whole_and_its_route_kept():
    """An id's part after its first "/" was kept in the log ("/customers/…/0001/sends"), and customer "a/sends"'s
    record (/customers/a%2Fsends) was logged as customer a's sends."""
    from service.logs import redacted

    assert redacted("GET /customers/2024/0001/sends HTTP/1.1") == "GET /customers/…/sends HTTP/1.1"
    assert redacted("/customers/2024%2F0001/sends") == "/customers/…/sends"
    assert redacted("/customers/2024/0001") == "/customers/…"
    assert redacted("GET /customers/a%2Fsends HTTP/1.1") == "GET /customers/… HTTP/1.1"  # the record: no route
    assert redacted("GET /customers/a/sends HTTP/1.1") == "GET /customers/…/sends HTTP/1.1"
    assert redacted("/customers/c1/recommendations?k=3") == "/customers/…/recommendations?k=…"
    assert redacted("/customers/x/send-times") == "/customers/…"  # no route's name: all of it the id


def test_a_disk_that_will_not_take_a_write_is_told_what_to_do_about_it():
    """A read-only disk was told to free space."""
    import errno

    from service.errors import storage_unavailable

    full = storage_unavailable(OSError(errno.ENOSPC, "No space left on device", "/var/tailor/models/x"))
    assert "(/var/tailor/models/x): No space left on device" in str(full) and "Free space" in str(full)
    read_only = storage_unavailable(OSError(errno.EROFS, "Read-only file system"))
    assert "Make the place where Tailor keeps its files (TAILOR_HOME) writable" in str(read_only)
    assert "Free space" not in str(read_only)


def test_log_lines_go_to_the_standard_error_of_the_moment():
    """The CLI's progress bar puts a stand-in on sys.stderr that prints lines above the bar; the log handler held
    the stream it started with, and a job's line was written into the bar's."""
    import sys

    script = (
        "import io, logging, sys\n"
        "from service.logs import configure_logging\n"
        "configure_logging()\n"
        "stand_in, real = io.StringIO(), sys.stderr\n"
        "sys.stderr = stand_in\n"
        "logging.getLogger('tailor.jobs').info('job started')\n"
        "sys.stderr = real\n"
        "print(stand_in.getvalue(), end='')\n"
    )
    done = forked_cli.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert '"event": "job started"' in done.stdout and done.stderr == ""


@pytest.mark.parametrize(
    ("error", "event"),
    [("database is locked", "database busy"), ("connection refused", "database unavailable")],
)
def test_a_database_failure_is_logged_without_the_customer_in_its_path(client, caplog, monkeypatch, error, event):
    """With PostgreSQL stopped, the line said "path": "/customers/jane.doe@example.com/sends", where the access
    and refusal lines of the same request kept "/customers/…"."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from service import customers as customer_ops

    def fails(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError(error))

    monkeypatch.setattr(customer_ops, "customer_sends", fails)
    with caplog.at_level(logging.INFO, logger="tailor.api"):
        assert client.get("/customers/jane.doe@example.com/sends").status_code == 503
    (line,) = [record for record in caplog.records if record.getMessage() == event]
    assert line.path == "/customers/…/sends" and "jane" not in json.dumps(vars(line), default=str)
