"""Speed benchmarks for the issue's targets, on this machine.

- training on both Online Retail years (791k order lines) per model, target < 60 s;
- batch top-10 for 100,000 customers over 10,000 products (synthetic interactions with a popularity skew
  and group structure, ~25 lines a customer), target < 60 s;
- one customer's top-10 with the model loaded, p50/p99 over repeated calls (evals.recommenders.api_latency times the
  same through the running API),
  target p99 < 20 ms.

    python -m evals.recommenders.bench [--quick] [--models als,blend] [--customers N] [--products N] [--out reports/]

Writes ``recommenders_bench[_quick].json`` and ``.md`` (with the sizes in the name where they are not the
defaults), with the provenance every eval report carries.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from evals.datasets import exit_status
from evals.report import add_out_option, count_of_at_least_one, sizes_or_defaults, write_report
from recommenders.registry import create, names

DEFAULT_MODELS = ("als", "ease", "blend")


def synthetic_interactions(
    n_customers: int, n_products: int, lines_per_customer: int = 25, n_groups: int = 50, seed: int = 0
) -> pd.DataFrame:
    """Customers buy mostly inside their taste group, with Zipf-like product popularity, over a year."""
    rng = np.random.default_rng(seed)
    n_lines = n_customers * lines_per_customer
    customers = np.repeat(np.arange(n_customers), lines_per_customer)
    group = customers % n_groups
    per_group = n_products // n_groups
    rank = np.minimum(rng.zipf(1.3, n_lines) - 1, per_group - 1)
    in_group = rng.random(n_lines) < 0.8
    products = np.where(in_group, group * per_group + rank, np.minimum(rng.zipf(1.2, n_lines) - 1, n_products - 1))
    start = pd.Timestamp("2024-01-01")
    return pd.DataFrame(
        {
            "customer_id": pd.Index(customers).astype(str),
            "product_id": pd.Index(products).astype(str),
            "timestamp": start + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n_lines), unit="s"),
        }
    )


def _timed(call) -> tuple[object, float]:
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def bench_training(models: list[str]) -> dict:
    from evals.recommenders.data import online_retail, without_line_catalog

    interactions, products = online_retail("both")
    interactions = without_line_catalog(interactions)
    return {name: round(_timed(lambda name=name: create(name).fit(interactions, products))[1], 2) for name in models}


def bench_batch(models: list[str], n_customers: int, n_products: int) -> dict:
    interactions = synthetic_interactions(n_customers, n_products)
    customers = interactions["customer_id"].unique()
    results = {"customers": len(customers), "products": int(interactions["product_id"].nunique())}
    for name in models:
        model, fit_seconds = _timed(lambda name=name: create(name).fit(interactions))
        recommendations, batch_seconds = _timed(lambda model=model: model.recommend(customers, k=10))
        assert recommendations["customer_id"].nunique() == len(customers)
        latencies = []
        sample = np.random.default_rng(1).choice(customers, size=300)
        with threadpool_limits(1):  # one request uses one core, as under a web server with workers
            for customer in sample:
                started = time.perf_counter()
                model.recommend([customer], k=10)
                latencies.append((time.perf_counter() - started) * 1000)
        results[name] = {
            "fit_seconds": round(fit_seconds, 2),
            "batch_top10_seconds": round(batch_seconds, 2),
            "single_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "single_p99_ms": round(float(np.percentile(latencies, 99)), 2),
        }
    return results


QUICK = {"customers": 10_000, "products": 2_000}
FULL = {"customers": 100_000, "products": 10_000}


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The options; counts not given are --quick's or the full run's (given ones hold either way: --quick replaced
    them, and a count of 0 was a traceback after the data was built)."""
    parser = argparse.ArgumentParser(prog="python -m evals.recommenders.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{QUICK['customers']:,} customers x {QUICK['products']:,} products unless given, no Online Retail",
    )  # fmt: skip
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS))
    parser.add_argument("--customers", type=count_of_at_least_one, default=None, help="default: 100,000")
    parser.add_argument("--products", type=count_of_at_least_one, default=None, help="default: 10,000")
    add_out_option(parser)
    args = parser.parse_args(argv)
    args.models = [name.strip() for name in args.models.split(",") if name.strip()]
    if unknown := [name for name in args.models if name not in names()]:
        parser.error(f"--models: no recommender called {', '.join(unknown)}; choose from {', '.join(names())}")
    sizes_or_defaults(args, QUICK, FULL)
    return args


def markdown(report: dict) -> str:
    """The figures as a table, one row a model (the Online Retail column only where it was measured)."""
    shape, training = report["batch"], report.get("training_online_retail_seconds")
    lines = [
        f"# Recommender speed: {shape['customers']:,} customers x {shape['products']:,} products bought"
        + (" (quick)" if report["quick"] else ""),
        "",
        "| model | fit s | batch top-10 s | one top-10 p50 ms | p99 ms |"
        + (" fit on Online Retail s |" if training else ""),
        "|---|---|---|---|---|" + ("---|" if training else ""),
    ]
    for name in report["models"]:
        figures = shape[name]
        lines.append(
            f"| {name} | {figures['fit_seconds']} | {figures['batch_top10_seconds']} | {figures['single_p50_ms']} "
            f"| {figures['single_p99_ms']} |" + (f" {training[name]} |" if training else "")
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    models = args.models
    report = {"quick": args.quick, "models": models, "batch": bench_batch(models, args.customers, args.products)}
    if not args.quick:
        report["training_online_retail_seconds"] = bench_training(models)
    print(json.dumps(report, indent=2))  # before writing: figures a full disk cannot take are still on the screen
    shape = "" if (args.customers, args.products) == tuple((QUICK if args.quick else FULL).values()) else (
        f"-{args.customers}x{args.products}"
    )  # fmt: skip
    path = write_report(
        report, markdown(report), args.out, f"recommenders_bench{'_quick' if args.quick else ''}{shape}"
    )
    print(f"Report written to {path} and {path.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(exit_status(main))
