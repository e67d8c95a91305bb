"""Engine and session factory for the configured database, migrated to the latest schema on first use."""

from __future__ import annotations

import atexit
import contextlib
import itertools
import logging
import os
import socket
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from service.errors import DatabaseUnavailable
from service.settings import DbSettings, home_settings

log = logging.getLogger("tailor.db")
BUSY_TIMEOUT_MS = 10_000  # how long an SQLite connection waits for another's lock before it gives up
# The PostgreSQL advisory lock under which jobs that run one at a time are checked for and queued (see
# one_submission_at_a_time): any number, the same in every Tailor process (the migrations' is 7_341_202_611, the
# customers imports' 7_341_202_612).
SUBMISSION_LOCK = 7_341_202_613


def _lower(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


def _local_hour(moment: str | None, timezone: str) -> int | None:
    """The hour of the clock in ``timezone`` at ``moment`` (a UTC time as SQLite keeps it): PostgreSQL converts
    with ``timezone()``, SQLite knows no zones."""
    if moment is None:
        return None
    return datetime.fromisoformat(moment).replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).hour


def _configure_sqlite(dbapi_connection, _record) -> None:
    """Foreign keys, WAL, a busy timeout and deletes that overwrite what they delete on each SQLite connection;
    and a ``lower()`` that lowers every alphabet, as PostgreSQL's does: SQLite's own lowers ASCII letters only, so
    a search for a customer named "Михаил" by "михаил" (or even by "Михаил", lowered on the Python side) found
    nobody; and ``tailor_local_hour``, for send hours on the shop's clock (service.pipeline.frames)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA secure_delete=ON")  # what is deleted is overwritten, whatever the build's default
    cursor.close()
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)
    dbapi_connection.create_function("tailor_local_hour", 2, _local_hour, deterministic=True)


def empty_write_ahead_log(engine: Engine) -> None:
    """On SQLite, write the write-ahead log (``tailor.db-wal``) into the database file and empty it, after an
    erasure: the log kept the erased customer's pages as they were, readable in the file until later writes
    happened to overwrite them. Best effort: a reader still on an older snapshot leaves the log for the next time.
    Without waiting: a checkpoint that waits for readers holds the write lock meanwhile, and a reader of a long
    job kept the erasure's answer and every other write waiting for the busy timeout (10 s)."""
    if engine.dialect.name == "sqlite":
        with contextlib.suppress(OperationalError), engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA busy_timeout=0")
            try:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:  # the connection goes back to the pool, for writes that wait their turn
                connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _warn_if_others_may_read(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning(
            "the database file may be read or written by other users of this machine: it holds the shop's "
            "customers; run chmod 600 on it",
            extra={"path": str(path), "mode": oct(mode)},
        )


def make_engine(url: str, echo: bool = False, connect_timeout_seconds: int = 10) -> Engine:
    """The engine for ``url``. Its errors never quote the statement's values (``hide_parameters``): those are the
    shop's customers, addresses included, and an error reaches logs, job rows and tracebacks. ``echo`` logs each
    statement through the ``sqlalchemy.engine`` logger (JSON lines on stderr where ``service.logs`` is configured),
    not as SQLAlchemy's own plain text on stdout, which mixed with a command's output."""
    options = _echo_options() if echo else {}
    if url.startswith("sqlite:///"):
        # The file's path without the URL's query (?timeout=...), which made a file of that name.
        database = make_url(url).database or ""
        if database.startswith("file:"):  # it made a folder named "file:" where Tailor ran, and migrated there
            raise DatabaseUnavailable(
                "DATABASE_URL: SQLite's URI form (sqlite:///file:...) is not supported; give the file's path, such as "
                "sqlite:////srv/tailor/tailor.db"
            )
        if database not in ("", ":memory:"):
            path = Path(database)
            if path.is_dir():  # SQLite said "unable to open database file" after a warning to chmod the folder
                raise DatabaseUnavailable(
                    f"DATABASE_URL names the folder {path}, not a file: give the database file's path, such as "
                    f"sqlite:///{path / 'tailor.db'}"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            # The shop's customers, and the API keys' hashes: readable by this user only (SQLite gives its WAL the
            # database's permissions); a file that exists keeps those it has, with a warning if others may read it.
            path.touch(mode=0o600, exist_ok=True)
            _warn_if_others_may_read(path)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True, **options
        )
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # A database host that accepts the connection but never answers (a stopped server, a firewall that drops
    # packets) kept every command and /health waiting for ever: libpq's default is no connect timeout. One gone
    # once connected (its machine down, the network cut) left the pool's ping of an open connection unanswered for
    # the kernel's retransmissions, some 15 minutes, /health and each request with it: what was sent and is not
    # acknowledged within the same time fails the connection (TCP_USER_TIMEOUT, where the system has it), while the
    # connection is made and while it waits in the pool, not while it is used (``_sends_bounded``).
    postgres = make_url(url).get_backend_name() == "postgresql"
    user_timeout_ms = connect_timeout_seconds * 1000
    timeouts = {"connect_timeout": connect_timeout_seconds, "tcp_user_timeout": user_timeout_ms}
    connect_args = timeouts if postgres else {}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, hide_parameters=True, **options)
    if postgres:
        event.listen(engine, "checkout", lambda dbapi_connection, _record, _proxy: _sends_bounded(dbapi_connection, 0))
        event.listen(
            engine, "checkin", lambda dbapi_connection, _record: _sends_bounded(dbapi_connection, user_timeout_ms)
        )
    return engine


