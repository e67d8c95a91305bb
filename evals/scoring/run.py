"""Scoring evals: the engagement model on the demo store; Upworthy pairs, SME status, Hillstrom uplift on real data.

    python -m evals.scoring.run [--quick] [--only upworthy,sme,hillstrom] [--[no-]embeddings] [--out reports/]
    tailor eval scoring --quick

Prints a table, writes ``scoring.json`` and ``scoring.md`` to ``--out`` (``scoring_quick…``, and the evals run
after ``scoring_`` when ``--only`` picks some, so that a partial run never overwrites the full one). Data sets
that are absent are reported as skipped; a quick run (CI's gate) counts each as a broken threshold, since it
measured nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from evals.datasets import DatasetMissing
from evals.report import add_out_option, finish, seed
from evals.scoring import demo, hillstrom, sme, upworthy
from evals.thresholds import broken, limits

EVALS = {"demo": demo.evaluate, "upworthy": upworthy.evaluate, "sme": sme.evaluate, "hillstrom": hillstrom.evaluate}
HEADLINE = {
    "demo": [
        "open_auc",
        "click_auc",
        "conversion_auc",
        "open_ece",
        "served_open_ece",
        "served_click_ece",
        "served_conversion_ece",
        "fit_seconds",
        "train_sends",
    ],
    "upworthy": [
        "pairwise_accuracy_significant",
        "pairwise_accuracy_all",
        "baseline_longer_wins_significant",
        "pairs_significant",
    ],
    "sme": ["macro_f1", "auc_ovr_macro", "accuracy", "always_ignored_accuracy"],
    "hillstrom": [
        "response_auc",
        "overall_uplift",
        "top_decile_uplift",
        "bottom_decile_uplift",
        "uplift_decile_rank_correlation",
    ],
}
TARGETS = {"upworthy": ("pairwise_accuracy_significant", 0.62), "sme": ("macro_f1", 0.50)}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tailor eval scoring", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small configuration CI runs")
    parser.add_argument(
        "--only", default=",".join(EVALS), help=f"comma-separated evals to run, of {', '.join(EVALS)} (default: all)"
    )
    parser.add_argument("--seed", type=seed, default=42, help="the random seed of the splits and models (default: 42)")
    parser.add_argument(
        "--embeddings",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Upworthy: sentence-embedding features (the 'embeddings' extra); default: on when it is installed",
    )
    add_out_option(parser)
    return parser.parse_args(argv)


def run(quick: bool = False, only: list[str] | None = None, seed: int = 42, embeddings: bool | None = None) -> dict:
    """Every chosen eval's metrics dict, keyed by name; absent data sets give ``{"skipped": reason}``.

    ``embeddings`` concerns the copy model only, so only the Upworthy eval receives it (None: when installed).
    """
    results: dict[str, dict] = {}
    chosen = only or list(EVALS)
    for number, name in enumerate(chosen, start=1):
        # on stderr as each starts and ends (the table is stdout's): a full run printed nothing before its table
        at = f"eval {number} of {len(chosen)}: {name}"
        print(at, file=sys.stderr, flush=True)
        started = time.perf_counter()
        options = {"embeddings": embeddings} if name == "upworthy" else {}
        try:
            results[name] = EVALS[name](quick=quick, seed=seed, **options)
        except DatasetMissing as error:
            results[name] = {"skipped": str(error)}
            print(f"{at} skipped: its data is missing", file=sys.stderr, flush=True)
            continue
        print(f"{at} done in {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return results


def threshold_failures(name: str, metrics: dict) -> list[str]:
    """What one eval's quick figures break of its section of `thresholds.yaml`; a skipped data set breaks it
    whole, as a figure not measured does in every area (a CI job whose data had gone passed green)."""
    if "skipped" in metrics:
        return [f"{name}: not measured: {metrics['skipped']}"]
    section = f"{name}_quick" + ("_embeddings" if name == "upworthy" and metrics.get("embeddings") else "")
    measured = dict(metrics)
    if name == "upworthy":
        measured["ece_per_impression"] = metrics["ctr_calibration"]["ece_per_impression"]
    elif name == "sme":
        measured["ece_engaged"] = metrics["calibration_engaged"]["ece"]
    elif name == "hillstrom":
        measured["ece"] = metrics["response_calibration"]["ece"]
        measured["top_decile_uplift_over_overall"] = metrics["top_decile_uplift"] > metrics["overall_uplift"]
    return broken(measured, limits("scoring", section), where=name)


def _calibration(metrics: dict) -> str:
    if "model" in metrics:
        opened = metrics["model"]["opened"]
        return f"open: Brier {opened['brier']:.4f}, ECE {opened['ece']:.4f}"
    for key in ("calibration_engaged", "response_calibration", "ctr_calibration"):
        if key in metrics:
            block = metrics[key]
            ece = block.get("ece", block.get("ece_per_impression"))
            brier = block.get("brier", block.get("brier_per_impression"))
            return f"Brier {brier:.4f}, ECE {ece:.4f}"
    return ""


def markdown(results: dict, quick: bool = False) -> str:
    """A title and the headline figures of each eval (``finish`` adds what a quick run broke of its thresholds)."""
    lines = [f"# Scoring{' (quick)' if quick else ''}", "", "| eval | metric | value | target |", "|---|---|---|---|"]
    for name, metrics in results.items():
        if "skipped" in metrics:
            lines.append(f"| {name} | skipped | {metrics['skipped']} | |")
            continue
        for key in HEADLINE[name]:
            value = metrics[key]
            target = TARGETS.get(name)
            shown_target = f">= {target[1]}" if target and target[0] == key else ""
            lines.append(
                f"| {name} | {key} | {value:.4f} | {shown_target} |"
                if isinstance(value, float)
                else f"| {name} | {key} | {value} | {shown_target} |"
            )
        lines.append(f"| {name} | calibration | {_calibration(metrics)} | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in only if name not in EVALS]
    if unknown:
        print(
            f"error: argument --only: {', '.join(unknown)} {'is not an eval' if len(unknown) == 1 else 'are not evals'}"
            f"; choose from {', '.join(EVALS)}",
            file=sys.stderr,
        )
        return 2
    if not only:  # `--only ""` (an unset variable in a CI script) ran every eval, at full size, as scoring_.json
        print(f"--only names no eval; choose from {', '.join(EVALS)}, or leave it out for all.", file=sys.stderr)
        return 2
    started = time.perf_counter()
    results = run(args.quick, only, args.seed, args.embeddings)
    report = {
        "area": "scoring",
        "quick": args.quick,
        "embeddings": results.get("upworthy", {}).get("embeddings"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
        "threshold_failures": [f for name, m in results.items() for f in threshold_failures(name, m)]
        if args.quick
        else [],
    }
    table = markdown(results, args.quick)
    # A quick or partial run is a report of its own: it never overwrites the full run's.
    stem = "scoring" + ("_quick" if args.quick else "") + ("" if only == list(EVALS) else "_" + "_".join(only))
    # the copy model without embeddings is a configuration of its own (its own thresholds): it never overwrites the
    # default run's report
    stem += "_no_embeddings" if args.embeddings is False and "upworthy" in only else ""
    return finish(report, table, args.out, stem)


if __name__ == "__main__":
    sys.exit(main())
