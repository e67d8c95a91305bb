"""Scale benchmark: every stage of the service on a demo shop of N customers, with wall time and peak memory.

The demo store (seed 7) is generated, written as import files and taken through what a shop's data goes
through: the imports, the audience refresh, recommender and scoring training, a campaign for every customer
the campaign type reaches (written by the fake LLM, so that the figures measure Tailor and not a model), the
segment KPIs, an audience preview, the approval of every pending draft at once and their export as JSON lines, the
campaign's view after that review (its forecast recomputed) and once it is scheduled for the next day (who the
contact policy would hold back then); also
the orders file imported a second time (every line unchanged, none written again) and one click on an unsubscribe
link (which stops every customer id sharing the address, looked up by its stored key).
Peak memory is the process's resident set size, sampled every 50 ms, above what it held when the stage began.

    python -m evals.scale.run [--quick] [--customers 30000] [--products 2000] [--campaign-limit N] [--out reports/]

Writes ``scale-<customers>.json`` and ``.md`` to ``--out``, their names longer by the products and the
campaign's customers where those are not the defaults. Times vary with what else runs on the machine; on a shared
2-core machine by about a third.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from evals.datasets import exit_status
from evals.report import add_out_option, count_of_at_least_one, sizes_or_defaults, write_report


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class MemoryWatch:
    """Samples the resident set size on a thread while it is entered (``with MemoryWatch() as watch``); `stage()`
    measures one stage's time and peak above its start. The thread ends with the ``with`` block: a benchmark run
    in a process that goes on (a test, a notebook) left it reading /proc every 50 ms for as long as that lived."""

    def __init__(self) -> None:
        self.peak = _resident_mb()
        self.stages: dict[str, dict[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="scale-memory-watch", daemon=True)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _resident_mb())

    @contextmanager
    def stage(self, name: str):
        start_mb = _resident_mb()
        self.peak = start_mb
        started = time.perf_counter()
        yield
        seconds = time.perf_counter() - started
        self.stages[name] = {
            "seconds": round(seconds, 1), "peak_mb": round(self.peak), "added_mb": round(self.peak - start_mb),
        }  # fmt: skip
        print(f"{name:<28} {seconds:8.1f} s  peak {self.peak:7.0f} MB  (+{self.peak - start_mb:.0f})", flush=True)


def run(customers: int, products: int, campaign_limit: int | None, home: Path) -> dict:
    os.environ["TAILOR_HOME"] = str(home)
    os.environ["TAILOR_LLM_MODEL"] = "fake"
    with MemoryWatch() as watch:
        return _run_stages(watch, customers, products, campaign_limit, home)


def _run_stages(watch: MemoryWatch, customers: int, products: int, campaign_limit: int | None, home: Path) -> dict:
    from sqlalchemy import select

    from service.audiences import preview_audience
    from service.campaigns import campaign_out, get_campaign
    from service.clock import utcnow
    from service.db.migrate import upgrade
    from service.db.models import Send
    from service.db.session import make_engine, session_scope
    from service.demo import generate_demo_store, write_import_files
    from service.drafts import approve_pending
    from service.importing import import_file
    from service.pipeline.campaign_runs import create_and_generate
    from service.pipeline.exporting import export_campaign
    from service.pipeline.training import refresh_audience, train_engagement, train_recommender
    from service.segments import latest_segments
    from service.send_times import schedule_campaign
    from service.settings import home_settings
    from service.signed_links import UnsubscribeLinks
    from service.unsubscribe import unsubscribe

    home_settings.cache_clear()  # the models folder is read from TAILOR_HOME once per process
    with watch.stage("demo store (the input)"):
        store = generate_demo_store(seed=7, n_customers=customers, n_products=products)
        files = write_import_files(store, home / "files")
    engine = make_engine(f"sqlite:///{home / 'tailor.db'}")
    upgrade(engine)
    rows = {}
    for kind in ("customers", "products", "orders", "sends"):
        with watch.stage(f"import {kind}"), session_scope(engine) as session:
            rows[kind] = import_file(session, kind, files[kind]).rows
    with watch.stage("import orders again (unchanged)"), session_scope(engine) as session:
        unchanged = import_file(session, "orders", files["orders"]).unchanged
    with watch.stage("audience refresh"):
        refresh_audience(engine)
    with watch.stage("recommender training"):
        recommender = train_recommender(engine)
    with watch.stage("scoring training"):
        train_engagement(engine)
    with watch.stage("campaign (fake LLM)"):
        summary = create_and_generate(
            engine, campaign_type="cross_sell", brand="hearth", limit=campaign_limit, name="Scale",
            audience_query=None,
        )  # fmt: skip
    with watch.stage("GET /segments"), session_scope(engine) as session:
        latest_segments(session)
    with watch.stage("audience preview"), session_scope(engine) as session:
        preview_audience(session, "win_back", "churn_risk > 0.5", 20)
    with watch.stage("approve pending drafts"), session_scope(engine) as session:
        approval = approve_pending(session, summary.campaign_id, "scale benchmark")
    with watch.stage("export drafts (JSON lines)"):
        exported = export_campaign(engine, summary.campaign_id, home / "export.jsonl")
    with watch.stage("GET /campaigns/{id} (review)"), session_scope(engine) as session:  # the forecast, stale
        campaign_out(session, get_campaign(session, summary.campaign_id))
    with session_scope(engine) as session:  # scheduled for tomorrow: the view counts who the policy holds back then
        schedule_campaign(session, get_campaign(session, summary.campaign_id), utcnow() + timedelta(days=1))
    with watch.stage("GET /campaigns/{id} (scheduled)"), session_scope(engine) as session:
        scheduled = campaign_out(session, get_campaign(session, summary.campaign_id)).mailed_recently_by_then
    with session_scope(engine) as session:  # a recipient's click on the unsubscribe link of an imported send
        token = UnsubscribeLinks.configured().token(session.scalar(select(Send.id).order_by(Send.id.desc())))
    with watch.stage("unsubscribe link (one click)"), session_scope(engine) as session:
        unsubscribed = unsubscribe(session, token).unsubscribed
    return {
        "customers": customers, "products": products, "rows": rows, "recommender": recommender["model"],
        "orders_unchanged_on_reimport": unchanged, "unsubscribed": unsubscribed, "drafts": summary.result["drafts"],
        "approval": approval, "exported_lines": exported[1], "mailed_recently_by_then": scheduled,
        "stages": watch.stages,
    }  # fmt: skip


QUICK = {"customers": 1_000, "products": 200}  # the small configuration, as the other evals' --quick
FULL = {"customers": 30_000, "products": 2_000}
SHAPES = {(QUICK["customers"], QUICK["products"]), (FULL["customers"], FULL["products"])}  # named by customers alone


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The options, with --quick's counts where none was given."""
    parser = argparse.ArgumentParser(prog="tailor eval scale", description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=count_of_at_least_one, default=None, help="default: 30,000")
    parser.add_argument("--products", type=count_of_at_least_one, default=None, help="default: 2,000")
    parser.add_argument(
        "--campaign-limit", type=count_of_at_least_one, default=None, help="customers in the campaign (default: all)"
    )
    parser.add_argument(
        "--quick", action="store_true",
        help=f"a small shop ({QUICK['customers']:,} customers, {QUICK['products']:,} products) unless given",
    )  # fmt: skip
    add_out_option(parser)
    args = parser.parse_args(argv)
    sizes_or_defaults(args, QUICK, FULL)
    return args


def report_stem(args: argparse.Namespace) -> str:
    """``scale-<customers>``, then the products and the campaign's customers where they are not the defaults: a
    run of another shape never overwrites the report of the usual one (30,000 customers had one name whatever
    the catalog or the campaign measured). The products are named unless the run is --quick's shape or the full
    one's: "--quick --customers 30000" (200 products) wrote scale-30000 over the full run's report."""
    stem = f"scale-{args.customers}"
    stem += "" if (args.customers, args.products) in SHAPES else f"-{args.products}-products"
    return stem + ("" if args.campaign_limit is None else f"-campaign-of-{args.campaign_limit}")


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="tailor-scale-") as home:
        report = run(args.customers, args.products, args.campaign_limit, Path(home))
    lines = ["| stage | seconds | peak MB | added MB |", "|---|---|---|---|"]
    lines += [f"| {name} | {s['seconds']} | {s['peak_mb']} | {s['added_mb']} |" for name, s in report["stages"].items()]
    markdown = f"Scale benchmark: {args.customers} customers, {args.products} products, {report['drafts']} drafts\n\n"
    path = write_report(report, markdown + "\n".join(lines), args.out, report_stem(args))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