def _sends_bounded(dbapi_connection, milliseconds: int) -> None:
    """Set how long what the connection sends may go unacknowledged before the kernel drops it (TCP_USER_TIMEOUT;
    0: the system's retransmissions, some 15 minutes). Bounded only outside its use (the pool's ping): Linux counts
    a closed TCP window as unacknowledged too, and a pipelined write (psycopg's executemany, an import's bulk
    updates) waiting behind another's lock, its rest unread by the server, lost its connection after the connect
    timeout ("could not receive data from server: Connection timed out") though the server answered throughout.
    Nothing to do on a Unix socket, a system without the option, or a connection already closed."""
    if dbapi_connection is None or dbapi_connection.closed or not hasattr(socket, "TCP_USER_TIMEOUT"):
        return
    try:
        copy = socket.socket(fileno=os.dup(dbapi_connection.fileno()))  # closing the copy closes nothing
    except OSError:  # its socket gone meanwhile
        return
    with copy:
        if copy.family in (socket.AF_INET, socket.AF_INET6):
            copy.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, milliseconds)


_echoing = itertools.count(1)


def _echo_options() -> dict[str, str]:
    """An echoing engine's own logger (``sqlalchemy.engine.Engine.echoN``) at INFO: raising the shared logger's
    level made every engine made later in the process log its statements too."""
    name = f"echo{next(_echoing)}"
    logging.getLogger(f"sqlalchemy.engine.Engine.{name}").setLevel(logging.INFO)
    return {"logging_name": name}


@lru_cache
def default_engine() -> Engine:
    """The engine of DATABASE_URL (else the SQLite file in TAILOR_HOME), migrated; DatabaseUnavailable saying why
    when that URL cannot be used."""
    from service.db.migrate import upgrade

    return configured_engine(upgrade)


def configured_engine(migrate: Callable[[Engine], None]) -> Engine:
    """The engine of DATABASE_URL (else the SQLite file in TAILOR_HOME) once ``migrate(engine)`` has run (an
    upgrade; `tailor db downgrade`'s downgrade); DatabaseUnavailable saying why when that URL cannot be used."""
    settings = DbSettings()
    url, shown = configured_url(settings)
    try:
        engine = make_engine(url, settings.echo, settings.connect_timeout_seconds)
    except (NoSuchModuleError, ModuleNotFoundError) as error:  # the engine imports its driver as it is made
        raise driver_missing(shown, error) from None
    except OSError as error:  # a SQLite file whose folder cannot be made or written: it said only the path's error
        fix = (
            "give DATABASE_URL a file in a folder Tailor can write"
            if settings.url
            else f"set TAILOR_HOME ({home_settings().home}) to a folder Tailor can write"
        )
        reason = (error.strerror or str(error)).lower()
        raise DatabaseUnavailable(f"The database {shown} cannot be made: {error.filename}: {reason}; {fix}") from None
    with database_answers(shown):
        migrate(engine)
    if problem := case_folding_problem(engine):
        log.warning(problem, extra={"database": shown})
    if engine.dialect.name == "sqlite":
        # Its connections closed as the process ends, the last one writes the write-ahead log into the file and
        # removes it: left open, every command and stopped server left a tailor.db-wal beside the file, and a backup
        # copied over tailor.db (a restore) had that log's later writes replayed onto it.
        atexit.register(engine.dispose)
    return engine


