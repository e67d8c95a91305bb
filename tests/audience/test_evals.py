"""The audience eval: metrics on hand-computed cases, and the quick CI configuration on real data against
evals/thresholds.yaml."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from evals.audience.metrics import churn_metrics, expected_calibration_error, reliability_table

THRESHOLDS = Path(__file__).resolve().parents[2] / "evals" / "thresholds.yaml"


def test_calibration_metrics_by_hand():
    risk = np.array([0.05, 0.05, 0.95, 0.95])
    assert expected_calibration_error(risk, [0, 0, 1, 1]) == pytest.approx(0.05)
    assert expected_calibration_error(risk, [1, 1, 0, 0]) == pytest.approx(0.95)
    table = reliability_table([0.12, 0.18, 0.9], [0, 1, 1])
    assert table.loc["0.1-0.2", "customers"] == 2 and table.loc["0.1-0.2", "observed"] == 0.5
    metrics = churn_metrics(risk, [0, 0, 1, 1])
    assert metrics["auc"] == 1.0 and metrics["brier"] == pytest.approx(0.0025)
    assert "brier" not in churn_metrics([3, 1, 2, 5], [0, 0, 1, 1], probabilities=False)


@pytest.mark.slow
@pytest.mark.eval
def test_quick_eval_meets_thresholds(tmp_path):
    from evals.audience import run
    from evals.datasets import DatasetMissing

    limits = yaml.safe_load(THRESHOLDS.read_text())["audience"]["quick"]
    try:
        assert run.main(["--quick", "--out", str(tmp_path)]) == 0
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    report = yaml.safe_load((tmp_path / "audience_quick.json").read_text())
    for model in ("bgnbd", "gamma_gamma"):
        errors = [abs(p["relative_error"]) for p in report["cdnow"][model]["parameters"].values()]
        assert max(errors) <= limits["cdnow_max_relative_error"], model
    churn = report["online_retail"][0]
    assert churn["supervised"]["auc"] >= limits["supervised_auc_min"]
    assert churn["margin"] >= limits["margin_over_better_baseline_min"]
    assert churn["supervised"]["ece"] <= limits["ece_max"]
    shops = report["small_shops"][0]
    assert shops["mean"]["margin_over_recency"] >= limits["small_shops_mean_margin_over_recency_min"]
    assert shops["mean"]["ece"] <= limits["small_shops_ece_max"]
