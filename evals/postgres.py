"""A throwaway PostgreSQL cluster on loopback, from the server binaries on PATH (initdb, pg_ctl), and new empty
databases on a server: for the tests (tests/service/conftest.py) and for benchmarks measured on PostgreSQL."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from evals.loopback import free_port


class PostgresUnavailable(RuntimeError):
    """No cluster can be started here; the message says what is missing."""


def missing() -> str | None:
    """Why no throwaway cluster can be started here, or None when one can."""
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        return "PostgreSQL server binaries (initdb, pg_ctl) are not installed"
    if os.geteuid() == 0 and not shutil.which("runuser"):
        return "running as root without runuser to start PostgreSQL as another user"
    try:
        import psycopg  # noqa: F401 (the driver the URL names)
    except ImportError:
        return "install the postgres extra: pip install -e '.[postgres]'"
    return None


@contextmanager
def throwaway_cluster(durable: bool = True) -> Iterator[str]:
    """A new cluster, trusting local connections, started for the block and removed after it; yields its
    ``postgres`` database's URL (user ``tailor``). PostgresUnavailable when ``missing()`` says why not.
    ``durable=False`` runs it with fsync off, for tests: nothing they write is kept past the block, and waiting for
    the disk is not what they measure (stopping the tests' cluster, which wrote out every database the tests had
    made, took 8-40 s of a test process's end). Benchmarks keep it on, as a real server has it."""
    if reason := missing():
        raise PostgresUnavailable(reason)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    # Outside pytest's private tmp folder, so that an unprivileged server user can reach it.
    data = Path(tempfile.mkdtemp(prefix="tailor-pg-")) / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use the unprivileged 'nobody'
        data.parent.chmod(0o777)
        run_as = ["runuser", "-u", "nobody", "--"]
    try:
        subprocess.run([*run_as, initdb, "-D", str(data), "-U", "tailor", "-A", "trust"], check=True,
                       capture_output=True)  # fmt: skip
        port = free_port()
        options = f"-p {port} -k {data.parent} -h 127.0.0.1" + ("" if durable else " -F")
        subprocess.run([*run_as, pg_ctl, "-D", str(data), "-o", options, "-l", str(data.parent / "pg.log"), "-w",
                        "start"], check=True, capture_output=True)  # fmt: skip
        try:
            yield f"postgresql+psycopg://tailor@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run([*run_as, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
    finally:
        shutil.rmtree(data.parent, ignore_errors=True)


def new_database(server_url: str, prefix: str, template: str | None = None):
    """An engine on a new, empty database of the server at ``server_url`` (named ``prefix`` and a random suffix),
    so that a run starts from nothing whatever others left on the server; with ``template``, a copy of that
    database instead."""
    from sqlalchemy import text

    from service.db.session import make_engine

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    server = make_engine(server_url).execution_options(isolation_level="AUTOCOMMIT")
    for attempt in range(20):
        try:
            with server.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
            break
        except Exception:  # the server may still be starting
            if attempt == 19:
                raise
            time.sleep(0.5)
    server.dispose()
    return make_engine(server_url.rsplit("/", 1)[0] + f"/{name}")


_TEMPLATES: dict[str, str] = {}


def new_migrated_database(server_url: str, prefix: str):
    """An engine on a new database of the server at ``server_url`` holding the latest schema and nothing else:
    a copy of a template database that this process migrated once on that server (migrating each new database
    took 1-2 s of the client's and the server's time)."""
    from service.db.migrate import upgrade

    if server_url not in _TEMPLATES:
        template = new_database(server_url, "migrated_template")
        upgrade(template)
        template.dispose()  # a database is copied only while no one is connected to it
        _TEMPLATES[server_url] = template.url.database
    return new_database(server_url, prefix, template=_TEMPLATES[server_url])