def configured_url(settings: DbSettings) -> tuple[str, str]:
    """The URL of ``settings`` (DATABASE_URL, else the SQLite file in TAILOR_HOME), and the same as shown to people,
    its password hidden; DatabaseUnavailable when it is no database URL, or names no SQLite file."""
    url = settings.resolved_url()
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # ValueError: a port that is no number (":5432x"), a traceback before
        raise DatabaseUnavailable(
            "DATABASE_URL is not a database URL; give one such as sqlite:///var/tailor.db or "
            "postgresql+psycopg://user:password@host/db"
        ) from None
    if url.startswith("sqlite:") and make_url(url).database in (None, "", ":memory:"):
        # "sqlite:///$DB_PATH" with the variable unset: every command succeeded on a database that went with it
        raise DatabaseUnavailable(
            f"DATABASE_URL ({url}) names no database file, so all written to it would be lost as the process "
            "ends; give the file's path, such as sqlite:////srv/tailor/tailor.db"
        )
    return url, shown


def driver_missing(shown: str, error: Exception) -> DatabaseUnavailable:
    """The error for the database ``shown``, whose driver could not be imported (``error``)."""
    return DatabaseUnavailable(
        f"The database {shown} needs a driver that is not installed ({error}); for PostgreSQL install the "
        "`postgres` extra (pip install -e '.[postgres]'), whose driver is psycopg: postgresql+psycopg://..."
    )


@contextmanager
def database_answers(shown: str) -> Iterator[None]:
    """Within the block, the database ``shown`` not reached, refusing what it is asked, or at a revision this version
    has no migration for, is DatabaseUnavailable saying so."""
    try:
        yield
    except OperationalError as error:
        reason = " ".join(str(error.orig or error).split())[:300]
        raise DatabaseUnavailable(f"The database {shown} cannot be reached: {reason}") from None
    except ProgrammingError as error:  # PostgreSQL refused the user (InsufficientPrivilege): no CREATE, no SELECT
        reason = " ".join(str(error.orig or error).split("\n")[0].split())[:300]
        raise DatabaseUnavailable(
            f"The database {shown} (DATABASE_URL) refused what Tailor asked of it: {reason}. Its user must own the "
            "database, or be granted CREATE on its schema and every privilege on Tailor's tables, to migrate and "
            "use it."
        ) from None
    except DatabaseError as error:
        if type(error.orig).__name__ != "DatabaseError":  # an IntegrityError, say: a fault of the migration's own
            raise
        # SQLite's "file is not a database" (another file put in its place), "database disk image is malformed"
        reason = " ".join(str(error.orig).split())[:300]
        raise DatabaseUnavailable(
            f"The database {shown} cannot be read: {reason}. Is it the file DATABASE_URL (or TAILOR_HOME) should name?"
        ) from None
    except CommandError as error:  # a schema this version has no migration for: a newer Tailor migrated it
        raise DatabaseUnavailable(
            f"The database {shown} was migrated by another version of Tailor ({error}); this one cannot use it. "
            "Run the version that migrated it, or one newer."
        ) from None


