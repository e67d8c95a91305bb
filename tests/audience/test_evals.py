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
def test_quick_eval_meets_thresholds(tmp_path, capsys):
    from evals.audience import run
    from evals.datasets import DatasetMissing

    try:
        code = run.main(["--quick", "--out", str(tmp_path)])
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    report = yaml.safe_load((tmp_path / "audience_quick.json").read_text())
    assert report["threshold_failures"] == [] and code == 0  # every limit of thresholds.yaml's audience: quick
    progress = capsys.readouterr().err.splitlines()
    assert progress[0] == "step 1 of 3: churn as of 2011-09-01, 90-day horizon"
    assert progress[-1].startswith("step 3 of 3: CDNOW BG/NBD and Gamma-Gamma done in ") and len(progress) == 6
    assert f"AUC {report['online_retail'][0]['supervised']['auc']:.4f}, margin " in progress[1]


def _fake_churn(lines, as_of, horizon_days=90):
    scores = {"auc": 0.7, "brier": 0.2, "ece": 0.02, "reliability": [
        {"risk": "0.1-0.2", "customers": 5, "predicted": 0.15, "observed": 0.2}]}  # fmt: skip
    return {"as_of": as_of, "customers": 10, "churn_rate": 0.5, "supervised": scores,
            "bgnbd_expected_purchases": {"auc": 0.6}, "bgnbd_p_no_purchase": {"ece": 0.05},
            "recency_alone": {"auc": 0.65}, "margin": 0.05, "expected_purchases_mae": 1.0, "met": True}  # fmt: skip


def _fake_shops(lines, as_of, n_shops, horizon_days=90):
    mean = {"auc": 0.7, "recency_auc": 0.6, "bgnbd_auc": 0.6, "ece": 0.03, "margin_over_recency": 0.1}
    return {"as_of": as_of, "shops": n_shops, "mean": mean, "shops_ahead_of_recency": n_shops,
            "worst_margin_over_recency": 0.05}  # fmt: skip


def _fake_cdnow():
    fitted = {"fitted": 1.0, "published": 1.0, "relative_error": 0.0}
    return {"bgnbd": {"parameters": {"r": fitted}, "log_likelihood": -9582.4321, "holdout_expected": 1880.0,
                      "holdout_actual": 1882, "holdout_actual_published": 1882, "holdout_mae_per_customer": 0.5},
            "gamma_gamma": {"parameters": {"p": fitted}}}  # fmt: skip


@pytest.mark.parametrize("quick", [True, False])
def test_the_run_says_each_step_on_stderr_and_writes_the_same_reports_without_it(quick, tmp_path, monkeypatch, capsys):
    """The full run (three dates, ten small shops each, CDNOW) printed nothing for minutes before its table: a CI job
    could not tell a slow step from a hung one. Each step is said as it starts and ends, in the order it runs, and
    the reports are the same bytes with the progress and without it (the steps' figures stood in for, the clock
    stood still)."""
    import pandas as pd

    from evals.audience import run
    from evals.audience.churn import AS_OF_DATES
    from tests.evals.progress import frozen_clock, silenced, written

    ran = []
    monkeypatch.setattr(run, "load_orders", lambda: pd.DataFrame({"timestamp": pd.to_datetime(["2011-12-09"])}))
    monkeypatch.setattr(run, "evaluate_date", lambda *a, **k: ran.append(("churn", a[1])) or _fake_churn(*a, **k))
    monkeypatch.setattr(
        run, "evaluate_small_shops", lambda *a, **k: ran.append(("shops", a[1])) or _fake_shops(*a, **k)
    )
    monkeypatch.setattr(run, "evaluate_cdnow", lambda: ran.append(("cdnow", None)) or _fake_cdnow())
    frozen_clock(monkeypatch, run)
    options = ["--quick"] * quick
    code = run.main([*options, "--out", str(tmp_path / "told")])
    told = capsys.readouterr()
    dates = AS_OF_DATES[-1:] if quick else AS_OF_DATES
    shops = 3 if quick else 10
    steps = 2 * len(dates) + 1
    expected = [
        *(f"step {number} of {steps}: churn as of {day}, 90-day horizon" for number, day in enumerate(dates, 1)),
        *(f"step {len(dates) + n} of {steps}: {shops} small shops as of {day}" for n, day in enumerate(dates, 1)),
        f"step {steps} of {steps}: CDNOW BG/NBD and Gamma-Gamma",
    ]  # fmt: skip
    figures = ([": AUC 0.7000, margin +0.0500"] * len(dates) + [": mean AUC 0.7000"] * len(dates)
               + [": BG/NBD log-likelihood -9582.43"])  # fmt: skip
    broken = "threshold broken: "  # exit_code's lines: the stand-in figures break the quick limits
    assert [line for line in told.err.splitlines() if not line.startswith(broken)] == [
        line for step, said in zip(expected, figures, strict=True) for line in (step, f"{step} done in 0.0 s{said}")
    ]
    assert ran == [("churn", day) for day in dates] + [("shops", day) for day in dates] + [("cdnow", None)]
    assert "step " not in told.out
    silenced(monkeypatch)
    assert run.main([*options, "--out", str(tmp_path / "silent")]) == code
    assert all(line.startswith(broken) for line in capsys.readouterr().err.splitlines())
    stem = "audience_quick" if quick else "audience"
    assert list(written(tmp_path / "told")) == [f"{stem}.json", f"{stem}.md"]
    assert written(tmp_path / "told") == written(tmp_path / "silent")


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
