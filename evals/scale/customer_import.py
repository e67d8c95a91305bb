"""Import benchmark for a big customer file: a synthetic file of N customers imported into a fresh SQLite
database, then a second edition of it imported (every customer's city changed, so every customer updated), with wall
time and peak memory of each.

    python -m evals.scale.customer_import [--customers 1000000] [--writer] [--postgres | --database-url URL]
        [--out reports/]

The file has the required columns and one extra attribute; a sixth of the customers have a language without
email templates (cs), so the import's warning is counted over the whole file. Peak memory as in evals.scale.run.

With ``--writer``, another process's writes go on beside the second import, as the API's and the tracking events'
do: one every 50 ms on a connection of its own, which waits for SQLite's one write lock as the service's do (10 s,
``BUSY_TIMEOUT_MS``). The report says how long the import held that lock (from its ``BEGIN IMMEDIATE`` to its
commit), how long the longest of those writes waited, and how many gave up ("database is locked").

On PostgreSQL (``--database-url``, a database of its own that holds none of the file's customers, or ``--postgres``:
a throwaway cluster started from the initdb and pg_ctl on PATH, evals.postgres) a customers import first takes the
customers imports' advisory lock, then looks up the stored ids of the whole file and locks their rows in id order
(service.importing.customer_locks), before its first chunk. The report splits each import's time there, from the
statements it runs: before that lock, waiting for it, the ids' look-up (its queries' own time apart from reading the
file's ids), the row locks, and the rest. With ``--writer`` the other writer updates a customer the file names, every
50 ms, with no lock timeout, as the API's writes do: its row is locked from the import's row locks until its commit,
which the report gives as the lock held (a customer the file does not name is not waited for on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from evals.datasets import exit_status
from evals.report import add_out_option, write_report
from evals.scale.run import MemoryWatch

CITIES = ("Berlin", "Sofia", "Leeds", "Lyon")


def write_customers(path: Path, customers: int, seed: int = 7, edition: int = 1) -> None:
    """The file; a later ``edition`` moves every customer to another city, the rest as in the first."""
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.arange(customers)).map("C{:07d}".format)
    pd.DataFrame(
        {
            "customer_id": ids,
            "email": ids.str.lower() + "@example.com",
            "first_name": rng.choice(["Anna", "Ben", "Chloe", "Dmitri", "Ewa"], customers),
            "locale": rng.choice(["en", "de", "pl", "ru", "bg", "cs"], customers),
            "marketing_consent": rng.choice(["true", "false"], customers),
            "city": pd.Series(rng.choice(CITIES, customers)) + ("" if edition == 1 else f" {edition}"),
        }
    ).to_csv(path, index=False)


def run(customers: int, home: Path, writer: bool = False, database_url: str | None = None) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    from service.db.session import default_engine, session_scope
    from service.importing import import_file

    path, again = home / "customers.csv", home / "customers-2.csv"
    write_customers(path, customers)
    write_customers(again, customers, edition=2)
    engine = default_engine()  # migrated on creation
    postgres = engine.dialect.name == "postgresql"
    summaries, beside, phases = {}, {}, {}
    with MemoryWatch() as watch:
        for stage, file in (("import (new customers)", path), ("import again (updates)", again)):
            with (
                watch.stage(stage),
                writes_beside(engine, beside) if writer and file == again else _nothing(),
                lock_phases(engine, phases.setdefault(stage, {})) if postgres else _nothing(),
                session_scope(engine) as session,
            ):
                summary = import_file(session, "customers", file)
            summaries[stage] = {"inserted": summary.inserted, "updated": summary.updated, "warnings": summary.warnings}
    return {"customers": customers, "database": engine.dialect.name, "file_mb": round(path.stat().st_size / 2**20, 1),
            "stages": watch.stages, "summaries": summaries, "lock_phases": phases, "writes_beside": beside}  # fmt: skip


@contextmanager
def _nothing():
    yield


# A statement of customer_locks.lock_customers: the advisory lock and its lock timeout's setting, the look-up of the
# file's stored ids and of the customers at their addresses, their row locks (all ``SELECT customers.id ...``, the row
# locks ``FOR UPDATE``).
_LOCKING = ("pg_advisory_xact_lock", "set_config('lock_timeout'", "current_setting('lock_timeout')")
_LOOK_UP = "SELECT customers.id"


@contextmanager
def lock_phases(engine, figures: dict):
    """The phases of the PostgreSQL customers import the block runs on ``engine``, in seconds, from the statements
    it runs: ``before_lock`` (reading the file's header and dates), ``import_wait`` (the advisory lock),
    ``look_up`` (from then to the first row lock: reading the file's ids and ``look_up_queries`` of them, taking
    ``look_up_db`` of it), ``row_locks`` (``row_lock_queries`` locking ``rows_locked`` rows) and ``rest``."""
    from sqlalchemy import event

    times: dict[str, float] = {}
    counts = {"look_up_queries": 0, "row_lock_queries": 0, "rows_locked": 0, "look_up_db": 0.0}
    begun: dict[int, float] = {}  # each running statement's start, by its cursor
    importing: list = []  # the import's connection (another writer's may run beside it)

    def locking(connection, statement: str, now: float) -> str | None:
        """The lock phase's part ``statement`` is of, or None once it is over (or before it began)."""
        if not importing and "pg_advisory_xact_lock" in statement:
            importing.append(connection.connection.dbapi_connection)
        if "done" in times or not importing or connection.connection.dbapi_connection is not importing[0]:
            return None
        if any(part in statement for part in _LOCKING):
            return "advisory"
        if statement.startswith(_LOOK_UP):
            return "row_lock" if statement.rstrip().endswith("FOR UPDATE") else "look_up"
        times["done"] = now  # the first statement after the lock phase began
        return None

    def before(connection, cursor, statement, *_args) -> None:
        now = begun[id(cursor)] = time.perf_counter()
        if (part := locking(connection, statement, now)) is not None:
            times.setdefault(part, now)

    def after(connection, cursor, statement, *_args) -> None:
        started, now = begun.pop(id(cursor), None), time.perf_counter()
        part = locking(connection, statement, now)
        if part == "advisory" and "pg_advisory_xact_lock" in statement:
            times["advisory_end"] = now
        elif part == "look_up":
            counts["look_up_queries"] += 1
            counts["look_up_db"] += now - started
        elif part == "row_lock":
            counts["row_lock_queries"] += 1
            counts["rows_locked"] += max(cursor.rowcount, 0)

    started = time.perf_counter()
    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    ended = time.perf_counter()
    advisory, advisory_end = times.get("advisory", ended), times.get("advisory_end", ended)
    done = times.get("done", ended)
    row_locks = times.get("row_lock", done)
    figures.update(
        before_lock=advisory - started, import_wait=advisory_end - advisory, look_up=row_locks - advisory_end,
        row_locks=done - row_locks, rest=ended - done, **counts,
    )  # fmt: skip
    figures.update({name: round(value, 2) for name, value in figures.items() if isinstance(value, float)})
    print(f"lock phases: {figures}", flush=True)


@contextmanager
def writes_beside(engine, figures: dict):
    """Another writer's writes, one as the block starts and then every 50 ms while it runs (an import on
    ``engine``), and the lock that held them back: on SQLite the write lock the block's ``BEGIN IMMEDIATE`` took (the
    writer updates a customer no file names), on PostgreSQL the row locks of the file's customers, from the first (the
    writer updates the file's first customer, locked from then). ``figures`` gets the lock's hold and the writes' waits,
    in seconds."""
    from sqlalchemy import event

    postgres = engine.dialect.name == "postgresql"
    take_update, refusal = _postgres_writer(engine) if postgres else _sqlite_writer(engine)
    taken: list[float] = []

    def lock_taken(_connection, _cursor, statement, *_args) -> None:
        takes = statement.rstrip().endswith("FOR UPDATE") if postgres else statement.startswith("BEGIN IMMEDIATE")
        if takes and not taken:
            taken.append(time.perf_counter())

    waits, refused, stop = [], [], threading.Event()

    def write() -> None:
        with take_update() as update:
            while True:  # one write at once: an import of a few hundred customers may end within 50 ms
                started = time.perf_counter()
                try:
                    update(str(started))
                    waits.append(time.perf_counter() - started)
                except refusal as error:  # database is locked: the service's write would fail so
                    refused.append(str(error))
                if stop.wait(0.05):
                    break

    event.listen(engine, "before_cursor_execute", lock_taken)
    writer = threading.Thread(target=write)
    writer.start()
    try:
        yield
        held = time.perf_counter() - taken[0] if taken else None
    finally:
        stop.set()
        writer.join()
        event.remove(engine, "before_cursor_execute", lock_taken)
    figures.update(
        lock_held_seconds=held and round(held, 2), writes=len(waits) + len(refused),
        longest_wait_seconds=round(max(waits, default=0), 2), refused=len(refused),
    )  # fmt: skip
    print(f"writes beside: {figures}", flush=True)


def _sqlite_writer(engine):
    """The other writer on SQLite: a connection of its own updating a customer no file names (added here), which
    waits for the write lock as the service's connections do; and the error of a write that gave up."""
    from service.db.models import Customer
    from service.db.session import BUSY_TIMEOUT_MS, session_scope

    with session_scope(engine) as session:  # a customer no file names: the other writer's row
        session.add(Customer(external_id="beside", email="beside@example.com"))

    @contextmanager
    def take_update():
        other = sqlite3.connect(engine.url.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            yield lambda name: other.execute(
                "UPDATE customers SET first_name = ? WHERE external_id = 'beside'", (name,)
            )
        finally:
            other.close()

    return take_update, sqlite3.OperationalError


def _postgres_writer(engine):
    """The other writer on PostgreSQL: a connection of its own, each update committed at once, of the first customer
    the file names, which waits for that row's lock without end (the service sets no lock timeout for its writes);
    and the error of a write that gave up."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    update = text("UPDATE customers SET first_name = :name WHERE external_id = 'C0000000'")

    @contextmanager
    def take_update():
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other:
            yield lambda name: other.execute(update, {"name": name})

    return take_update, OperationalError


PHASES = ("before_lock", "import_wait", "look_up", "look_up_db", "row_locks", "rest", "look_up_queries",
          "row_lock_queries", "rows_locked")  # fmt: skip
WRITES_BESIDE = ("lock_held_seconds", "writes", "longest_wait_seconds", "refused")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals.scale.customer_import", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--writer", action="store_true", help="another process's writes beside the second import")
    database = parser.add_mutually_exclusive_group()
    database.add_argument("--database-url", help="a PostgreSQL database of its own, holding none of the customers")
    database.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL cluster (initdb, pg_ctl)")
    add_out_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-import-") as home, _database(args) as url:
        report = run(args.customers, Path(home), args.writer, url)
    lines = ["| stage | seconds | peak MB | added MB |", "|---|---|---|---|"]
    lines += [f"| {name} | {s['seconds']} | {s['peak_mb']} | {s['added_mb']} |" for name, s in report["stages"].items()]
    if phases := report["lock_phases"]:
        lines += ["", "| stage | " + " | ".join(PHASES) + " |", "|---" * (len(PHASES) + 1) + "|"]
        lines += [f"| {name} | " + " | ".join(str(p[phase]) for phase in PHASES) + " |" for name, p in phases.items()]
    if beside := report["writes_beside"]:
        lines += ["", "| write lock held s | writes beside | longest wait s | refused |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(str(beside[name]) for name in WRITES_BESIDE) + " |"]
    title = f"Customer import: {args.customers} customers ({report['file_mb']} MB of CSV) on {report['database']}"
    stem = f"customer-import-{args.customers}" + ("" if report["database"] == "sqlite" else f"-{report['database']}")
    markdown = f"{title}\n\n" + "\n".join(lines)
    print(f"wrote {write_report(report, markdown, args.out, stem)}")
    return 0


@contextmanager
def _database(args: argparse.Namespace):
    """The URL of the database to import into: ``--database-url``'s, a new database on a throwaway cluster
    (``--postgres``), or None (a SQLite file in the run's home)."""
    if not args.postgres:
        yield args.database_url
        return
    from evals.postgres import new_database, throwaway_cluster

    with throwaway_cluster() as server:
        engine = new_database(server, "customer_import")
        engine.dispose()
        yield engine.url.render_as_string(hide_password=False)


if __name__ == "__main__":
    sys.exit(exit_status(main))
