"""Runs the Alembic migrations programmatically, so the CLI, the service and the tests share one path."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's options are configparser values, where % starts an interpolation: a password written with %40
    # for @ stopped every command with "invalid interpolation syntax", the password in the traceback.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``, one process at a time: on PostgreSQL under an advisory lock (migrations/env.py);
    on a SQLite file under a lock on a file beside it, since its driver commits each CREATE TABLE at once and two
    processes starting together on a new database (a server and a command) both created the first table."""
    with _sqlite_file_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrating", "a") as lock:  # noqa: PTH123 (a handle to lock)
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the handle closes, also if the process dies
        yield


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)
