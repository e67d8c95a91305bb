"""`tailor db status`: where the database's schema stands against this release (its revision, the one served, the
migrations pending, a migration running now), read without changing anything, with an exit status for scripts."""

from __future__ import annotations

import fcntl
import threading
import time

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from service.cli import app
from service.db.migrate import MIGRATION_LOCK, downgrade, head_revision, migrations_after
from service.db.session import make_engine
from tests import forked_cli
from tests.service.conftest import new_migrated_postgres_database, new_postgres_database
from tests.service.test_db_downgrade import _revision


@pytest.fixture
def database(engine, tailor_home, monkeypatch):
    """The file of TAILOR_HOME's database, at the latest revision (the ``engine`` fixture's copy)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    engine.dispose()
    return tailor_home / "tailor.db"


def _status():
    return CliRunner().invoke(app, ["db", "status"])


def test_a_database_up_to_date_is_said_so_and_left_as_it_was(database):
    before = (
        sorted(path.name for path in database.parent.iterdir()),
        database.read_bytes(),
        database.stat().st_mtime_ns,
    )
    status = _status()
    assert status.exit_code == 0, status.output
    assert status.output.splitlines() == [
        f"database: sqlite:///{database}",
        f"revision: {head_revision()}",
        f"this release serves: {head_revision()}",
        "up to date: this release serves the database as it is",
    ]
    after = (
        sorted(path.name for path in database.parent.iterdir()),
        database.read_bytes(),
        database.stat().st_mtime_ns,
    )
    assert after == before  # no write-ahead log, no lock file left beside it, not even its time touched


def test_a_database_behind_names_the_migrations_pending_and_is_not_migrated(database):
    engine = make_engine(f"sqlite:///{database}")
    downgrade(engine, "0052")
    engine.dispose()
    status = _status()
    assert status.exit_code == 3, status.output
    assert "revision: 0052\n" in status.output
    pending = f"pending: {int(head_revision()) - 52} migrations\n"  # later releases' migrations come after these
    assert pending + "  0053 earlier_message_ids\n  0054 job_progress_fractions\n  0055 erased_shop_send_ids\n" in (
        status.output
    )
    assert status.output.splitlines()[-1].startswith(f"behind this release: its next start (the server or a command) "
                                                     f"migrates the database to {head_revision()}")  # fmt: skip
    assert _revision(database) == "0052"


def test_a_database_a_newer_release_migrated_is_told_apart_from_one_behind(database):
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    status = _status()
    assert status.exit_code == 4, status.output
    assert "revision: 9999\n" in status.output and "pending" not in status.output
    assert f"that release's `tailor db downgrade {head_revision()}`" in status.output
    assert _revision(database) == "9999"


def test_a_sqlite_file_not_there_is_told_and_not_made(tailor_home, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    missing = tailor_home / "not-yet" / "tailor.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    status = _status()
    assert status.exit_code == 5, status.output
    assert "revision: none: the database file is not there\n" in status.output
    assert (
        f"pending: all {int(head_revision())} of this release's migrations, 0001 to {head_revision()}" in status.output
    )
    assert not missing.parent.exists()  # nor its folder


def test_a_migration_running_now_is_told_without_waiting_for_it(database):
    """The migration lock is looked at, not waited for: a command that waited for it held the operator up as long
    as the migration ran; one that took it held the migration up."""
    with open(f"{database}.migrating", "a") as lock:  # noqa: PTH123 (a handle to lock, as service.db.migrate's)
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        status = _status()
        assert time.monotonic() - started < 5
    assert status.exit_code == 0, status.output
    assert "migrating now: another process holds the migration lock" in status.output


def test_a_migration_stopped_half_way_is_told_with_what_the_next_start_does(database):
    database.with_name("tailor.db.pre-migration").write_bytes(database.read_bytes())
    status = _status()
    assert status.exit_code == 0, status.output
    assert "a migration stopped half way" in status.output and "the next start puts the database back" in status.output
    assert database.with_name("tailor.db.pre-migration").exists()  # left for the next start to put back


def _killed_migration_copy(database, revision: str | None):
    """The copy a SQLite migration makes beside ``database`` before it runs (migrate._undone_if_stopped), left as a
    killed one leaves it: of the database at ``revision`` (None: of one not yet made, which the copy holds empty)."""
    import shutil

    from service.db.migrate import _copy_aside, pre_migration_copy

    copy = pre_migration_copy(database)
    if revision is None:
        _copy_aside(database.with_name("never-made.db"), copy)
        return copy
    older = database.with_name("older.db")
    shutil.copyfile(database, older)
    older.chmod(0o600)  # as the service makes one
    engine = make_engine(f"sqlite:///{older}")
    downgrade(engine, revision)
    engine.dispose()
    _copy_aside(older, copy)
    for leftover in database.parent.glob("older.db*"):
        leftover.unlink()
    return copy


def _untouched(copy):
    files = sorted(path.name for path in copy.parent.iterdir())
    return copy.read_bytes(), copy.stat().st_mtime_ns, copy.stat().st_mode, files


def test_a_killed_migration_s_copy_is_told_with_the_revision_it_holds_read_without_a_change(database):
    """The status said a copy was there, not what it held: the revision the next start puts back, before it migrates
    the database again, is the one an operator backs up or downgrades from."""
    copy = _killed_migration_copy(database, "0052")
    before = _untouched(copy)
    status = _status()
    assert (
        f"a migration stopped half way: the copy of the database from before it, {copy}, holds revision 0052; the "
        f"next start puts the database back as that copy holds it, then migrates it to {head_revision()}\n"
    ) in status.output
    assert _untouched(copy) == before  # read, never written, moved or locked: no journal beside it
    assert _revision(database) == head_revision()
    # The file is at this release's revision, but the next start serves it from the copy: the migrations after 0052
    # run again. It said "up to date: this release serves the database as it is", exit 0, for a script to go ahead.
    assert status.exit_code == 3, status.output
    listed = [f"  {revision} {name}" for revision, name in migrations_after("0052")]
    assert f"pending: {len(listed)} migrations\n" + "\n".join(listed) + "\n" in status.output
    assert "up to date" not in status.output


def test_a_killed_migration_of_a_new_database_is_told_as_a_copy_of_no_database(database):
    copy = _killed_migration_copy(database, None)
    assert copy.stat().st_size == 0  # as the migration code makes it for a database not yet made
    before = _untouched(copy)
    status = _status()
    assert status.exit_code == 3, status.output  # every migration runs again, on the database made anew
    assert f"pending: all {len(migrations_after(None))} of this release's migrations" in status.output
    assert (
        f"a migration stopped half way: the copy of the database from before it, {copy}, is empty (the database was "
        f"not there yet); the next start removes the database and makes it anew at revision {head_revision()}\n"
    ) in status.output
    assert _untouched(copy) == before


def test_a_killed_migration_s_copy_beside_a_database_file_not_there_is_told_not_a_new_database(database):
    """The file gone (moved, deleted) and the copy left: the status said the next start makes a new database, but it
    puts the copy back, with the shop's data, at the copy's revision."""
    copy = _killed_migration_copy(database, "0052")
    database.unlink()
    status = _status()
    assert status.exit_code == 5, status.output
    assert f"{copy}, holds revision 0052; the next start puts the database back" in status.output
    assert "makes it, at revision" not in status.output and not database.exists()


def test_a_server_writing_meanwhile_is_not_held_up(database):
    """A server's write transaction open while the status is read: the status answers, and the server's write
    commits after it without waiting (the status holds no lock of the database's once it answered)."""
    import sqlite3

    writer = sqlite3.connect(database, timeout=0)  # a writer that would fail at once rather than wait
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE alembic_version SET version_num = version_num")
    status = _status()
    writer.commit()
    writer.execute("BEGIN IMMEDIATE")
    writer.rollback()
    writer.close()
    assert status.exit_code == 0, status.output


@pytest.mark.postgres
def test_on_postgresql_the_password_is_hidden_and_a_running_migration_told(postgres_url, monkeypatch):
    """The cluster trusts local connections: the password in the URL is taken, and must not be shown."""
    migrated = new_migrated_postgres_database(postgres_url, "status")
    url = migrated.url.set(password="s3cret-pw").render_as_string(hide_password=False)
    monkeypatch.setenv("DATABASE_URL", url)
    status = _status()
    assert status.exit_code == 0, status.output
    assert "s3cret-pw" not in status.output and f"revision: {head_revision()}\n" in status.output
    assert status.output.splitlines()[0] == f"database: {migrated.url.set(password='***').render_as_string()}"

    held, release = threading.Event(), threading.Event()

    def migrating() -> None:  # the lock a migration holds to the end of its transaction (migrations/env.py)
        with migrated.begin() as connection:
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            held.set()
            release.wait(30)

    thread = threading.Thread(target=migrating)
    thread.start()
    try:
        assert held.wait(30)
        during = _status()
    finally:
        release.set()
        thread.join()
    assert during.exit_code == 0 and "migrating now" in during.output, during.output
    migrated.dispose()

    empty = new_postgres_database(postgres_url, "status_empty")
    monkeypatch.setenv("DATABASE_URL", empty.url.render_as_string(hide_password=False))
    new = _status()
    assert new.exit_code == 3 and "revision: none: no schema yet (a new, empty database)\n" in new.output, new.output
    with empty.connect() as connection:  # nothing was made in it
        tables = connection.exec_driver_sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").scalar()
    assert tables == 0
    empty.dispose()


def test_a_file_that_is_no_database_is_one_line_of_error_not_a_traceback(tmp_path):
    """TAILOR_HOME's tailor.db replaced by another file (a wrong restore): the status, and every other command, ended
    in SQLAlchemy's traceback of "file is not a database"."""
    import os
    import sys
    from pathlib import Path

    (tmp_path / "tailor.db").write_bytes(b"not a database, but a file of some other kind " * 20)
    (tmp_path / "tailor.db").chmod(0o600)  # as Tailor makes its own: no warning to make it so
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    tailor = str(Path(sys.executable).with_name("tailor"))
    for command in (["db", "status"], ["keys", "list"]):
        told = forked_cli.run([tailor, *command], capture_output=True, text=True, env=env, timeout=120)
        assert told.returncode == 2, told.stderr
        assert told.stderr == (
            f"error: The database sqlite:///{tmp_path / 'tailor.db'} cannot be read: file is not a database. Is it "
            "the file DATABASE_URL (or TAILOR_HOME) should name?\n"
        )
