"""Whether Tailor answers where the unsubscribe links lead: only its own health answer counts, so a send from the
command line does not mail links that another web server, or nothing, answers."""

from __future__ import annotations

import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from service.pipeline.unsubscribe_links import links_unanswered
from tests.conftest import free_port


class _NotTailor(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
        status, body = (200, b"<html>The shop's own site</html>") if self.path == "/health" else (404, b"no")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def other_web_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotTailor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_another_web_server_or_none_is_not_tailor_answering(other_web_server):
    assert links_unanswered(other_web_server) == f"{other_web_server}/health answers, but not as Tailor does"
    assert (
        links_unanswered(f"{other_web_server}/mail")
        == f"{other_web_server}/mail/health answers HTTP 404, not Tailor's health"
    )
    closed = f"http://127.0.0.1:{free_port()}"
    assert links_unanswered(closed).startswith(f"nothing answers at {closed}/health (")


def test_tailor_answering_under_its_path_counts(live_server):
    assert links_unanswered(live_server) is None


@pytest.fixture
def mail_banner_server():
    """A server that greets as a mail server does, not in HTTP: TAILOR_PUBLIC_URL given the SMTP port by mistake."""
    listener = socket.create_server(("127.0.0.1", 0))

    def greet() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed at the test's end
                return
            with connection:
                connection.sendall(b"220 mail.shop.example ESMTP ready\r\n")
                connection.recv(1024)

    threading.Thread(target=greet, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_an_answer_that_is_not_http_is_told_not_raised(mail_banner_server):
    """It raised http.client.BadStatusLine, and `tailor send` ended in a traceback instead of saying why."""
    silent = links_unanswered(mail_banner_server)

    assert silent == (
        f"{mail_banner_server}/health answers, but not in HTTP (BadStatusLine: 220 mail.shop.example ESMTP ready)"
    )


def test_tailor_on_this_machine_is_asked_directly_whatever_proxy_is_set(live_server, other_web_server, monkeypatch):
    """With http_proxy set (a company's proxy, exported for the whole machine) the check asked the proxy for
    127.0.0.1's health, which no proxy can reach: `tailor send` refused, the local server up, as "HTTP 404"."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, other_web_server)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen's opener reads the proxies when first made

    assert links_unanswered(live_server) is None


def test_tailor_whose_database_is_away_is_told_as_such(live_server, engine):
    """Tailor's own 503 (its database file gone) read "answers HTTP 503, not Tailor's health"."""
    from pathlib import Path

    database = Path(engine.url.database)
    away = database.with_name(database.name + ".away")
    database.rename(away)
    try:
        said = links_unanswered(live_server)
    finally:
        away.rename(database)
    assert said == (
        f"Tailor answers at {live_server}/health that its database is unavailable (HTTP 503), so the links would fail"
    )
