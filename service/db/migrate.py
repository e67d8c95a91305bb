"""Runs the Alembic migrations programmatically, so the CLI, the service and the tests share one path."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

log = logging.getLogger("tailor.db")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# On PostgreSQL, the advisory lock the migrations run under (migrations/env.py): any number, the same in every Tailor
# process; `tailor db status` looks for it held.
MIGRATION_LOCK = 7_341_202_611
# Who hears of an upgrade besides the log: a command, which logs warnings alone, tells the person on stderr.
_upgrade_listener: ContextVar[Callable[[str, str], None] | None] = ContextVar("upgrade_listener", default=None)


@contextmanager
def upgrades_told_to(listener: Callable[[str, str], None]) -> Iterator[None]:
    """Within the block, an upgrade of a database that had a schema calls ``listener(from_revision, to_revision)``:
    a newer `tailor` moved an older store's schema without a word unless the log level was INFO, and the revision
    to go back to (`tailor db downgrade`) was lost. A new database's first migration is no news, and not told."""
    token = _upgrade_listener.set(listener)
    try:
        yield
    finally:
        _upgrade_listener.reset(token)


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's options are configparser values, where % starts an interpolation: a password written with %40
    # for @ stopped every command with "invalid interpolation syntax", the password in the traceback.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


@lru_cache
def _migrations() -> ScriptDirectory:
    """This version of Tailor's migrations, read once in a process: each revision's module, and the map of which
    follows which."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The revision this version of Tailor migrates a database to, and serves it at."""
    return _migrations().get_current_head()


def known_revision(revision: str | None) -> bool:
    """Whether ``revision`` is one of this version's migrations: not one a newer version of Tailor migrated to."""
    try:
        return revision is not None and _migrations().get_revision(revision) is not None
    except CommandError:
        return False


def migrations_after(revision: str | None) -> list[tuple[str, str]]:
    """This version's migrations a database at ``revision`` (None: one not migrated yet) has still to run, oldest
    first, each as its revision and name: [("0054", "job_progress_fractions"), ...]; none for a revision this version
    does not know (a newer version migrated it)."""
    ordered = list(reversed(list(_migrations().walk_revisions())))
    revisions = [script.revision for script in ordered]
    if revision is not None and revision not in revisions:
        return []
    first = 0 if revision is None else revisions.index(revision) + 1
    return [(script.revision, Path(script.path).stem.removeprefix(f"{script.revision}_")) for script in ordered[first:]]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``, one process at a time: on PostgreSQL under an advisory lock (migrations/env.py);
    on a SQLite file under a lock on a file beside it, since its driver commits each CREATE TABLE at once and two
    processes starting together on a new database (a server and a command) both created the first table."""
    before, after = _migrate(engine, revision, _alembic_upgrade)
    if before is not None and after != before and (listener := _upgrade_listener.get()) is not None:
        listener(before, after)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate back to ``revision`` as ``upgrade`` migrates forward: one process at a time, a SQLite file copied
    aside first and put back as it was if the downgrade stops half way, and `database migrated` logged. A downgrade
    ran bare before: stopped half way on SQLite, it left a schema no version could start on."""
    _migrate(engine, revision, _alembic_downgrade)


def downgrade_problem(engine: Engine, revision: str) -> str | None:
    """Why the database cannot be moved back to ``revision``, in words for the person who asked, or None: it is not
    one of this version's revisions, or not below the database's. A database at a revision this version does not
    know is left to the downgrade to refuse (a newer version migrated it)."""
    script = _migrations()
    ordered = ["base", *reversed([script_revision.revision for script_revision in script.walk_revisions()])]
    current = _current(engine) or "base"
    if revision not in ordered:
        return f"'{revision}' is not a revision of this version of Tailor: they run from {ordered[1]} to {ordered[-1]}."
    if current in ordered and ordered.index(revision) >= ordered.index(current):
        return f"The database is at revision {current}; a downgrade goes to one below it, not to {revision}."
    return None


def _migrate(engine: Engine, revision: str, step: Callable[[Config, str], None]) -> tuple[str | None, str | None]:
    """Run the Alembic ``step`` (``_alembic_upgrade`` or ``_alembic_downgrade``) to ``revision`` under the lock and with
    the copy aside that ``upgrade`` describes, and log the revisions it went from and to; returns them. A database
    already at ``revision`` is left to itself: Alembic's run loaded migrations/env.py and every revision's module
    afresh to do nothing, at each command's and server's start (0.2 s of CPU). That is read under the SQLite file's
    lock, once a copy left by a stopped migration is put back; on PostgreSQL a migration commits its schema and its
    revision together, so a process that reads the revision still old waits for the lock in migrations/env.py."""
    with _sqlite_file_lock(engine):
        _undo_a_stopped_migration(engine)
        heads = _heads(engine)
        before = _joined(heads)
        if heads == _wanted(revision):
            return before, before
        with _undone_if_stopped(engine):
            step(alembic_config(engine), revision)
        after = _current(engine)
    if after != before:  # the revision to go back to, to undo it (README: Upgrading and rolling back)
        shown = engine.url.render_as_string(hide_password=True)
        log.info("database migrated", extra={"database": shown, "from_revision": before, "to_revision": after})
    return before, after


