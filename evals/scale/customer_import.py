"""Import benchmark for a big customer file: a synthetic file of N customers imported into a fresh SQLite
database, then a second edition of it imported (every customer's city changed, so every customer updated), with wall
time and peak memory of each.

    python -m evals.scale.customer_import [--customers 1000000] [--writer] [--out reports/]

The file has the required columns and one extra attribute; a sixth of the customers have a language without
email templates (cs), so the import's warning is counted over the whole file. Peak memory as in evals.scale.run.

With ``--writer``, another process's writes go on beside the second import, as the API's and the tracking events'
do: one every 50 ms on a connection of its own, which waits for SQLite's one write lock as the service's do (10 s,
``BUSY_TIMEOUT_MS``). The report says how long the import held that lock (from its ``BEGIN IMMEDIATE`` to its
commit), how long the longest of those writes waited, and how many gave up ("database is locked").
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


def run(customers: int, home: Path, writer: bool = False) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    from service.db.session import default_engine, session_scope
    from service.importing import import_file

    path, again = home / "customers.csv", home / "customers-2.csv"
    write_customers(path, customers)
    write_customers(again, customers, edition=2)
    engine = default_engine()  # migrated on creation
    watch, summaries, beside = MemoryWatch(), {}, {}
    for stage, file in (("import (new customers)", path), ("import again (updates)", again)):
        with (
            watch.stage(stage),
            writes_beside(engine, beside) if writer and file == again else _nothing(),
            session_scope(engine) as session,
        ):
            summary = import_file(session, "customers", file)
        summaries[stage] = {"inserted": summary.inserted, "updated": summary.updated, "warnings": summary.warnings}
    return {"customers": customers, "file_mb": round(path.stat().st_size / 2**20, 1), "stages": watch.stages,
            "summaries": summaries, "writes_beside": beside}  # fmt: skip


@contextmanager
def _nothing():
    yield


@contextmanager
def writes_beside(engine, figures: dict):
    """Another writer's writes, every 50 ms, while the block runs (an import on ``engine``), and the write lock
    the block's ``BEGIN IMMEDIATE`` took; ``figures`` gets the lock's hold and the writes' waits, in seconds."""
    from sqlalchemy import event

    from service.db.models import Customer
    from service.db.session import BUSY_TIMEOUT_MS, session_scope

    with session_scope(engine) as session:  # a customer no file names: the other writer's row
        session.add(Customer(external_id="beside", email="beside@example.com"))
    taken: list[float] = []

    def lock_taken(_connection, _cursor, statement, *_args) -> None:
        if statement.startswith("BEGIN IMMEDIATE") and not taken:
            taken.append(time.perf_counter())

    waits, refused, stop = [], [], threading.Event()

    def write() -> None:
        other = sqlite3.connect(engine.url.database, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        while not stop.wait(0.05):
            started = time.perf_counter()
            try:
                other.execute("UPDATE customers SET first_name = ? WHERE external_id = 'beside'", (str(started),))
                waits.append(time.perf_counter() - started)
            except sqlite3.OperationalError as error:  # database is locked: the service's write would fail so
                refused.append(str(error))
        other.close()

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


WRITES_BESIDE = ("lock_held_seconds", "writes", "longest_wait_seconds", "refused")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--writer", action="store_true", help="another process's writes beside the second import")
    add_out_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-import-") as home:
        report = run(args.customers, Path(home), args.writer)
    lines = ["| stage | seconds | peak MB | added MB |", "|---|---|---|---|"]
    lines += [f"| {name} | {s['seconds']} | {s['peak_mb']} | {s['added_mb']} |" for name, s in report["stages"].items()]
    if beside := report["writes_beside"]:
        lines += ["", "| write lock held s | writes beside | longest wait s | refused |", "|---|---|---|---|"]
        lines += ["| " + " | ".join(str(beside[name]) for name in WRITES_BESIDE) + " |"]
    markdown = f"Customer import: {args.customers} customers ({report['file_mb']} MB of CSV)\n\n" + "\n".join(lines)
    print(f"wrote {write_report(report, markdown, args.out, f'customer-import-{args.customers}')}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
