"""Audience eval: CDNOW BG/NBD and Gamma-Gamma against the published estimates, churn risk on Online Retail.

    python -m evals.audience.run [--quick] [--out reports/]
    tailor eval audience --quick

The full run covers three as-of dates a season apart and ten 300-customer shops per date; ``--quick`` (CI)
one date and three small shops. Prints a table, writes ``audience[_quick].json`` and ``.md`` to ``--out`` (another
``--horizon-days`` or ``--small-shops``: ``audience[_quick]_N_days_M_shops``, never judged by the quick thresholds).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

import pandas as pd
from threadpoolctl import threadpool_limits

from evals.audience.cdnow import evaluate_cdnow
from evals.audience.churn import (
    AS_OF_DATES,
    TARGET_AUC_MARGIN,
    TARGET_ECE,
    evaluate_date,
    evaluate_small_shops,
    load_orders,
)
from evals.datasets import exit_status
from evals.report import add_out_option, finish, number_of, timed_step
from evals.thresholds import broken, limits

HORIZON_DAYS = 90  # the churn horizon the issue's targets and the quick thresholds are set for


def _positive_days(value: str) -> int:
    """An argparse type for `--horizon-days`: a whole number of days from 1 (`abc` was "invalid _positive_days
    value", the function's name)."""
    if not value.strip().isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a number of days: give 1 or more")
    return int(value)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tailor eval audience", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs")
    parser.add_argument(
        "--horizon-days", type=_positive_days, default=HORIZON_DAYS, help="churn: no purchase within (days)"
    )
    parser.add_argument("--small-shops", type=number_of("shops"), default=None, help="300-customer samples per date")
    add_out_option(parser)
    return parser.parse_args(argv)


def default_shops(quick: bool) -> int:
    """The 300-customer samples per date a run takes unless told."""
    return 3 if quick else 10


@threadpool_limits.wrap(limits=1)
def run(quick: bool = False, horizon_days: int = HORIZON_DAYS, small_shops: int | None = None) -> dict:
    """The report (a JSON-ready dict)."""
    dates = AS_OF_DATES[-1:] if quick else AS_OF_DATES
    n_shops = small_shops if small_shops is not None else default_shops(quick)
    lines = load_orders()
    # The outcome window must lie inside the data: past its end, customers read as churned for want of data, and
    # the report named a horizon it never observed.
    last_day = lines["timestamp"].max().normalize()
    # the latest date binds: the message names the largest horizon every date's window holds
    cut_short = sorted(day for day in dates if pd.Timestamp(day) + pd.Timedelta(days=horizon_days) > last_day)
    if cut_short:
        raise ValueError(
            f"--horizon-days {horizon_days}: the orders end on {last_day.date()}, so the outcome window from "
            f"{cut_short[-1]} would be cut to {(last_day - pd.Timestamp(cut_short[-1])).days} days; give at most that"
        )
    # Each step on stderr as it starts and ends (the table is stdout's): the full run's minutes printed nothing
    # before its table. In the order they run: every date's churn, every date's small shops, CDNOW.
    steps = len(dates) * (2 if n_shops else 1) + 1
    churn, shops = [], []
    for as_of in dates:
        with timed_step(f"step {len(churn) + 1} of {steps}: churn as of {as_of}, {horizon_days}-day horizon") as said:
            churn.append(evaluate_date(lines, as_of, horizon_days))
            said(f"AUC {churn[-1]['supervised']['auc']:.4f}, margin {churn[-1]['margin']:+.4f}")
    for as_of in dates if n_shops else ():
        with timed_step(f"step {len(dates) + len(shops) + 1} of {steps}: {n_shops} small shops as of {as_of}") as said:
            shops.append(evaluate_small_shops(lines, as_of, n_shops, horizon_days=horizon_days))
            said(f"mean AUC {shops[-1]['mean']['auc']:.4f}")
    with timed_step(f"step {steps} of {steps}: CDNOW BG/NBD and Gamma-Gamma") as said:
        cdnow = evaluate_cdnow()
        said(f"BG/NBD log-likelihood {cdnow['bgnbd']['log_likelihood']:.2f}")
    return {
        "quick": quick,
        "created_at": datetime.now(UTC).isoformat(),
        "horizon_days": horizon_days,
        "cdnow": cdnow,
        "online_retail": churn,
        "small_shops": shops,
        "targets": {
            "auc_margin": TARGET_AUC_MARGIN,
            "ece": TARGET_ECE,
            "margins": {result["as_of"]: round(result["margin"], 4) for result in churn},
            "met_every_date": all(result["met"] for result in churn),
        },
    }


