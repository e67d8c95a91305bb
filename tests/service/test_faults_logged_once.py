"""A fault of the server's is logged once, as a JSON line with its request id: Starlette raises the fault again after
the app's 500 is answered, and uvicorn wrote its traceback a second time, as "Exception in ASGI application\\n"
under `uvicorn.error`, beside the app's own `request failed`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests import forked_cli
from tests.conftest import free_port

TAILOR = str(Path(sys.executable).with_name("tailor"))


def _served_until_healthy(home: Path, port: int, log: Path) -> subprocess.Popen:
    """`tailor serve` on ``port`` with ``home`` as its TAILOR_HOME and its JSON lines in ``log``, once it answers."""
    env = {**os.environ, "TAILOR_HOME": str(home), "TAILOR_LOG_FORMAT": "json", "TAILOR_LOG_LEVEL": "info"}
    with log.open("wb") as stderr:
        server = forked_cli.popen([TAILOR, "serve", "--port", str(port)], env=env, stderr=stderr)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(f"the server did not start: {log.read_text()}")


def test_a_fault_is_logged_once_with_its_request_id_by_a_real_server(tmp_path):
    """A model pointer that is a folder (a real fault, no route made for it) fails /health with a 500."""
    log = tmp_path / "server.log"
    server = _served_until_healthy(tmp_path / "home", free_port(), log)
    try:
        (tmp_path / "home" / "models" / "recommender" / "CURRENT").mkdir(parents=True)
        port = server.args[-1]
        answer = httpx.get(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "t-500"}, timeout=30)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    assert answer.status_code == 500 and "request id t-500" in answer.json()["message"]
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    traced = [line for line in lines if "exc" in line]
    assert len(traced) == 1, [(line["logger"], line["event"]) for line in traced]
    (fault,) = traced
    said = {name: fault[name] for name in ("level", "logger", "event", "request_id", "method", "path", "error")}
    assert said == {
        "level": "error", "logger": "tailor.api", "event": "request failed", "request_id": "t-500", "method": "GET",
        "path": "/health", "error": "IsADirectoryError",
    }  # fmt: skip
    assert "IsADirectoryError" in fault["exc"]
    assert not [line for line in lines if line["logger"].startswith("uvicorn") and line["level"] == "error"]


def test_a_fault_outside_starlette_s_middleware_is_answered_and_logged_once(caplog):
    """A fault of a middleware outside Starlette's, which no handler answers: a 500 in the API's error body, and one
    line, not the web server's plain-text answer."""
    import logging

    from fastapi.testclient import TestClient

    from service.faults import LoggedFaults
    from service.request_ids import RequestIds

    async def failing_middleware(scope, receive, send) -> None:
        raise LookupError("a fault")

    with caplog.at_level(logging.ERROR, logger="tailor.api"):
        answer = TestClient(RequestIds(LoggedFaults(failing_middleware))).get("/jobs", headers={"X-Request-ID": "t-1"})
    assert answer.status_code == 500 and answer.json() == {
        "error": "InternalError", "problems": [],
        "message": "The server failed on this request (LookupError); its log says why, under request id t-1.",
    }  # fmt: skip
    (line,) = caplog.records
    assert (line.getMessage(), line.method, line.path, line.error) == ("request failed", "GET", "/jobs", "LookupError")
    assert line.exc_info[0] is LookupError