def _alembic_upgrade(config: Config, revision: str) -> None:
    """Alembic's ``command.upgrade`` on this process's migrations (``_migrations``): the command read every revision's
    module and built their map afresh at each call (20 ms of CPU), for each database a test, a command or a server
    migrated. migrations/env.py still runs each time: it is what migrates. The steps are those the command asks of
    its ScriptDirectory (a method Alembic does not document): an Alembic without it runs its command as before."""
    if not hasattr(_migrations(), "_upgrade_revs"):
        command.upgrade(config, revision)
        return
    _run_env(config, revision, lambda heads, _: _migrations()._upgrade_revs(revision, heads))


def _alembic_downgrade(config: Config, revision: str) -> None:
    """Alembic's ``command.downgrade`` on this process's migrations, as ``_alembic_upgrade``."""
    if not hasattr(_migrations(), "_downgrade_revs"):
        command.downgrade(config, revision)
        return
    _run_env(config, revision, lambda heads, _: _migrations()._downgrade_revs(revision, heads))


def _run_env(config: Config, revision: str, steps: Callable[[tuple[str, ...], MigrationContext], list]) -> None:
    """Run migrations/env.py, which migrates the database of ``config`` by the steps ``steps(its heads, context)``
    gives, to ``revision``."""
    if ":" in revision:  # as Alembic's commands refuse a range outside their --sql mode, which Tailor does not use
        raise CommandError("Range revision not allowed")
    with EnvironmentContext(config, _migrations(), fn=steps, destination_rev=revision):
        _migrations().run_env()


def _current(engine: Engine) -> str | None:
    """The database's revision (its heads joined by commas), None for a database not migrated yet."""
    return _joined(_heads(engine))


def _heads(engine: Engine) -> set[str]:
    """The database's heads: none for a database not migrated yet."""
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def _joined(heads: set[str]) -> str | None:
    return ",".join(sorted(heads)) or None


def _wanted(revision: str) -> set[str] | None:
    """The heads of a database at ``revision``, one of this version's migrations ("head" resolved); None for one no
    database is found at without running Alembic: "base", a relative revision ("+1"), one this version does not know
    (Alembic refuses it)."""
    target = _migrations().as_revision_number(revision)
    wanted = set(target) if isinstance(target, tuple) else {target}
    return wanted if all(known_revision(head) for head in wanted) else None


def _sqlite_file(engine: Engine) -> Path | None:
    """The engine's SQLite file; None on PostgreSQL and for a database in memory."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    return None if not database or database == ":memory:" else Path(database)


def _undo_a_stopped_migration(engine: Engine) -> None:
    """On a SQLite file, put back the copy a migration whose process was killed left (``_undone_if_stopped``)."""
    path = _sqlite_file(engine)
    if path is not None and (backup := pre_migration_copy(path)).exists():
        log.warning("a migration stopped half way is undone", extra={"database": str(path)})
        _restore(engine, path, backup)


@contextmanager
def _undone_if_stopped(engine: Engine) -> Iterator[None]:
    """On a SQLite file, a migration that fails or is stopped (Ctrl-C) leaves the database as it was before it, and
    one whose process was killed is undone at the next start (``_undo_a_stopped_migration``): SQLite's driver commits
    each schema statement at once, so a migration stopped half way left tables its revision did not record, and
    every later start failed ("table replaced_drafts already exists"). The database is copied beside itself
    (``.pre-migration``, readable by its owner alone) before a migration runs, and the copy removed once it has run.
    A start with nothing to migrate copies nothing (``_migrate`` runs none)."""
    path = _sqlite_file(engine)
    if path is None:
        yield
        return
    backup = pre_migration_copy(path)
    _copy_aside(path, backup)
    try:
        yield
    except BaseException:
        _restore(engine, path, backup)
        raise
    backup.unlink()


def _copy_aside(path: Path, backup: Path) -> None:
    """The database as it is, in ``backup`` (written whole, then renamed); an empty one for a database not yet
    created."""
    temporary = backup.with_name(f"{backup.name}.tmp")
    temporary.unlink(missing_ok=True)
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # the shop's data: its owner's alone
    if path.exists() and path.stat().st_size:
        with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(temporary)) as copy:
            source.backup(copy)
    os.replace(temporary, backup)


def _restore(engine: Engine, path: Path, backup: Path) -> None:
    """Put the database back as ``backup`` holds it (none, for an empty one), then remove the backup."""
    engine.dispose()  # the pool's connections saw the half-migrated schema
    if backup.stat().st_size == 0:
        for leftover in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            leftover.unlink(missing_ok=True)
    else:
        with closing(sqlite3.connect(backup)) as source, closing(sqlite3.connect(path)) as database:
            source.backup(database)
    backup.unlink()


def pre_migration_copy(path: Path) -> Path:
    """Where the copy of the SQLite file at ``path`` from before a migration lies while it runs, and stays if it
    stops half way (the next start puts it back): `tailor db status` tells that it is there."""
    return path.with_name(f"{path.name}.pre-migration")


def migration_lock_file(path: Path) -> Path:
    """The file beside the SQLite file at ``path`` whose lock a migration holds (``_sqlite_file_lock``), which
    `tailor db status` asks about without waiting."""
    return path.with_name(f"{path.name}.migrating")


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    path = _sqlite_file(engine)
    if path is None:
        yield
        return
    with migration_lock_file(path).open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the handle closes, also if the process dies
        yield