def markdown(report: dict) -> str:
    cdnow = report["cdnow"]
    lines = [
        f"# Audience{' (quick)' if report['quick'] else ''}",
        "",
        "## CDNOW (2,357 customers, 39-week calibration)",
        "",
    ]
    lines += ["| model | parameter | fitted | published | rel. error |", "|---|---|---|---|---|"]
    for model in ("bgnbd", "gamma_gamma"):
        for name, value in cdnow[model]["parameters"].items():
            lines.append(
                f"| {model} | {name} | {value['fitted']:.4f} | {value['published']} | {value['relative_error']:+.4f} |"
            )
    bg = cdnow["bgnbd"]
    lines += [
        "",
        f"Holdout weeks 40-78: expected {bg['holdout_expected']:.0f} repeat purchases, actual {bg['holdout_actual']} "
        f"(published actual {bg['holdout_actual_published']}); MAE per customer {bg['holdout_mae_per_customer']:.3f}.",
        "",
        f"## Online Retail churn ({report['horizon_days']}-day horizon)",
        "",
        "| as of | customers | churn rate | supervised AUC | BG/NBD AUC | recency AUC | margin | Brier | ECE |"
        " BG/NBD P(0) ECE | E[purchases] MAE | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["online_retail"]:
        lines.append(
            f"| {r['as_of']} | {r['customers']} | {r['churn_rate']:.3f} | {r['supervised']['auc']:.4f} | "
            f"{r['bgnbd_expected_purchases']['auc']:.4f} | {r['recency_alone']['auc']:.4f} | {r['margin']:+.4f} | "
            f"{r['supervised']['brier']:.4f} | {r['supervised']['ece']:.4f} | {r['bgnbd_p_no_purchase']['ece']:.4f} | "
            f"{r['expected_purchases_mae']:.3f} | {'yes' if r['met'] else 'no'} |"
        )
    lines += ["", "Reliability of the supervised churn risk (last date):", "",
              "| risk | customers | predicted | observed |", "|---|---|---|---|"]  # fmt: skip
    for row in report["online_retail"][-1]["supervised"]["reliability"]:
        lines.append(f"| {row['risk']} | {row['customers']} | {row['predicted']:.3f} | {row['observed']:.3f} |")
    lines += ["", "## Small shops (random 300-customer samples)", "",
              "| as of | shops | AUC | recency AUC | BG/NBD AUC | ECE | ahead of recency | worst margin |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in report["small_shops"]:
        m = s["mean"]
        lines.append(
            f"| {s['as_of']} | {s['shops']} | {m['auc']:.4f} | {m['recency_auc']:.4f} | {m['bgnbd_auc']:.4f} | "
            f"{m['ece']:.4f} | {s['shops_ahead_of_recency']}/{s['shops']} | {s['worst_margin_over_recency']:+.4f} |"
        )
    lines += ["", "Targets:", "", "```", json.dumps(report["targets"], indent=2), "```"]
    return "\n".join(lines) + "\n"


def threshold_failures(report: dict) -> list[str]:
    """What a quick run breaks of the audience's section of `thresholds.yaml` (none for a full run)."""
    if not report["quick"]:
        return []
    cdnow = report["cdnow"]
    errors = [
        abs(p["relative_error"]) for model in ("bgnbd", "gamma_gamma") for p in cdnow[model]["parameters"].values()
    ]
    churn = report["online_retail"][0]
    shops = (report["small_shops"] or [{}])[0].get("mean", {})
    measured = {
        "cdnow_relative_error": max(errors),
        "supervised_auc": churn["supervised"]["auc"],
        "margin_over_better_baseline": churn["margin"],
        "ece": churn["supervised"]["ece"],
        "small_shops_mean_margin_over_recency": shops.get("margin_over_recency"),
        "small_shops_ece": shops.get("ece"),
    }
    return broken(measured, limits("audience", "quick"))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        report = run(quick=args.quick, horizon_days=args.horizon_days, small_shops=args.small_shops)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Another horizon or count of small shops is a configuration of its own: it overwrote audience_quick.json and
    # was judged by the limits set for 90 days and three shops.
    own = (f"_{args.horizon_days}_days" if args.horizon_days != HORIZON_DAYS else "") + (
        f"_{args.small_shops}_shops" if args.small_shops not in (None, default_shops(args.quick)) else ""
    )
    report["threshold_failures"] = threshold_failures(report) if not own else []
    why = (
        f"thresholds.yaml's quick limits are for {HORIZON_DAYS} days and {default_shops(True)} small shops"
        if report["quick"] and own
        else None
    )
    stem = f"audience{'_quick' if report['quick'] else ''}{own}"
    return finish(report, markdown(report), args.out, stem, thresholds_not_applied=why)


if __name__ == "__main__":
    sys.exit(exit_status(main))
