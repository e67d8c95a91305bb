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

    try:
        code = run.main(["--quick", "--out", str(tmp_path)])
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    report = yaml.safe_load((tmp_path / "audience_quick.json").read_text())
    assert report["threshold_failures"] == [] and code == 0  # every limit of thresholds.yaml's audience: quick
