"""Fixtures for the service: a small slice of the demo store as import files, a trained shop, job polling, and a
throwaway PostgreSQL server."""

from __future__ import annotations

import atexit
import contextlib
import io
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Hashable
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from evals import postgres
from evals.postgres import new_database as new_postgres_database  # noqa: F401 (imported from here by tests)
from evals.postgres import new_migrated_database as new_migrated_postgres_database
from tests.conftest import free_port

SLICE = {"seed": 11, "n_customers": 160, "n_products": 60, "n_orders_target": 2500}


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory) -> dict[str, Path]:
    """customers/products/orders/sends CSV files of a small, seeded demo shop."""
    from service.demo import generate_demo_store, write_import_files

    store = generate_demo_store(**SLICE)
    return write_import_files(store, tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def copy_model_file(tmp_path_factory) -> Path:
    """A copy model (TAILOR_SCORING_COPY_MODEL) fitted on tests.scoring.test_copy_model's A/B tests, once, at one
    path for the session: a trained shop is kept per set of settings, this path among them, and the tests that
    train one with a copy model each trained their own with a file of their own (5-6 s of CPU each)."""
    from scoring.copy_model import CopyModel
    from tests.scoring.test_copy_model import _tests

    tests = _tests()
    path = tmp_path_factory.mktemp("copy_model") / "copy.joblib"
    CopyModel(char_ngrams=False).fit(tests["text"], tests["impressions"], tests["clicks"], tests["test_id"]).save(path)
    return path


def upload(client, kind: str, path: Path):
    """Upload a file; after orders, wait for the audience job the upload queued, as a marketing tool would."""
    response = client.post(f"/imports/{kind}", files={"file": (path.name, io.BytesIO(path.read_bytes()), "text/csv")})
    if response.status_code == 200 and response.json().get("audience_job_id"):
        refresh = wait_for_job(client, response.json()["audience_job_id"])
        assert refresh["status"] == "succeeded", refresh["error"]
    return response


def wait_for_job(client, job_id: str, timeout: float = 300) -> dict:
    """Poll a job until it ends; returns its last state and the progress values seen on the way."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        job = client.get(f"/jobs/{job_id}").json()
        seen.append(job["progress"])
        if job["status"] in {"succeeded", "failed"}:
            job["progress_seen"] = seen
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s: {job}")


def ended_job(client, job_id: str) -> dict:
    """The job as GET /jobs/{id} says once it has ended (``wait_for_job``), asked once the app's runner has run it:
    polled every 0.2 s while it ran, each poll cost some 14 ms of CPU, 5-10 polls for a send of a few emails. A job
    whose ending is not written by then (the database busy) is polled for as before."""
    started = time.monotonic()
    with contextlib.suppress(Exception):  # not run on this app's runner, or not ended in time: polled for
        client.app.state.tailor.jobs.wait(job_id, timeout=300)
    return wait_for_job(client, job_id, timeout=max(1.0, 300 - (time.monotonic() - started)))  # 300 s in all


def trained_shop(client, demo_files) -> None:
    """Import the demo slice (customers, products, orders, past sends) and train every model through the API."""

    def through_the_api() -> None:
        for kind in ("customers", "products", "orders", "sends"):
            assert upload(client, kind, demo_files[kind]).status_code == 200
        train = ended_job(client, client.post("/train").json()["job_id"])
        assert train["status"] == "succeeded", train["error"]

    _trained_once(client.app.state.tailor.engine, "api", demo_files, through_the_api)


def trained_in_process(engine, demo_files) -> None:
    """Import the demo slice and train every model in this process, without the API (for pipeline tests)."""
    from service.db.session import session_scope
    from service.importing import import_frame, read_table
    from service.jobs import InlineJobRunner
    from service.pipeline.training import train_all

    def in_process() -> None:
        with session_scope(engine) as session:
            for kind in ("customers", "products", "orders", "sends"):
                import_frame(session, kind, read_table(demo_files[kind]))
        InlineJobRunner(engine).submit("train", train_all, engine=engine, model=None)

    _trained_once(engine, "in_process", demo_files, in_process)


# Importing and training the demo slice took 5-8 s, for each of about 30 tests: each way of doing it runs once per
# set of settings, and later tests get what it left, the database's rows and the home folder's models, copied in.
_TRAINED_SHOPS: dict[tuple, Path] = {}
_TRAINED_ROOT = Path(tempfile.mkdtemp(prefix="tailor-trained-shops-"))
atexit.register(shutil.rmtree, _TRAINED_ROOT, ignore_errors=True)
# Settings that neither an import nor a training reads: tests that differ only in them share a trained shop. The
# public address and tracking are read by sending, unsubscribe links and the review page (service.pipeline.sending,
# service.signed_links, service.tracking), never by service.importing or service.pipeline.training.
_NOT_READ_BY_TRAINING = (
    "TAILOR_HOME", "TAILOR_LLM_", "TAILOR_SMTP_", "TAILOR_CAMPAIGN_", "TAILOR_PUBLIC_", "TAILOR_TRACK_",
)  # fmt: skip
# ... but for the campaign setting training does read: the recommender it fits.
_READ_BY_TRAINING = ("TAILOR_CAMPAIGN_RECOMMENDER",)
# What a test's empty database holds of its own, kept over a copied shop: the API key its client sends.
_KEPT_TABLES = ("api_keys",)


def _read_by_training(name: str) -> bool:
    return name in _READ_BY_TRAINING or not name.startswith(_NOT_READ_BY_TRAINING)


def _trained_once(
    engine, way: Hashable, demo_files: dict[str, Path], train: Callable[[], None],
    read: Callable[[str], bool] = _read_by_training,
) -> None:  # fmt: skip
    """``train()`` the empty SQLite database of ``engine`` the first time ``way`` is asked for with these settings
    (the TAILOR_ variables ``read`` names) and files, keeping a copy of the outcome; later, the copy instead. A
    database that already holds a shop (or a PostgreSQL one) is trained as asked, every time."""
    settings = sorted((name, value) for name, value in os.environ.items() if name.startswith("TAILOR_") and read(name))
    key = (way, tuple(sorted((kind, str(path)) for kind, path in demo_files.items())), tuple(settings))
    if engine.dialect.name != "sqlite" or not _holds_no_shop(engine):
        train()
    elif key in _TRAINED_SHOPS:
        _copy_trained_shop(_TRAINED_SHOPS[key], engine)
    else:
        train()
        _TRAINED_SHOPS[key] = _keep_trained_shop(engine)


def _holds_no_shop(engine) -> bool:
    from sqlalchemy import text

    tables = ("customers", "products", "interactions", "campaigns", "sends", "jobs")
    with engine.connect() as connection:
        return not any(connection.execute(text(f"SELECT 1 FROM {table} LIMIT 1")).first() for table in tables)


def _home_and_database(engine) -> tuple[Path, str]:
    from service.settings import home_settings

    return home_settings().home, Path(engine.url.database).name


def _keep_trained_shop(engine) -> Path:
    """A folder holding a copy of ``engine``'s database and of its home folder's other files (the models)."""
    home, database = _home_and_database(engine)
    kept = Path(tempfile.mkdtemp(dir=_TRAINED_ROOT))
    shutil.copytree(home, kept / "home", ignore=lambda _folder, names: [n for n in names if n.startswith(database)])
    raw = engine.raw_connection()
    try:
        with closing(sqlite3.connect(kept / "database.sqlite")) as copy:
            raw.driver_connection.backup(copy)
    finally:
        raw.close()
    return kept


def _copy_trained_shop(kept: Path, engine) -> None:
    """Write a kept trained shop into ``engine``'s empty database and home folder, keeping its API keys."""
    home, _ = _home_and_database(engine)
    shutil.copytree(kept / "home", home, dirs_exist_ok=True)
    raw = engine.raw_connection()
    try:
        target = raw.driver_connection
        own = {table: target.execute(f"SELECT * FROM {table}").fetchall() for table in _KEPT_TABLES}
        with closing(sqlite3.connect(kept / "database.sqlite")) as source:
            source.backup(target)
        for table, rows in own.items():
            target.execute(f"DELETE FROM {table}")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        target.commit()
    finally:
        raw.close()


@pytest.fixture
def written_by_the_fake_model(monkeypatch) -> None:
    """Campaigns generated with the fake model, for tests in which the copy's writer plays no part: the real local
    one runs only in the tests marked llm (see ``local_model_only_in_tests_marked_llm``)."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")


def use_an_unreachable_model(monkeypatch) -> None:
    """Point the LLM settings at an OpenAI-style server that is not there: a generation stops at its first call."""
    unreachable = {
        "TAILOR_LLM_MODEL": "openai/gpt-4o-mini", "TAILOR_LLM_API_BASE": f"http://127.0.0.1:{free_port()}/v1",
        "TAILOR_LLM_API_KEY": "sk-unused", "TAILOR_LLM_RETRY_BACKOFF": "0.01",  # its retries take no time
    }  # fmt: skip
    for name, value in unreachable.items():
        monkeypatch.setenv(name, value)


def generated_campaign(client, **body) -> int:
    """Create a campaign (hearth brand, cross-sell unless ``body`` says otherwise), generate it, return its id."""
    body = {"name": "Test campaign", "brand": "hearth", "campaign_type": "cross_sell", **body}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    job = ended_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert job["status"] == "succeeded", job["error"]
    return campaign_id


def trained_shop_with_campaign(client, demo_files, **body) -> int:
    """``trained_shop``, then ``generated_campaign(client, **body)``; the campaign's id. The two are done once for each
    body and set of settings (every TAILOR_ variable but the home: the model's, the sender's...) and copied into the
    later tests' empty databases, as a trained shop is (``_trained_once``): generating the campaign through the API
    took 1-2 s of CPU, for each of a dozen review-form tests that then act on its drafts."""
    from sqlalchemy import func, select

    from service.db.models import Campaign
    from service.db.session import session_scope

    engine = client.app.state.tailor.engine

    def trained_and_generated() -> None:
        trained_shop(client, demo_files)
        generated_campaign(client, **body)

    way = ("api campaign", repr(sorted(body.items())))
    _trained_once(engine, way, demo_files, trained_and_generated, read=lambda name: name != "TAILOR_HOME")
    name = body.get("name", "Test campaign")
    with session_scope(engine) as session:
        return session.scalars(select(func.max(Campaign.id)).where(Campaign.name == name)).one()


@pytest.fixture
def mail_server():
    """A real SMTP server on loopback that keeps every message it receives: (controller, messages)."""
    from email import message_from_bytes
    from email.policy import default

    from aiosmtpd.controller import Controller

    class Mailbox:
        def __init__(self) -> None:
            self.messages = []

        async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            self.messages.append(message_from_bytes(envelope.content, policy=default))
            return "250 OK"

    port = free_port()
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, mailbox.messages
    controller.stop()


def set_host_clock_off(monkeypatch, by: timedelta) -> None:
    """This process's clock ``by`` off the database's, as a host's whose clock is off: every module of the service
    that reads it reads it so (the columns' defaults keep the clock they were made with). Set again, it is ``by`` off
    the true clock, not the clock set before."""
    import sys

    from service import clock

    true_clock = getattr(clock.utcnow, "true_clock", clock.utcnow)

    def off() -> datetime:
        return true_clock() + by

    off.true_clock = true_clock
    for module in list(sys.modules.values()):
        now = getattr(module, "utcnow", None) if getattr(module, "__name__", "").startswith("service") else None
        if now is not None and getattr(now, "true_clock", now) is true_clock:
            monkeypatch.setattr(module, "utcnow", off)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_engine(request, engine):
    """The test's SQLite database, or a new one on a throwaway PostgreSQL server."""
    if request.param == "sqlite":
        yield engine
        return

    postgres = new_migrated_postgres_database(request.getfixturevalue("postgres_url"), "any_engine")
    yield postgres
    postgres.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_engine(request):
    """The database two servers (or a server and a command) share: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("engine")
        return

    engine = new_migrated_postgres_database(request.getfixturevalue("postgres_url"), "claims")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster on loopback, or the one DATABASE_URL_TEST names: one for each test process
    (started for each module, 17 of them, its initdb, start and stop took 40 s of the suite). Tests make databases
    of their own on it (new_postgres_database)."""
    if os.environ.get("DATABASE_URL_TEST"):
        yield os.environ["DATABASE_URL_TEST"]
        return
    if reason := postgres.missing():
        pytest.skip(reason)
    with postgres.throwaway_cluster(durable=False) as url:
        yield url


# Debian's chromium, which the browser tests drive through Playwright (None: those tests are skipped).
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


class _Chromium:
    """Playwright's driver and one chromium of it, for the test process: starting both took 1.6 s of CPU, for each
    of some 60 browser tests. Between Playwright's calls its event loop stays the thread's running loop, which
    would refuse every later test's ``asyncio.run`` (or ``anyio.run``): it is the running loop only during a
    browser test."""

    def __init__(self) -> None:
        import asyncio

        from playwright.sync_api import sync_playwright

        self._manager = sync_playwright()
        self._playwright = self._manager.start()
        self._loop = asyncio.events._get_running_loop()
        self._browser = None
        self.leave()

    def enter(self):
        """Playwright's loop the running one again; the browser, launched again if it went away."""
        import asyncio

        asyncio.events._set_running_loop(self._loop)
        if self._browser is None or not self._browser.is_connected():
            self._browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        return self._browser

    def leave(self) -> None:
        import asyncio

        asyncio.events._set_running_loop(None)

    def stop(self) -> None:
        self.enter()
        self._browser.close()
        self._manager.__exit__()
        self.leave()


@pytest.fixture(scope="session")
def _chromium_of_this_process():
    chromium = _Chromium()
    yield chromium
    chromium.stop()


@pytest.fixture
def browser(_chromium_of_this_process):
    """Debian's chromium driven by Playwright, for one test: the test process's, launched once. Each page it opens
    (``browser.new_page()``) and each context it makes has cookies, storage and cache of its own, as in a browser
    launched for the test; all of them are closed after the test, so nothing of theirs is left to the next."""
    browser = _chromium_of_this_process.enter()
    try:
        yield browser
        for context in list(browser.contexts):
            context.close()
    finally:
        _chromium_of_this_process.leave()


@pytest.fixture
def live_server(engine):
    """The app served by uvicorn on a free loopback port, on a thread; its base URL."""
    import uvicorn

    from service.app import create_app

    port = free_port()
    app = create_app(engine)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def lock_household_as_sender(engine, customer_ids, failures: list[Exception]) -> None:
    """Lock the customers of ``customer_ids`` in the order of their ids in one statement and commit, as a send holds
    a household (service.pipeline.contact_policy); its error (a deadlock) goes to ``failures``."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from service.db.models import Customer

    with Session(engine) as sender:
        try:
            in_order = select(Customer.id).where(Customer.id.in_(list(customer_ids))).order_by(Customer.id)
            sender.execute(in_order.with_for_update()).all()
            sender.commit()
        except Exception as error:  # noqa: BLE001 (told by the caller's assertion)
            failures.append(error)
            sender.rollback()


@pytest.fixture
def locked(engine, tailor_home):
    """Another connection holding the database's write lock, as an import's transaction does; this engine's
    connections give up after 0.2 s instead of 10. Called, it takes the lock and returns what gives it back."""
    from sqlalchemy import event

    def short_wait(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=200")

    event.listen(engine, "connect", short_wait)
    engine.dispose()
    holder = sqlite3.connect(tailor_home / "tailor.db", isolation_level=None)

    def hold():
        holder.execute("BEGIN IMMEDIATE")
        return lambda: holder.execute("ROLLBACK")

    yield hold
    holder.close()
