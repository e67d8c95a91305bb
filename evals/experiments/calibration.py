"""Calibration of the experiment statistics (``scoring.experiments``) on simulated email campaigns.

Each simulated campaign has 2–4 variant arms and a holdout. A campaign's base rate is drawn log-uniformly from
1–10 % (email clicks and conversions as shops see them), the variants beat it by up to a spread drawn from
0–20 % relative (so some campaigns have variants that barely differ), and the holdout converts at the base rate.
Every variant gets the same number of sends, drawn log-uniformly from 200–5,000, and the holdout 5–10 % of all
customers (``assign_arms`` holds out 10 % by default): 21 to 2,222 customers.

Measured: how often the arm stated best is truly best, bucketed by the P(best) stated (a calibration table and
its expected calibration error, each bucket weighed by its arms); and how often the rate and lift intervals hold
the true rate and the true lift, and the lift interval the observed lift.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from scoring.experiments import HOLDOUT, effects

BUCKET_EDGES = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
LEVEL = 0.95
SMALL_HOLDOUT = 100  # customers: below it, a holdout counts as small


def simulated_campaign(rng: np.random.Generator) -> tuple[pd.DataFrame, dict[str, float]]:
    """One campaign's counts (variants A, B, … and the holdout) and the true rate of each of its arms."""
    n_variants = int(rng.integers(2, 5))
    base_rate = float(np.exp(rng.uniform(np.log(0.01), np.log(0.10))))
    spread = float(rng.uniform(0, 0.2))
    true_rates = {chr(ord("A") + i): base_rate * (1 + spread * float(rng.random())) for i in range(n_variants)}
    true_rates[HOLDOUT] = base_rate
    sends = int(np.exp(rng.uniform(np.log(200), np.log(5000))))
    holdout_share = float(rng.uniform(0.05, 0.10))
    holdout_customers = max(1, round(n_variants * sends * holdout_share / (1 - holdout_share)))
    trials = {arm: sends for arm in true_rates} | {HOLDOUT: holdout_customers}
    counts = pd.DataFrame(
        {
            "arm": list(true_rates),
            "trials": [trials[arm] for arm in true_rates],
            "successes": [int(rng.binomial(trials[arm], rate)) for arm, rate in true_rates.items()],
        }
    )
    return counts, true_rates


def campaign_rows(counts: pd.DataFrame, true_rates: dict[str, float]) -> list[dict]:
    """Per variant arm, what the statistics stated and what was true."""
    table = effects(counts, control=HOLDOUT, level=LEVEL)
    best = max((arm for arm in true_rates if arm != HOLDOUT), key=true_rates.__getitem__)
    holdout_trials = int(counts.set_index("arm").at[HOLDOUT, "trials"])
    rows = []
    for arm, row in table.drop(index=HOLDOUT).iterrows():
        true_lift = true_rates[arm] - true_rates[HOLDOUT]
        rows.append(
            {
                "p_best": float(row["p_best"]),
                "truly_best": arm == best,
                "rate_covered": bool(row["rate_low"] <= true_rates[arm] <= row["rate_high"]),
                "lift_covered": bool(row["lift_low"] <= true_lift <= row["lift_high"]),
                "observed_lift_inside": bool(row["lift_low"] <= row["lift_observed"] <= row["lift_high"]),
                "small_holdout": holdout_trials < SMALL_HOLDOUT,
            }
        )
    rate_low, rate_high = table.at[HOLDOUT, "rate_low"], table.at[HOLDOUT, "rate_high"]
    rows.append({"holdout_rate_covered": bool(rate_low <= true_rates[HOLDOUT] <= rate_high)})
    return rows


def calibration_table(arms: pd.DataFrame) -> list[dict]:
    """Per bucket of stated P(best): how many arms, their mean P(best), and the share of them truly best."""
    labels = [f"{low:.2f}–{high:.2f}" for low, high in zip(BUCKET_EDGES, BUCKET_EDGES[1:], strict=False)]
    buckets = pd.cut(arms["p_best"], BUCKET_EDGES, labels=labels, include_lowest=True)
    grouped = arms.groupby(buckets, observed=True)
    return [
        {
            "bucket": str(label),
            "arms": int(len(group)),
            "stated": float(group["p_best"].mean()),
            "truly_best": float(group["truly_best"].mean()),
        }
        for label, group in grouped
    ]


def evaluate(campaigns: int = 1000, seed: int = 42, progress: Callable[[int, int], None] | None = None) -> dict:
    """The calibration table, its expected calibration error and the intervals' coverage over ``campaigns``;
    ``progress`` hears (campaigns simulated, ``campaigns``) after each (it draws nothing: the figures are the same)."""
    rng = np.random.default_rng(seed)
    rows = []
    for simulated in range(1, campaigns + 1):
        rows += campaign_rows(*simulated_campaign(rng))
        if progress is not None:
            progress(simulated, campaigns)
    everything = pd.DataFrame(rows)
    arms = everything[everything["p_best"].notna()]
    table = calibration_table(arms)
    ece = sum(bucket["arms"] * abs(bucket["stated"] - bucket["truly_best"]) for bucket in table) / len(arms)
    confident = arms[arms["p_best"] >= 0.95]
    small = arms[arms["small_holdout"].astype(bool)]
    return {
        "campaigns": campaigns,
        "seed": seed,
        "arms": int(len(arms)),
        "p_best_calibration": table,
        "p_best_ece": float(ece),
        "stated_best_at_least_0_95": {
            "arms": int(len(confident)),
            "stated": float(confident["p_best"].mean()) if len(confident) else float("nan"),
            "truly_best": float(confident["truly_best"].mean()) if len(confident) else float("nan"),
        },
        "rate_coverage": float(arms["rate_covered"].mean()),
        "holdout_rate_coverage": float(everything["holdout_rate_covered"].dropna().mean()),
        "lift_coverage": float(arms["lift_covered"].mean()),
        "lift_coverage_small_holdout": float(small["lift_covered"].mean()),
        "observed_lift_outside_interval": float(1 - arms["observed_lift_inside"].mean()),
        "observed_lift_outside_interval_small_holdout": float(1 - small["observed_lift_inside"].mean()),
        "small_holdout_arms": int(len(small)),
    }


def markdown(metrics: dict) -> str:
    """The calibration table and the coverage figures."""
    lines = [
        f"# Experiment statistics on {metrics['campaigns']} simulated campaigns (seed {metrics['seed']})",
        "",
        "| stated P(best) | arms | mean stated | truly best |",
        "|---|---|---|---|",
        *(
            f"| {b['bucket']} | {b['arms']} | {b['stated']:.3f} | {b['truly_best']:.3f} |"
            for b in metrics["p_best_calibration"]
        ),
        "",
        f"P(best) ECE: {metrics['p_best_ece']:.4f}",
    ]
    confident = metrics["stated_best_at_least_0_95"]
    lines.append(
        f"P(best) ≥ 0.95: {confident['arms']} arms, stated {confident['stated']:.3f}, truly best "
        f"{confident['truly_best']:.3f}"
    )
    for key in (
        "rate_coverage",
        "holdout_rate_coverage",
        "lift_coverage",
        "lift_coverage_small_holdout",
        "observed_lift_outside_interval",
        "observed_lift_outside_interval_small_holdout",
    ):
        lines.append(f"{key.replace('_', ' ')} ({LEVEL:.0%} intervals): {metrics[key]:.3f}")
    return "\n".join(lines)
