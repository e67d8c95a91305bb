"""Where the configured database's schema stands against this release's migrations, read without changing anything:
for `tailor db status`, before an upgrade or a downgrade. No migration runs, a SQLite file that is not there is told
and not made, and the migration lock is looked at, never waited for."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal
from urllib.request import pathname2url

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DBAPIError, NoSuchModuleError
from sqlalchemy.pool import NullPool

from service.db.migrate import (
    MIGRATION_LOCK,
    head_revision,
    known_revision,
    migration_lock_file,
    migrations_after,
    pre_migration_copy,
)
from service.db.session import (
    BUSY_TIMEOUT_MS,
    configured_url,
    database_answers,
    driver_missing,
    make_engine,
)
from service.settings import DbSettings

# up_to_date: this release serves it as it is; pending: this release's next start migrates it; newer: a newer release
# migrated it, and this one cannot start on it; no_file: the SQLite file is not there (the next start makes it).
SchemaState = Literal["up_to_date", "pending", "newer", "no_file"]


@dataclass(frozen=True)
class PreMigrationCopy:
    """The copy of a SQLite file a migration killed half way left beside it (migrate.pre_migration_copy), which the
    next start puts back before it migrates again: what it holds, read without changing it."""

    path: Path
    empty: bool  # made before the database was: the next start removes the database and makes it anew
    revision: str | None = None  # the revision it holds; None: no schema in it, or it could not be read
    unreadable: str | None = None  # why it could not be read (sqlite's words), else None


@dataclass(frozen=True)
class SchemaStatus:
    database: str  # its URL, the password hidden
    head: str  # the revision this release migrates a database to, and serves it at
    current: str | None  # the database's revision; None: no schema yet (a new database), or no file
    # the migrations this release's next start would run, oldest first: (revision, name); on the copy it puts back,
    # where a killed migration left one (``starts_from``)
    pending: list[tuple[str, str]]
    no_file: bool = False
    migrating: bool = False  # another process holds the migration lock: it migrates the database now
    copy: PreMigrationCopy | None = None  # a SQLite migration stopped half way, which the next start undoes

    @property
    def starts_from(self) -> str | None:
        """The revision this release's next start migrates from: the database's, or, where a killed migration left
        its copy, the copy's, which that start puts back first (None: a database made anew; an unreadable copy
        counts as the database's own revision, as nothing better is known of it)."""
        if self.copy is None or self.copy.unreadable is not None:
            return self.current
        return None if self.copy.empty else self.copy.revision

    @property
    def state(self) -> SchemaState:
        """no_file by the file alone; else by what the next start serves: a database at this release's revision
        beside a killed migration's copy of an older one is migrated again, not served as it is."""
        if self.no_file:
            return "no_file"
        revision = self.starts_from
        if revision == self.head and (self.copy is None or self.copy.unreadable is None):
            return "up_to_date"
        return "pending" if revision is None or known_revision(revision) else "newer"


def schema_status() -> SchemaStatus:
    """The status of DATABASE_URL's database (else the SQLite file in TAILOR_HOME); DatabaseUnavailable when it cannot
    be reached or read."""
    settings = DbSettings()
    url, shown = configured_url(settings)
    head = head_revision()
    database = make_url(url).database if make_url(url).get_backend_name() == "sqlite" else None
    path = Path(database) if database else None
    if path is not None and not path.exists():
        # the file gone and a killed migration's copy left: the next start puts the copy back, it makes no new one
        copy = _pre_migration_copy(path) if not _lock_held(path) else None
        status = SchemaStatus(shown, head, None, [], no_file=True, copy=copy)
        return replace(status, pending=migrations_after(status.starts_from))
    engine = _reading_engine(url, path, settings.connect_timeout_seconds, shown)
    try:
        with database_answers(shown), engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
            migrating = _lock_held(path) if path is not None else _advisory_lock_held(connection)
    finally:
        engine.dispose()
    current = ",".join(sorted(heads)) or None
    copy = _pre_migration_copy(path) if path is not None and not migrating else None
    status = SchemaStatus(shown, head, current, [], migrating=migrating, copy=copy)
    return replace(status, pending=migrations_after(status.starts_from))


def _pre_migration_copy(path: Path) -> PreMigrationCopy | None:
    """The copy a killed migration left beside the SQLite file at ``path`` (None when there is none), and the revision
    it holds: opened read-only and immutable, so that no journal, lock or time of the copy's is touched (it is the
    shop's data as it was before the migration, which the next start puts back)."""
    copy = pre_migration_copy(path)
    try:
        if copy.stat().st_size == 0:  # migrate._copy_aside's copy of a database not yet made
            return PreMigrationCopy(copy, empty=True)
    except FileNotFoundError:
        return None
    engine = _sqlite_reader(f"file:{pathname2url(str(copy.resolve()))}?mode=ro&immutable=1")
    try:
        with engine.connect() as connection:
            heads = MigrationContext.configure(connection).get_current_heads()
    except DBAPIError as error:
        return PreMigrationCopy(copy, empty=False, unreadable=str(error.orig))
    finally:
        engine.dispose()
    return PreMigrationCopy(copy, empty=False, revision=",".join(sorted(heads)) or None)


def _reading_engine(url: str, path: Path | None, connect_timeout_seconds: int, shown: str) -> Engine:
    """An engine that only reads: on SQLite, connections that open the file as it is and never make one (``mode=rw``,
    read-only where the file is), without the pragmas Tailor's own set; else the configured database's engine."""
    if path is not None:
        return _sqlite_reader(f"file:{pathname2url(str(path.resolve()))}?mode=rw")
    try:
        return make_engine(url, connect_timeout_seconds=connect_timeout_seconds)
    except (NoSuchModuleError, ModuleNotFoundError) as error:
        raise driver_missing(shown, error) from None


def _sqlite_reader(uri: str) -> Engine:
    """An engine on the SQLite file ``uri`` names, opened as the URI says, without the pragmas Tailor's own set."""
    timeout = BUSY_TIMEOUT_MS / 1000

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False)

    return create_engine("sqlite://", creator=connect, poolclass=NullPool)


def _lock_held(path: Path) -> bool:
    """Whether a process migrates the SQLite file at ``path`` now: it holds the lock on the file beside it
    (migrate._sqlite_file_lock). Asked without waiting, and shared for the instant of the asking: a migration that
    starts then waits no longer than that; a lock file not there is not made."""
    try:
        lock = os.open(migration_lock_file(path), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(lock)  # and with it the shared lock, if it was given
    return False


def _advisory_lock_held(connection: Connection) -> bool:
    """Whether a process migrates the PostgreSQL database now: it holds the migrations' advisory lock
    (migrations/env.py), as pg_locks shows it (a bigint key's high half in ``classid``, its low half in ``objid``),
    looked at without taking it."""
    high, low = divmod(MIGRATION_LOCK, 1 << 32)
    held = text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid::bigint = :high AND objid::bigint = :low)"
    )
    return bool(connection.execute(held, {"high": high, "low": low}).scalar())