def case_folding_problem(engine: Engine) -> str | None:
    """Why the database cannot find a customer by id or name whatever their case, or None: a PostgreSQL database
    whose character type is C (``initdb`` without a locale) lowers ASCII letters only, so the review page's search
    for "михаил" does not find "Михаил" (service.drafts lowers ids and names in SQL). Addresses are compared by
    keys computed in Python (``Customer.email_key``), right on any database. SQLite lowers every alphabet
    (``_configure_sqlite``)."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        folds = connection.exec_driver_sql("SELECT lower('ÄΩЖ') = 'äωж'").scalar()
        ctype = connection.exec_driver_sql("SHOW lc_ctype").scalar()
    if folds:
        return None
    return (
        f"the database's character type ({ctype}) lowers ASCII letters only: a search for a customer by id or first "
        "name in another alphabet finds them only in the case they were imported in (addresses are not affected). "
        "Create the database with a UTF-8 locale (CREATE DATABASE ... TEMPLATE template0 LC_CTYPE 'C.UTF-8' "
        "LC_COLLATE 'C.UTF-8', or initdb --locale=C.UTF-8)"
    )


@lru_cache
def _factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return _factory(engine or default_engine())


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls everything back when it raises."""
    session = session_factory(engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def wait_for_locks_bounded(session: Session, milliseconds: int | None = None) -> None:
    """On PostgreSQL, have each transaction of ``session`` wait at most ``milliseconds`` (``BUSY_TIMEOUT_MS`` unless
    given) for a row or table another transaction holds, as SQLite's busy timeout bounds the wait of its writers: a
    customers import holds the rows of its file's customers until it commits (12 to 16 s at 100,000), and an API write
    to one of them (an erasure) waited that long, holding one of the server's request threads, however long the file.
    The statement then fails as busy (``service.errors.is_database_busy``), which the API answers 503 with
    Retry-After, nothing of it written."""
    if session.get_bind().dialect.name != "postgresql":
        return
    wait = BUSY_TIMEOUT_MS if milliseconds is None else max(1, milliseconds)  # 0 would be no bound at all

    @event.listens_for(session, "after_begin")
    def _bounded(_session: Session, _transaction, connection) -> None:
        connection.exec_driver_sql(f"SET LOCAL lock_timeout = {wait}")


def take_the_write_lock(session: Session, wait: bool = True) -> bool:
    """On SQLite, take the database's one write lock now, for the rest of the session's transaction (``BEGIN
    IMMEDIATE``, which waits the busy timeout for another writer), so that no other process writes between what the
    transaction reads next and its commit; whether it was taken (False on PostgreSQL, which locks rows instead:
    ``SELECT ... FOR UPDATE``, which SQLite ignores). pysqlite begins a transaction only at its first write, so two
    processes could both read "not yet" and both write. Taken at BEGIN, not upgraded from a read: under WAL, a
    transaction that read before another's commit cannot write (SQLITE_BUSY_SNAPSHOT, which the busy timeout does
    not wait out). A transaction that wrote already holds it. For this transaction only: SQLAlchemy's recipe (the
    engine's every BEGIN emitted by hand) would hold a snapshot over every session's reads, and its every write
    would meet that error when another process wrote since. With ``wait=False``, another writer is not waited for:
    an OperationalError ("database is locked") says one holds the lock (recovery, which must not read jobs' beats
    that another's write holds back, leaves them to its next sweep)."""
    if session.get_bind().dialect.name != "sqlite":
        return False
    connection = session.connection()
    if connection.connection.dbapi_connection.in_transaction:  # it wrote: it holds the lock already
        return True
    if wait:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite had begun nothing: no write yet
        return True
    driver = connection.connection.driver_connection
    waits = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    driver.execute("PRAGMA busy_timeout=0")
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    finally:
        driver.execute(f"PRAGMA busy_timeout={waits}")
    return True


def one_submission_at_a_time(session: Session) -> None:
    """Hold, until the session's transaction ends, the submissions of the jobs that run one at a time, in every process
    on the session's database: SQLite's write lock (``take_the_write_lock``), PostgreSQL's advisory lock
    ``SUBMISSION_LOCK``. Taken before the checks read anything (``JobRunner.submit_checked``, a request to generate a
    campaign): two servers' schedules that looked for a live retrain at the same moment both found none and both
    queued one, two trainings of the same data; the second now waits for the first's row, and sees it."""
    if not take_the_write_lock(session) and session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({SUBMISSION_LOCK})"))


@contextmanager
def busy_wait_at_most(session: Session, milliseconds: int) -> Iterator[None]:
    """On SQLite, have the session's connection wait at most ``milliseconds`` (never longer than its busy timeout)
    for another's write lock within the block, for a write that has a better way than waiting when the lock is held
    (service.unsubscribe keeps its unsubscribe on disk); the connection's own wait again after it."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    driver = session.connection().connection.driver_connection
    waits = driver.execute("PRAGMA busy_timeout").fetchone()[0]
    driver.execute(f"PRAGMA busy_timeout={min(waits, milliseconds)}")
    try:
        yield
    finally:
        driver.execute(f"PRAGMA busy_timeout={waits}")


def dialect_insert(session: Session):
    """The INSERT of the session's database (SQLite or PostgreSQL), which has ON CONFLICT DO NOTHING."""
    return sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
