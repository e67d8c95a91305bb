"""A one-shot command's log lines on a terminal are for the person at it: one readable line each, with the event's
fields. A marketer running `tailor send` saw a raw JSON object above the command's own `warning:` line saying the
same. Piped or redirected, and for a server (`tailor serve`), the lines stay JSON, for whatever collects them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests import forked_cli
from tests.conftest import free_port
from tests.service.test_cli import TAILOR, run, run_on_a_terminal
from tests.service.test_cli_send_due import campaign_with_drafts

TOKEN_PATH = "/unsubscribe/874.zDMeip8XfkoYXdy8CmAPXJXB"


def test_a_command_on_a_terminal_writes_its_log_lines_for_a_person_and_once(engine, tailor_home, mail_server):
    controller, messages = mail_server
    campaign_id = campaign_with_drafts(engine, "term", due=3)
    hook = f"http://127.0.0.1:{free_port()}/hook"  # nothing answers: "webhook not delivered", which only the log says
    env = {
        "TAILOR_SMTP_PORT": str(controller.port), "TAILOR_PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
        "TAILOR_WEBHOOK_URL": hook,
    }  # fmt: skip
    send = ["send", "--campaign", str(campaign_id), "--unchecked-links", "--batch-size", "1"]

    done, shown = _on_a_terminal(send, tailor_home, **env)

    assert done.returncode == 0 and "sent 1 email" in done.stdout.splitlines(), shown
    assert '{"ts"' not in shown, shown
    webhook = r"warning \(tailor\.jobs\): webhook not delivered — job_id=[\w-]+, webhook_event=job\.ended, "
    assert re.search(rf'{webhook}url={re.escape(hook)}, tries=1, error="URLError: [^"]*Connection refused"', shown)
    # The command says the unsubscribe links' warning in its own words: its log line would say it twice.
    assert "warning: the emails' unsubscribe links start with http://127.0.0.1:" in shown
    assert "unsubscribe links recipients cannot reach" not in shown

    piped = run(send, tailor_home, **env)  # to a file or a collector: JSON lines, as ever

    assert piped.returncode == 0, piped.stderr
    logged = [json.loads(line) for line in piped.stderr.splitlines() if line.startswith("{")]
    unreachable = [line for line in logged if line["event"] == "unsubscribe links recipients cannot reach"]
    assert len(unreachable) == 1 and set(unreachable[0]) == {"ts", "level", "logger", "event", "campaign_id", "sent"}
    assert unreachable[0]["campaign_id"] == campaign_id and unreachable[0]["sent"] == 1
    assert any(line["event"] == "webhook not delivered" for line in logged)

    forced, shown = _on_a_terminal(send, tailor_home, TAILOR_LOG_FORMAT="json", **env)

    assert forced.returncode == 0, shown
    logged = [json.loads(line[line.index("{") :]) for line in shown.splitlines() if '{"ts"' in line]
    assert "unsubscribe links recipients cannot reach" in [line["event"] for line in logged]
    assert len(messages) == 3


def _on_a_terminal(args: list[str], home, **env: str) -> tuple[subprocess.CompletedProcess, str]:
    """The command run on a terminal wide enough for a log line (the progress bar, which prints a line written while
    it is shown, wraps it at the terminal's width), and what the terminal showed, without its colours and cursor
    moves. Forked: the log's format is chosen as the command runs, not at start-up."""
    done, shown = run_on_a_terminal(args, home, forked=True, COLUMNS="500", **env)
    return done, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)


