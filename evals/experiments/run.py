"""Experiment statistics eval: P(best)'s calibration and the intervals' coverage on simulated campaigns.

    python -m evals.experiments.run [--quick] [--campaigns N] [--seed 42] [--out reports/]
    tailor eval experiments --quick

Prints the calibration table and writes ``experiments.json`` and ``experiments.md`` (``experiments_quick…``) to
``--out``; with ``--campaigns`` other than its configuration's count, ``experiments[_quick]_N_campaigns…``, never
judged by the quick thresholds, which are for the quick count. The campaigns are drawn as
``evals/experiments/calibration.py`` describes; no data set is needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from evals.experiments.calibration import evaluate, markdown
from evals.report import add_out_option, count_of_at_least_one, counted, finish, say, seed
from evals.thresholds import broken, limits

QUICK_CAMPAIGNS, FULL_CAMPAIGNS = 300, 1500


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tailor eval experiments", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_CAMPAIGNS} campaigns, the size CI runs")
    parser.add_argument("--campaigns", type=count_of_at_least_one, default=None, help=f"default {FULL_CAMPAIGNS}")
    parser.add_argument("--seed", type=seed, default=42, help="the simulated campaigns' random seed (default: 42)")
    add_out_option(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    configured = QUICK_CAMPAIGNS if args.quick else FULL_CAMPAIGNS
    campaigns = args.campaigns or configured
    # Another count is a configuration of its own: `--quick --campaigns 50` overwrote experiments_quick.json and was
    # judged by the limits set for 300 campaigns, which a tenth of the draws passes or fails by chance.
    own = f"_{campaigns}_campaigns" if campaigns != configured else ""
    started = time.perf_counter()
    # on stderr as it goes (the table is stdout's): the full run's minutes printed nothing before its table
    say(f"simulating {campaigns:,} campaigns (seed {args.seed})")
    metrics = evaluate(campaigns, args.seed, progress=counted("simulating", "campaigns"))
    say(f"simulated {campaigns:,} campaigns in {time.perf_counter() - started:.1f} s")
    judged = args.quick and not own
    failures = broken(metrics, limits("experiments", "calibration_quick"), where="experiments") if judged else []
    report = {
        "area": "experiments",
        "quick": args.quick,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "results": metrics,
        "threshold_failures": failures,
    }
    why = f"thresholds.yaml's quick limits are for {QUICK_CAMPAIGNS} campaigns" if args.quick and own else None
    stem = "experiments" + ("_quick" if args.quick else "") + own
    return finish(report, markdown(metrics), args.out, stem, thresholds_not_applied=why)


if __name__ == "__main__":
    sys.exit(main())
