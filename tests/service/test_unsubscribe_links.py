"""Whether this Tailor answers where the unsubscribe links lead: its health, then a signed probe only a Tailor with
its signing key and database answers right, so a send from the command line does not mail links that another web
server, another Tailor, or nothing answers."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from service.db.models import Campaign, Send
from service.db.session import make_engine, session_scope
from service.errors import InvalidEnvironment
from service.pipeline.sending import send_campaign
from service.pipeline.unsubscribe_links import links_unanswered
from service.signed_links import UnsubscribeLinks, signing_key
from tests import forked_cli
from tests.conftest import free_port
from tests.service.test_send_claims import due_campaign

SOME_CAMPAIGN = (1, datetime(2026, 12, 1, 9, 30))  # for a server that is no Tailor: no campaign of its own


class _NotTailor(BaseHTTPRequestHandler):
    """The shop's own web site, whose /health is a page; 404 elsewhere."""

    health = b"<html>The shop's own site</html>"

    def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
        status, body = (200, self.health) if self.path == "/health" else (404, b"no")
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


class _HealthyService(_NotTailor):
    """Another service, whose /health answers as many do, as Tailor's does: ``{"status": "ok"}``."""

    health = b'{"status": "ok"}'


def _serving(handler) -> tuple[ThreadingHTTPServer, str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def other_web_server():
    server, url = _serving(_NotTailor)
    yield url
    server.shutdown()


@pytest.fixture
def healthy_service():
    server, url = _serving(_HealthyService)
    yield url
    server.shutdown()


def _links(base_url: str) -> UnsubscribeLinks:
    return UnsubscribeLinks(b"this Tailor's key", base_url)


def test_another_web_server_or_none_is_not_tailor_answering(other_web_server, healthy_service):
    assert (
        links_unanswered(_links(other_web_server), *SOME_CAMPAIGN).why
        == f"{other_web_server}/health answers, but not as Tailor does"
    )
    assert links_unanswered(_links(f"{other_web_server}/mail"), *SOME_CAMPAIGN).why.startswith(
        f"{other_web_server}/mail/health answers HTTP 404 (server: BaseHTTP/"
    )
    closed = f"http://127.0.0.1:{free_port()}"
    assert links_unanswered(_links(closed), *SOME_CAMPAIGN).why.startswith(f"nothing answers at {closed}/health (")
    said = links_unanswered(_links(healthy_service), *SOME_CAMPAIGN).why  # its health passed for Tailor's
    assert said.startswith(f"{healthy_service}/unsubscribe/ answers HTTP 404 (server: BaseHTTP/"), said
    assert said.endswith(
        "another service, or a Tailor with another signing key (TAILOR_UNSUBSCRIBE_SECRET, else unsubscribe.key in its "
        "TAILOR_HOME), which takes every link for one it did not make"
    )


def _this_tailor(engine, base_url: str) -> tuple[UnsubscribeLinks, int, datetime]:
    """The links this Tailor makes at ``base_url``, and a campaign of its database to probe (id, made at)."""
    due_campaign(engine, 1)
    with session_scope(engine) as session:
        campaign = session.scalars(select(Campaign)).one()
        return UnsubscribeLinks(signing_key(), base_url), campaign.id, campaign.created_at


def test_tailor_answering_under_its_path_counts(live_server, engine):
    assert links_unanswered(*_this_tailor(engine, live_server)) is None


def test_the_probe_unsubscribes_nobody_and_answers_a_probe_it_did_not_sign_as_no_link(live_server, engine):
    """The probe is asked at the links' own route, with no key: it reads, and a forged one gets the 404 page."""
    links, campaign_id, _ = _this_tailor(engine, live_server)
    forged = UnsubscribeLinks(b"another key", live_server).probe_url(campaign_id, "0" * 32)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(forged, timeout=10)
    assert refused.value.code == 404 and "text/html" in refused.value.headers["Content-Type"]
    with urllib.request.urlopen(links.probe_url(campaign_id, "0" * 32), timeout=10) as answered:
        assert answered.headers["Cache-Control"] == "no-store"
    with session_scope(engine) as session:
        assert session.scalar(select(Send)) is None  # no send, no event: nothing but the campaign's row was read


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
    silent = links_unanswered(_links(mail_banner_server), *SOME_CAMPAIGN).why

    assert silent == (
        f"{mail_banner_server}/health answers, but not in HTTP (BadStatusLine: 220 mail.shop.example ESMTP ready)"
    )


def test_tailor_on_this_machine_is_asked_directly_whatever_proxy_is_set(
    live_server, engine, other_web_server, monkeypatch
):
    """With http_proxy set (a company's proxy, exported for the whole machine) the check asked the proxy for
    127.0.0.1's health, which no proxy can reach: `tailor send` refused, the local server up, as "HTTP 404"."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, other_web_server)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen's opener reads the proxies when first made

    assert links_unanswered(*_this_tailor(engine, live_server)) is None


def test_tailor_whose_database_is_away_is_told_as_such(live_server, engine):
    """Tailor's own 503 (its database file gone) read "answers HTTP 503, not Tailor's health"."""
    from pathlib import Path

    this_tailor = _this_tailor(engine, live_server)
    database = Path(engine.url.database)
    away = database.with_name(database.name + ".away")
    database.rename(away)
    try:
        said = links_unanswered(*this_tailor).why
    finally:
        away.rename(database)
    assert said == (
        f"Tailor answers at {live_server}/health that its database is unavailable (HTTP 503: The database file is not "
        "there any more (the server's log names it): restore it and restart Tailor (started again without it, Tailor "
        "makes an empty database).), so the links would fail"
    )


@contextmanager
def _tailor_on(engine):
    """Another Tailor served on ``engine``'s database in this process (so with this process's signing key), on a
    loopback port bound here and handed to it (a free port looked up first could be taken by another test process
    before the server bound it: a full run's probe then found "nothing answers"); its base URL."""
    import uvicorn

    from service.app import create_app

    listening = socket.create_server(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(engine), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the other Tailor did not start within 20 s"
    try:
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listening.close()


SERVE = """
import sys, uvicorn
from service.app import create_app
from service.db.session import make_engine
uvicorn.run(create_app(make_engine(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@contextmanager
def _tailor_elsewhere(home, database):
    """Another Tailor, as another shop's or a staging copy's: its own TAILOR_HOME (so its own signing key) and
    ``database``, in a process of its own on a free loopback port; its base URL once its health answers."""
    port = free_port()
    env = {**os.environ, "TAILOR_HOME": str(home)}
    env.pop("TAILOR_UNSUBSCRIBE_SECRET", None)
    server = forked_cli.popen([sys.executable, "-c", SERVE, f"sqlite:///{database}", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def _another_database(tmp_path, migrated_database, campaigns: int) -> tuple:
    """A migrated database of another Tailor's, in a TAILOR_HOME of its own, holding ``campaigns`` campaigns (ids
    1, 2, ...: this Tailor's ids too, made at other moments); its home, its file and an engine on it."""
    home = tmp_path / "other_home"
    home.mkdir()
    database = home / "tailor.db"
    shutil.copyfile(migrated_database, database)
    engine = make_engine(f"sqlite:///{database}")
    for _ in range(campaigns):
        due_campaign(engine, 1)
    return home, database, engine


def _send_with_links_at(engine, base_url: str, monkeypatch) -> dict:
    monkeypatch.setenv("TAILOR_PUBLIC_URL", base_url)
    with session_scope(engine) as session:
        campaign_id = session.scalars(select(Campaign.id)).one()
    return send_campaign(lambda *_: None, engine, campaign_id, links_must_answer=True)


def test_a_send_from_the_command_line_mails_nothing_where_another_service_answers_health(
    engine, mail_server, healthy_service, monkeypatch
):
    """Another service whose /health answers `{"status": "ok"}` (as many do) at TAILOR_PUBLIC_URL passed the check,
    and every email went with an unsubscribe link that service answers "not found"."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    due_campaign(engine, 1)

    with pytest.raises(InvalidEnvironment) as refused:
        _send_with_links_at(engine, healthy_service, monkeypatch)

    assert messages == []
    said = str(refused.value)
    assert f"Nothing was sent: the emails' unsubscribe links would lead to {healthy_service}, and " in said
    assert f"{healthy_service}/unsubscribe/ answers HTTP 404 (server: BaseHTTP/" in said


def test_a_send_from_the_command_line_mails_nothing_where_another_tailor_answers(
    engine, mail_server, live_server, tmp_path, migrated_database, monkeypatch
):
    """Another Tailor at TAILOR_PUBLIC_URL (another shop's, a staging copy: its own database and key) answered /health
    as this one does, and every email went with a link it could neither verify nor find; this Tailor's own server
    there, the emails go."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    due_campaign(engine, 1)
    home, database, other_engine = _another_database(tmp_path, migrated_database, campaigns=1)
    other_engine.dispose()

    with _tailor_elsewhere(home, database) as other_tailor, pytest.raises(InvalidEnvironment) as refused:
        _send_with_links_at(engine, other_tailor, monkeypatch)

    assert messages == []
    assert f"{other_tailor}/unsubscribe/ answers HTTP 404 (server: uvicorn) where this Tailor answers its links: " in (
        str(refused.value)
    )
    assert _send_with_links_at(engine, live_server, monkeypatch)["sent"] == 1
    assert len(messages) == 1


def test_a_tailor_with_this_key_on_another_database_is_not_where_the_links_are_answered(
    engine, mail_server, tmp_path, migrated_database, monkeypatch
):
    """A Tailor sharing TAILOR_UNSUBSCRIBE_SECRET (a staging copy) verifies the links, but finds none of their sends:
    its campaign of the same id, made at another moment, tells its database from this one."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    due_campaign(engine, 1)
    _, _, other_engine = _another_database(tmp_path, migrated_database, campaigns=1)

    try:
        with _tailor_on(other_engine) as staging, pytest.raises(InvalidEnvironment) as refused:
            _send_with_links_at(engine, staging, monkeypatch)
    finally:
        other_engine.dispose()

    assert messages == []
    assert (
        f"a Tailor with this signing key answers at {staging}/unsubscribe/, but on another database: it holds no "
        "campaign 1 as this one does"
    ) in str(refused.value)


def test_a_tailor_from_before_the_probe_is_named_older_than_the_command_with_both_ways_out(
    engine, mail_server, monkeypatch
):
    """During an upgrade, `tailor send` of the new release refused a server still running the release before the
    links' probe as one of three guesses (another service, an older Tailor, another key), told to "start `tailor
    serve`", which ran, and that recipients "could not unsubscribe", which they could: that Tailor answers the links of
    this database and key, and answers its own 404 to the probe it does not know. It is named, the server as the older
    one, with the two ways out: upgrade and restart it, or send with --unchecked-links."""
    from service.routes.unsubscribe import router

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    due_campaign(engine, 1)
    # as the release before the probe serves: no route for it, so the API's own 404 ("There is no ...") answers it
    monkeypatch.setattr(router, "routes", [route for route in router.routes if "/probe/" not in route.path])

    with _tailor_on(engine) as older, pytest.raises(InvalidEnvironment) as refused:
        _send_with_links_at(engine, older, monkeypatch)

    assert messages == []
    assert str(refused.value) == (
        f"Nothing was sent: the emails' unsubscribe links would lead to {older}, where a Tailor older than this "
        "command answers: it answered the probe of those links with its own 404 (There is no /unsubscribe/probe/...), "
        "as the releases from before that check do, so it cannot be told to be the Tailor of this database and "
        "signing key. Upgrade the server there to this command's release and restart it (`tailor serve`), then send "
        "again; or, if it runs on this database with this signing key, send with --unchecked-links: it answers the "
        "links themselves."
    )
    with _tailor_on(engine) as older:
        monkeypatch.setenv("TAILOR_PUBLIC_URL", older)
        with session_scope(engine) as session:
            campaign_id = session.scalars(select(Campaign.id)).one()
        assert send_campaign(lambda *_: None, engine, campaign_id)["sent"] == 1  # --unchecked-links
        link = re.search(rf"{re.escape(older)}/unsubscribe/[\w.-]+", messages[0]["List-Unsubscribe"]).group(0)
        with urllib.request.urlopen(link, timeout=10) as page:  # the older Tailor answers the link
            assert page.status == 200


def test_a_tailor_on_a_database_a_newer_release_migrated_says_so_and_the_command_passes_it_on(live_server, engine):
    """A newer `tailor send` migrated the database under a running server of the release before: its /health said
    the database was "moved back (tailor db downgrade) or restored" and that its restart would migrate it, which
    it cannot; the command said only that the database was unavailable."""
    from sqlalchemy import text

    from service.db.migrate import head_revision

    this_tailor = _this_tailor(engine, live_server)
    newer = f"{int(head_revision()) + 1:04d}"
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :newer"), {"newer": newer})
    try:
        said = links_unanswered(*this_tailor)
    finally:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": head_revision()})
    assert said.why == (
        f"Tailor answers at {live_server}/health that its database is unavailable (HTTP 503: The database is at "
        f"revision {newer}, which this server's release does not know: a newer release of Tailor migrated it. "
        "Upgrade this server to that release and restart it.), so the links would fail"
    )
