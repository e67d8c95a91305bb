"""Measures of how good and how honest a probability is: Brier score, expected calibration error, the
reliability table, and the pairwise accuracy of a ranking within groups."""

from __future__ import annotations

import numpy as np
import pandas as pd


def brier(outcomes: np.ndarray, probabilities: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Mean squared error of the probabilities (lower is better; 0.25 is a coin flip at 50 %)."""
    outcomes, probabilities = np.asarray(outcomes, float), np.asarray(probabilities, float)
    return float(np.average((probabilities - outcomes) ** 2, weights=weights))


def reliability_table(
    outcomes: np.ndarray, probabilities: np.ndarray, bins: int = 10, weights: np.ndarray | None = None
) -> pd.DataFrame:
    """Predictions cut into equal-count bins: rows, mean predicted and observed rate per bin."""
    probabilities = np.asarray(probabilities, float)
    weights = np.ones(len(probabilities)) if weights is None else np.asarray(weights, float)
    frame = pd.DataFrame({"predicted": probabilities, "observed": np.asarray(outcomes, float), "weight": weights})
    frame["bin"] = pd.qcut(frame["predicted"].rank(method="first"), q=min(bins, len(frame)), labels=False)
    grouped = frame.groupby("bin")
    table = pd.DataFrame(
        {
            "rows": grouped.size(),
            "weight": grouped["weight"].sum(),
            "predicted": grouped.apply(lambda group: np.average(group["predicted"], weights=group["weight"])),
            "observed": grouped.apply(lambda group: np.average(group["observed"], weights=group["weight"])),
        }
    )
    return table.reset_index(drop=True)


def expected_calibration_error(
    outcomes: np.ndarray, probabilities: np.ndarray, bins: int = 10, weights: np.ndarray | None = None
) -> float:
    """Weight-averaged |predicted − observed| over equal-count bins (0 = perfectly calibrated)."""
    table = reliability_table(outcomes, probabilities, bins, weights)
    return float(np.average((table["predicted"] - table["observed"]).abs(), weights=table["weight"]))


def calibration_summary(outcomes: np.ndarray, probabilities: np.ndarray, bins: int = 10) -> dict:
    """Brier, ECE and the reliability table as plain numbers for a JSON report."""
    table = reliability_table(outcomes, probabilities, bins)
    return {
        "brier": brier(outcomes, probabilities),
        "ece": expected_calibration_error(outcomes, probabilities, bins),
        "mean_predicted": float(np.mean(probabilities)),
        "mean_observed": float(np.mean(outcomes)),
        "reliability": table.round(5).to_dict(orient="records"),
    }


def pairwise_accuracy(score_differences: np.ndarray, outcome_differences: np.ndarray) -> float:
    """Share of pairs with a real difference whose predicted order matches the observed one (ties count ½)."""
    score_differences, outcome_differences = np.asarray(score_differences), np.asarray(outcome_differences)
    real = outcome_differences != 0
    if not real.any():
        return float("nan")
    agreement = np.sign(score_differences[real]) * np.sign(outcome_differences[real])
    return float(np.mean((agreement > 0) + 0.5 * (agreement == 0)))
