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


@pytest.mark.slow
@pytest.mark.eval
def test_another_horizon_is_a_report_of_its_own_not_judged_by_the_quick_limits(tmp_path):
    """`--quick --horizon-days 60` overwrote audience_quick.json and was judged by the limits set for 90 days."""
    from evals.audience import run
    from evals.datasets import DatasetMissing

    try:
        code = run.main(["--quick", "--horizon-days", "60", "--small-shops", "0", "--out", str(tmp_path)])
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audience_quick_60_days_0_shops.json",
                                                           "audience_quick_60_days_0_shops.md"]  # fmt: skip
    report = yaml.safe_load((tmp_path / "audience_quick_60_days_0_shops.json").read_text())
    assert report["horizon_days"] == 60 and report["threshold_failures"] == []
    assert report["thresholds"].startswith("not applied: thresholds.yaml's quick limits are for 90 days")


def test_a_negative_number_of_small_shops_is_refused_before_anything_runs(capsys):
    """It ran the whole churn part, then failed: KeyError "['fallbacks'] not found in axis"."""
    from evals.audience.run import parse

    with pytest.raises(SystemExit) as refused:
        parse(["--quick", "--small-shops", "-1"])
    assert refused.value.code == 2 and "-1 is not a number of shops" in capsys.readouterr().err


def test_a_horizon_past_the_last_order_is_refused_naming_the_days_the_data_holds(tmp_path, capsys):
    """A 200-day horizon from 2011-09-01 was reported as such, though the orders end 99 days later: customers read
    as churned for want of data."""
    from evals.audience import run
    from evals.datasets import DatasetMissing

    try:
        code = run.main(["--quick", "--horizon-days", "200", "--small-shops", "0", "--out", str(tmp_path)])
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    assert code == 2 and list(tmp_path.iterdir()) == []
    assert "the orders end on 2011-12-09, so the outcome window from 2011-09-01 would be cut to 99 days" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize("days", ["abc", "0", "-3"])
def test_a_horizon_that_is_no_number_of_days_is_refused_naming_the_option(days, capsys):
    """`--horizon-days abc` said "invalid _positive_days value", the name of a function, not of what to give."""
    from evals.audience import run

    with pytest.raises(SystemExit) as stopped:
        run.parse(["--horizon-days", days])
    assert stopped.value.code == 2
    assert f"argument --horizon-days: {days} is not a number of days: give 1 or more" in capsys.readouterr().err
