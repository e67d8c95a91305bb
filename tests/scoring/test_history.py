"""Past-engagement features never see the send they describe, and fall back to the shop rate for newcomers."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.history import PRIOR_SENDS, customer_totals, prediction_history, training_history


def _sends() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["A", "A", "A", "B"],
            "sent_at": pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02", "2026-01-01"]),
            "opened": [1, 1, 0, 1],
            "clicked": [0, 0, 0, 0],
        }
    )


def test_training_history_uses_only_earlier_sends():
    history = training_history(_sends(), overall_rate=0.5)
    assert history["past_sends"].tolist() == [2, 0, 1, 0]
    assert history.loc[0, "past_open_rate"] == pytest.approx((1 + PRIOR_SENDS * 0.5) / (2 + PRIOR_SENDS))
    assert history.loc[1, "past_open_rate"] == 0.5


def test_prediction_history_from_totals_or_given_columns():
    totals = customer_totals(_sends())
    planned = pd.DataFrame({"customer_id": ["A", "NEW"]})
    history = prediction_history(planned, totals, overall_rate=0.5)
    assert history["past_sends"].tolist() == [3, 0]
    assert history.loc[1, "past_open_rate"] == 0.5
    given = planned.assign(past_sends=[10, 1], past_open_rate=[0.9, None])
    assert prediction_history(given, totals, 0.5)["past_open_rate"].tolist() == [0.9, 0.5]
