"""Engagement scores on the demo store's sends, split by time: the shop model, and the blend the service serves.

Protocol: the demo store (seed 7) is generated; sends made before the 80th percentile of send times train (the
first 80 % of sends), the later sends are scored once. Reported per outcome: AUC, Brier, ECE and the reliability
table of the shop's own model (``EngagementModel``); the same for the public prior alone (the cold start); and,
for the model the service serves (``BlendedEngagement.fit``: prior, shop model and level offsets), the mean
predicted rates and ECE per outcome when it learns from all training sends and from random samples of 200 and
2,000 of them (a young shop), against the observed rates.
"""

from __future__ import annotations

import time

from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from evals.datasets import demo_store
from scoring.engagement import EngagementModel, chain_outcomes
from scoring.features import OUTCOME_COLUMNS
from scoring.metrics import calibration_summary
from scoring.prior import BlendedEngagement, PublicPrior

PAIRS = {"p_open": "opened", "p_click": "clicked", "p_conversion": "converted"}
SERVED_SAMPLES = (200, 2000)


def _scores(sends, predictions) -> dict:
    result = {}
    for column, outcome in PAIRS.items():
        observed = sends[outcome].to_numpy(float)
        summary = calibration_summary(observed, predictions[column].to_numpy())
        auc = roc_auc_score(observed, predictions[column]) if 0 < observed.mean() < 1 else float("nan")
        result[outcome] = {"auc": float(auc), **summary}
    return result


def _served(train, test, variants, seed: int) -> dict:
    """Mean predicted against observed rates and ECE per outcome of the served blend, by training size."""
    observed = dict(zip(PAIRS, chain_outcomes(test), strict=True))
    result = {}
    for size in (*SERVED_SAMPLES, len(train)):
        sample = train.sample(n=size, random_state=seed) if size < len(train) else train
        predictions = BlendedEngagement.fit(sample, PublicPrior.default(), random_state=seed).predict(variants)
        result[str(size)] = {
            PAIRS[column]: {
                "predicted": round(float(predictions[column].mean()), 4),
                "observed": round(float(observed[column].mean()), 4),
                "ece": calibration_summary(observed[column].astype(float), predictions[column].to_numpy())["ece"],
            }
            for column in PAIRS
        }
    return result


# BLAS on one thread, as the audience eval's: its threads spun on busy cores (the test suite's workers), and the
# quick run took 12-13 CPU-s instead of 8.5-10, for the same figures to the last digit.
@threadpool_limits.wrap(limits=1)
def evaluate(quick: bool = False, seed: int = 42) -> dict:
    started = time.perf_counter()
    sends = demo_store(seed=7, n_customers=1500 if quick else 4000).sends
    cutoff = sends["sent_at"].quantile(0.8)
    train, test = sends[sends["sent_at"] < cutoff], sends[sends["sent_at"] >= cutoff]
    fit_started = time.perf_counter()
    model = EngagementModel(random_state=seed).fit(train)
    fit_seconds = time.perf_counter() - fit_started
    variants = test.drop(columns=OUTCOME_COLUMNS)
    scores = _scores(test, model.predict(variants))
    served = _served(train, test, variants, seed)
    return {
        "dataset": "demo store seed 7 (time split, the last 20 % of sends by send time held out)",
        "quick": quick,
        "seed": seed,
        "cutoff": str(cutoff),
        "train_sends": len(train),
        "test_sends": len(test),
        "fit_seconds": round(fit_seconds, 2),
        "open_auc": scores["opened"]["auc"],
        "open_ece": scores["opened"]["ece"],
        "click_auc": scores["clicked"]["auc"],
        "conversion_auc": scores["converted"]["auc"],
        "model": scores,
        "served_open_ece": served[str(len(train))]["opened"]["ece"],
        "served_click_ece": served[str(len(train))]["clicked"]["ece"],
        "served_conversion_ece": served[str(len(train))]["converted"]["ece"],
        "served_by_training_sends": served,
        "prior_only": {
            outcome: {key: value for key, value in block.items() if key != "reliability"}
            for outcome, block in _scores(test, BlendedEngagement(PublicPrior.default()).predict(variants)).items()
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
