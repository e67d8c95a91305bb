"""Shared fixtures: an isolated TAILOR_HOME per test session, a migrated SQLite database, API clients."""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="tailor-test-home-"))
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["TAILOR_HOME"] = str(_HOME)
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# The local model computes on one thread in the tests (and the commands they start): `make test` runs its tests beside
# the other tests' workers, and on two threads each of its steps waited for both, one often without a core.
os.environ.setdefault("TAILOR_LLM_THREADS", "1")
# OpenMP's threads sleep when they wait instead of spinning (set before scikit-learn's libgomp is loaded, which reads
# it once): on two busy cores a thread waiting at each of the trees' barriers spun for its partner, which often had
# no core. The churn trees' test on two threads took 9.7 s of CPU where one thread took 1.9; passive, 2.3 s. The
# results do not change (only how a waiting thread waits).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TAILOR_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def free_port() -> int:
    """A loopback port nothing listens on (once this returns): for a test server, or for a server that is not
    there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# Python's cyclic collector scans every tracked object in its oldest generation each time the objects that outlived
# younger collections grow by a quarter: a test process holds two million (pandas, SQLAlchemy, FastAPI, litellm,
# torch, and the trained shops kept for later tests), and a test adding a few hundred thousand started another such
# scan. On two test files it was a gen-2 collection every three tests, 25 s of 133. After each test, what is left is
# collected and the survivors are frozen (kept out of later scans: they are the process's own for good); every
# ``_THAW_EVERY`` tests all of them are scanned again, so that a cycle that became garbage later is still freed.
_THAW_EVERY = 200
_finished_tests = 0


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    """Test modules are imported with the cyclic collector off, and what they hold is frozen before the first test:
    while a process collects the suite its objects grow to some 420,000 (and 300,000 more of garbage cycles), and
    each growth by a quarter started another scan of all of them. Collecting the whole suite took 19.7 CPU-s with 21
    gen-2 collections where the test modules were compiled (a fresh clone: `make test`'s workers), 12.5 without;
    10.2 with 7 and 7.9 where their bytecode was cached (2 loaded cores; peak memory 12 MB more)."""
    gc.disable()
    try:
        return (yield)
    finally:
        gc.enable()
        gc.collect()
        gc.freeze()


def pytest_runtest_logfinish(nodeid, location):
    global _finished_tests
    _finished_tests += 1
    if _finished_tests % _THAW_EVERY == 0:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture
def server_in_new_york():
    """The process's local zone set to America/New_York (UTC-5 in winter, -4 in summer) for one test, as a server
    run with TZ=America/New_York has it; the zone is restored after."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        yield
    time.tzset()


@pytest.fixture
def tailor_home(tmp_path, monkeypatch) -> Path:
    """A fresh TAILOR_HOME (models folder, database file) for one test."""
    from tests.homes import nothing_cached_from_another_home

    monkeypatch.setenv("TAILOR_HOME", str(tmp_path))
    with nothing_cached_from_another_home():
        yield tmp_path


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A SQLite database file migrated to the latest revision, once: each test's database starts as a copy of it
    (migrating took 0.2 s, for each of several hundred tests)."""
    from service.db.migrate import upgrade
    from service.db.session import make_engine

    path = tmp_path_factory.mktemp("migrated") / "tailor.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed folds the write-ahead log into the file
    return path


@pytest.fixture
def engine(tailor_home, migrated_database):
    """A migrated SQLite database file of its own."""
    from service.db.session import make_engine

    shutil.copyfile(migrated_database, tailor_home / "tailor.db")
    (tailor_home / "tailor.db").chmod(0o600)  # as the service makes one
    engine = make_engine(f"sqlite:///{tailor_home / 'tailor.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def api_key(engine) -> str:
    from service.auth import create_key
    from service.db.session import session_scope

    with session_scope(engine) as session:
        return create_key(session, "tests")


@pytest.fixture
def client(engine, api_key):
    """A TestClient on the real app, sending the API key on every request."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def local_model_only_in_tests_marked_llm(request, monkeypatch):
    """The real local model starts only in the tests marked ``llm``, which `make test` runs in a process of its own
    at a higher priority than the other tests' workers: among them it was starved (two scoring tests that wrote
    their copy with it, unmarked, waited minutes on a generation on a loaded machine). A test that needs no copy of
    the model's sets ``TAILOR_LLM_MODEL=fake``. The refusal is raised where the model would start and told again as
    the test ends, for a caller that falls back."""
    if request.node.get_closest_marker("llm") is not None:
        yield
        return
    from generation.llm import local

    refusal = "this test started the real local model: mark it `llm` (run apart), or set TAILOR_LLM_MODEL=fake"
    started = []

    def refused(settings):
        started.append(settings)
        raise AssertionError(refusal)

    monkeypatch.setattr(local, "start_server", refused)
    yield
    assert not started, refusal
