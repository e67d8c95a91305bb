"""Experiment arithmetic: stable assignment, Thompson allocation toward the better arm, credible effects."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring.errors import ScoringError
from scoring.experiments import HOLDOUT, allocate_sends, assign_arms, effects, thompson_allocation


def test_assignment_is_stable_and_keeps_the_holdout_share():
    ids = [f"C{i}" for i in range(20_000)]
    arms = assign_arms(ids, ["a", "b", "c"], holdout_share=0.1)
    assert arms.equals(assign_arms(ids, ["a", "b", "c"], holdout_share=0.1))
    shares = arms.value_counts(normalize=True)
    assert shares[HOLDOUT] == pytest.approx(0.1, abs=0.01)
    assert all(shares[arm] == pytest.approx(0.3, abs=0.015) for arm in "abc")
    assert not assign_arms(ids, ["a", "b"], salt="other").equals(assign_arms(ids, ["a", "b"]))
    with pytest.raises(ScoringError):
        assign_arms(ids, [])


def _counts() -> pd.DataFrame:
    return pd.DataFrame({"arm": ["a", "b", HOLDOUT], "trials": [1000, 1000, 300], "successes": [100, 60, 15]})


def test_thompson_sends_most_traffic_to_the_clear_winner():
    shares = thompson_allocation(_counts())
    assert set(shares.index) == {"a", "b"} and shares["a"] > 0.99
    even = thompson_allocation(pd.DataFrame({"arm": ["a", "b"], "trials": [0, 0], "successes": [0, 0]}))
    assert even["a"] == pytest.approx(0.5, abs=0.02)
    sends = allocate_sends(pd.DataFrame({"arm": ["a", "b"], "trials": [50, 50], "successes": [5, 4]}), 101)
    assert sends.sum() == 101


def test_effects_have_credible_intervals_around_the_lift():
    table = effects(_counts())
    assert table.loc["a", "lift"] == pytest.approx(0.1 - 16 / 302, abs=0.005)
    assert table.loc["a", "lift_low"] > 0 and table.loc["a", "p_better_than_control"] > 0.99
    assert table.loc["b", "lift_low"] < 0 < table.loc["b", "lift_high"]
    assert table.loc["a", "p_best"] > 0.99
    with pytest.raises(ScoringError, match="holdout"):
        effects(_counts()[lambda frame: frame["arm"] != HOLDOUT])
    with pytest.raises(ScoringError):
        effects(pd.DataFrame({"arm": ["a", HOLDOUT], "trials": [1, 1], "successes": [2, 0]}))
