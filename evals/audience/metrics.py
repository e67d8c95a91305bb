"""Ranking and calibration metrics for churn risk: AUC, Brier score, expected calibration error, reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, roc_auc_score

N_BINS = 10


def reliability_table(risk, churned, n_bins: int = N_BINS) -> pd.DataFrame:
    """Customers in ``n_bins`` equal-width bins of predicted risk: count, mean predicted, observed churn rate."""
    risk, churned = np.asarray(risk, dtype=float), np.asarray(churned, dtype=float)
    bins = np.clip((risk * n_bins).astype(int), 0, n_bins - 1)
    table = (
        pd.DataFrame({"bin": bins, "predicted": risk, "observed": churned})
        .groupby("bin")
        .agg(customers=("predicted", "size"), predicted=("predicted", "mean"), observed=("observed", "mean"))
    )
    table.index = [f"{b / n_bins:.1f}-{(b + 1) / n_bins:.1f}" for b in table.index]
    return table


def expected_calibration_error(risk, churned, n_bins: int = N_BINS) -> float:
    """Customer-weighted mean |predicted - observed| over equal-width risk bins."""
    table = reliability_table(risk, churned, n_bins)
    weights = table["customers"] / table["customers"].sum()
    return float((weights * (table["predicted"] - table["observed"]).abs()).sum())


def churn_metrics(risk, churned, *, probabilities: bool = True) -> dict:
    """AUC for any score (higher = more likely to churn); Brier, ECE and the reliability table for probabilities."""
    churned = np.asarray(churned, dtype=int)
    result = {"auc": float(roc_auc_score(churned, risk))}
    if probabilities:
        result["brier"] = float(brier_score_loss(churned, risk))
        result["ece"] = expected_calibration_error(risk, churned)
        result["mean_predicted"] = float(np.mean(risk))
        result["reliability"] = reliability_table(risk, churned).reset_index(names="risk").to_dict("records")
    return result
