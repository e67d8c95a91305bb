"""Import benchmark for a big customer file: a synthetic file of N customers imported into a fresh SQLite
database, then imported again (every customer updated), with wall time and peak memory of each.

    python -m evals.scale.customer_import [--customers 1000000] [--out reports/]

The file has the required columns and one extra attribute; a sixth of the customers have a language without
email templates (cs), so the import's warning is counted over the whole file. Peak memory as in evals.scale.run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from evals.datasets import exit_status
from evals.report import add_out_option, write_report
from evals.scale.run import MemoryWatch


def write_customers(path: Path, customers: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.arange(customers)).map("C{:07d}".format)
    pd.DataFrame(
        {
            "customer_id": ids,
            "email": ids.str.lower() + "@example.com",
            "first_name": rng.choice(["Anna", "Ben", "Chloe", "Dmitri", "Ewa"], customers),
            "locale": rng.choice(["en", "de", "pl", "ru", "bg", "cs"], customers),
            "marketing_consent": rng.choice(["true", "false"], customers),
            "city": rng.choice(["Berlin", "Sofia", "Leeds", "Lyon"], customers),
        }
    ).to_csv(path, index=False)


def run(customers: int, home: Path) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    from service.db.session import default_engine, session_scope
    from service.importing import import_file

    path = home / "customers.csv"
    write_customers(path, customers)
    engine = default_engine()  # migrated on creation
    watch, summaries = MemoryWatch(), {}
    for stage in ("import (new customers)", "import again (updates)"):
        with watch.stage(stage), session_scope(engine) as session:
            summary = import_file(session, "customers", path)
        summaries[stage] = {"inserted": summary.inserted, "updated": summary.updated, "warnings": summary.warnings}
    return {"customers": customers, "file_mb": round(path.stat().st_size / 2**20, 1), "stages": watch.stages,
            "summaries": summaries}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    add_out_option(parser)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-import-") as home:
        report = run(args.customers, Path(home))
    lines = ["| stage | seconds | peak MB | added MB |", "|---|---|---|---|"]
    lines += [f"| {name} | {s['seconds']} | {s['peak_mb']} | {s['added_mb']} |" for name, s in report["stages"].items()]
    markdown = f"Customer import: {args.customers} customers ({report['file_mb']} MB of CSV)\n\n" + "\n".join(lines)
    print(f"wrote {write_report(report, markdown, args.out, f'customer-import-{args.customers}')}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
