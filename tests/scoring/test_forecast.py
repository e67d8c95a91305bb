"""Campaign totals are sums of probabilities with honest intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from scoring.errors import MissingColumns
from scoring.forecast import forecast_by, forecast_totals


def _predictions(n: int = 1000) -> pd.DataFrame:
    return pd.DataFrame(
        {"p_open": 0.3, "p_click": 0.1, "p_conversion": 0.02, "mean_price": 50.0, "segment": ["a", "b"] * (n // 2)},
        index=range(n),
    )


def test_totals_are_expected_counts_and_revenue():
    totals = forecast_totals(_predictions(), items_per_order=2)
    assert totals["sends"] == 1000
    assert totals["opens"] == pytest.approx(300) and totals["clicks"] == pytest.approx(100)
    assert totals["conversions"] == pytest.approx(20) and totals["revenue"] == pytest.approx(20 * 100)
    assert totals["opens_low"] < 300 < totals["opens_high"]
    assert totals["open_rate"] == pytest.approx(0.3) and totals["conversion_rate"] == pytest.approx(0.02)


def test_interval_covers_simulated_campaigns():
    predictions = _predictions(2000)
    totals = forecast_totals(predictions, level=0.9)
    rng = np.random.default_rng(0)
    simulated = rng.binomial(2000, 0.3, size=2000)
    covered = np.mean((simulated >= totals["opens_low"]) & (simulated <= totals["opens_high"]))
    assert 0.86 < covered < 0.94


def test_average_order_value_and_grouping():
    predictions = _predictions().drop(columns="mean_price")
    assert forecast_totals(predictions, average_order_value=40)["revenue"] == pytest.approx(800)
    by_segment = forecast_by(_predictions(), "segment")
    assert list(by_segment.index) == ["a", "b"] and by_segment["sends"].sum() == 1000
    with pytest.raises(MissingColumns):
        forecast_totals(predictions.drop(columns="p_click"))
