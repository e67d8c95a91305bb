"""CDNOW: BG/NBD and Gamma-Gamma on the 2,357-customer sample with the 39-week calibration of Fader, Hardie &
Lee (2005), against their published estimates, plus expected versus actual purchases in weeks 40-78."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from audience.bgnbd import BetaGeoModel
from audience.gamma_gamma import GammaGammaModel
from audience.orders import btyd_summary, purchase_days

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
HOLDOUT_WEEKS = 39
PUBLISHED_HOLDOUT_PURCHASES = 1882


def _compare(fitted: dict[str, float], published: dict[str, float]) -> dict:
    return {
        name: {"fitted": round(fitted[name], 4), "published": value, "relative_error": fitted[name] / value - 1}
        for name, value in published.items()
    }


def evaluate_cdnow() -> dict:
    """The metrics dict: parameter comparisons, log-likelihood, holdout purchases expected vs actual."""
    from evals.datasets import CDNOW_CALIBRATION_END, cdnow, cdnow_summary

    purchases = cdnow()
    end = CDNOW_CALIBRATION_END + pd.Timedelta(days=1)
    published_summary = cdnow_summary()
    started = time.perf_counter()
    bgnbd = BetaGeoModel().fit(published_summary.frequency, published_summary.recency, published_summary["T"])
    fit_seconds = time.perf_counter() - started

    ours = btyd_summary(purchases, end, unit_days=7)
    holdout_end = end + pd.Timedelta(weeks=HOLDOUT_WEEKS)
    days = purchase_days(purchases)
    actual = days[(days.day >= end) & (days.day < holdout_end)].groupby("customer_id").size()
    actual = actual.reindex(ours.index, fill_value=0)
    # Condition on the published summary (its T ends a day earlier than ours; the holdout starts the day after).
    summary = published_summary.set_index("customer_id").reindex(ours.index)
    expected = bgnbd.expected_purchases(HOLDOUT_WEEKS, summary.frequency, summary.recency, summary["T"])
    by_frequency = (
        pd.DataFrame({"frequency": summary.frequency.clip(upper=7), "expected": expected, "actual": actual.to_numpy()})
        .groupby("frequency")
        .mean()
    )

    spend = GammaGammaModel().fit(ours.frequency, ours.monetary)
    repeaters = ours.frequency > 0
    return {
        "customers": len(ours),
        "bgnbd": {
            "parameters": _compare(bgnbd.params, PUBLISHED_BGNBD),
            "log_likelihood": bgnbd.log_likelihood_,
            "fit_seconds": round(fit_seconds, 3),
            "holdout_weeks": HOLDOUT_WEEKS,
            "holdout_actual": int(actual.sum()),
            "holdout_actual_published": PUBLISHED_HOLDOUT_PURCHASES,
            "holdout_expected": float(expected.sum()),
            "holdout_mae_per_customer": float(np.abs(expected - actual.to_numpy()).mean()),
            "holdout_by_calibration_frequency": by_frequency.round(3).reset_index().to_dict("records"),
        },
        "gamma_gamma": {
            "parameters": _compare(spend.params, PUBLISHED_GAMMA_GAMMA),
            "repeat_customers": int(repeaters.sum()),
            "population_mean_spend": spend.population_mean,
            "observed_mean_spend": float(ours.monetary[repeaters].mean()),
        },
    }
