"""Calibration and pairwise measures on cases whose answer is known by hand."""

from __future__ import annotations

import numpy as np

from scoring.metrics import brier, calibration_summary, expected_calibration_error, pairwise_accuracy


def test_perfectly_calibrated_predictions_have_small_ece():
    rng = np.random.default_rng(0)
    probabilities = rng.uniform(0, 1, 20_000)
    outcomes = (rng.uniform(0, 1, 20_000) < probabilities).astype(float)
    assert expected_calibration_error(outcomes, probabilities) < 0.02
    assert expected_calibration_error(outcomes, np.clip(probabilities + 0.2, 0, 1)) > 0.15


def test_brier_and_summary():
    assert brier(np.array([1, 0]), np.array([1.0, 0.0])) == 0
    assert brier(np.array([1, 0]), np.array([0.5, 0.5])) == 0.25
    summary = calibration_summary(np.array([0, 1] * 50, float), np.full(100, 0.5), bins=5)
    assert len(summary["reliability"]) == 5 and summary["ece"] < 1e-9


def test_pairwise_accuracy_counts_ties_half_and_ignores_equal_outcomes():
    assert pairwise_accuracy(np.array([1.0, -1.0, 0.0, 5.0]), np.array([2.0, 3.0, 1.0, 0.0])) == (1 + 0 + 0.5) / 3