@pytest.mark.usefixtures("engine")  # its database migrated: what is tested is the log, not a migration
def test_a_text_log_is_asked_for_by_tailor_log_format_and_a_wrong_value_is_named(tailor_home):
    """Piped, TAILOR_LOG_FORMAT=text writes lines for a person (a terminal multiplexer's log, `2>&1 | less`)."""
    listed = run(["keys", "list"], tailor_home, TAILOR_LOG_FORMAT="text", TAILOR_DB_ECHO="true")
    refused = run(["keys", "list"], tailor_home, TAILOR_LOG_FORMAT="yaml")

    assert listed.returncode == 0, listed.stderr
    statements = [line for line in listed.stderr.splitlines() if line.startswith("info (sqlalchemy.engine.Engine")]
    assert any("SELECT" in line for line in statements) and not listed.stderr.startswith("{"), listed.stderr
    assert refused.returncode == 2 and "TAILOR_LOG_FORMAT" in refused.stderr, refused.stderr


def _served(home, **env: str) -> str:
    """What `tailor serve`, its standard error a pseudo-terminal, showed there while it answered /health and an
    unsubscribe link."""
    port = free_port()
    terminal, its_side = os.openpty()
    shown = bytearray()

    def read() -> None:
        while chunk := _read(terminal):
            shown.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    server = forked_cli.popen(  # forked: the log's format is chosen as the server starts serving, not at start-up
        [*TAILOR, "serve", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=its_side,
        env={**os.environ, "TAILOR_HOME": str(home), **env},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, bytes(shown).decode(errors="replace")
                time.sleep(0.3)
        with contextlib.suppress(urllib.error.HTTPError):  # a token this server did not sign: refused, and logged
            urllib.request.urlopen(f"http://127.0.0.1:{port}{TOKEN_PATH}", timeout=10).close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        os.close(its_side)
        reader.join(timeout=10)
        os.close(terminal)
    return bytes(shown).decode(errors="replace")


def _read(terminal: int) -> bytes:
    try:
        return os.read(terminal, 4096)
    except OSError:  # the server's side closed
        return b""


@pytest.mark.parametrize("log_format", ["auto", "text"])
@pytest.mark.usefixtures("engine")  # as above
def test_the_server_on_a_terminal_keeps_json_unless_told_and_keeps_link_tokens_out(tmp_path, log_format):
    """A server's log goes to collectors, read line by line as JSON, even when it was started in a terminal; asked
    for text, its request lines keep no unsubscribe token, as the JSON ones keep none."""
    shown = _served(tmp_path, TAILOR_LOG_FORMAT=log_format)

    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    access = [line for line in lines if "/unsubscribe/" in line]
    assert access and "zDMeip8X" not in shown, shown
    if log_format == "auto":
        assert all(json.loads(line)["level"] for line in lines), shown
    else:
        assert not [line for line in lines if line.startswith("{")], shown
        assert any(line.startswith("info (uvicorn.access): ") and 'GET /unsubscribe/… HTTP/1.1"' in line
                   for line in access), shown  # fmt: skip


def test_a_text_line_says_the_level_logger_event_and_fields_and_quotes_what_has_spaces():
    from service.logs import TextFormatter

    record = logging.LogRecord(
        "tailor.sending", logging.WARNING, __file__, 1, "unsubscribe links %s", ("unread",), None
    )
    record.campaign_id, record.sent, record.error = 3, 20, "connection refused, twice"

    assert TextFormatter().format(record) == (
        'warning (tailor.sending): unsubscribe links unread — campaign_id=3, sent=20, error="connection refused, twice"'
    )


def test_a_text_line_keeps_link_tokens_out_as_a_json_line_does():
    from service.logs import TextFormatter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", TOKEN_PATH, "1.1", 200), None,
    )  # fmt: skip

    assert TextFormatter().format(record) == 'info (uvicorn.access): 127.0.0.1:5 - "GET /unsubscribe/… HTTP/1.1" 200'


def test_a_text_line_is_followed_by_its_exception_s_trace():
    from service.logs import TextFormatter

    try:
        raise ValueError("no such row")
    except ValueError:
        record = logging.LogRecord("tailor.jobs", logging.ERROR, __file__, 1, "job failed", (), sys.exc_info())

    first, *trace = TextFormatter().format(record).splitlines()

    assert first == "error (tailor.jobs): job failed" and trace[-1] == "ValueError: no such row"
