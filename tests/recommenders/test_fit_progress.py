"""A fit that goes in stages tells a listener as they pass, stops when the listener raises, and keeps no trace of
it in the fitted model."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.base import Recommender
from recommenders.registry import create
from tests.recommenders.contract import checkerboard
from tests.recommenders.test_models import replenishment_shop


class Heard(list):
    def __call__(self, done: int, total: int, message: str = "") -> None:
        self.append((done, total, message))


@pytest.mark.parametrize("name", ["als", "bpr"])
def test_implicit_models_report_each_iteration(name):
    interactions, _, _ = checkerboard()
    heard = Heard()
    create(name, factors=2, iterations=4).fit(interactions, progress=heard)
    assert heard == [(i, 4, f"iteration {i} of 4") for i in range(1, 5)]


def test_the_blend_reports_each_time_window_then_the_final_fit():
    heard = Heard()
    model = create("blend", holdout_days=30, training_windows=3).fit(replenishment_shop(), progress=heard)
    assert model.learned
    assert [done for done, _, _ in heard] == [0, 1, 2, 3, 4, 5] and {total for _, total, _ in heard} == {5}
    assert [message for _, _, message in heard] == [
        "learning the weights: window 1 of 3",
        "learning the weights: window 2 of 3",
        "learning the weights: window 3 of 3",
        "learning the weights: fitting them",
        "fitting the signals on all the data",
        "fitted",
    ]


def test_the_blend_on_thin_data_still_ends_its_progress():
    interactions, catalog, _ = checkerboard()
    heard = Heard()
    model = create("blend").fit(interactions, catalog, progress=heard)
    assert not model.learned
    figures = [done for done, _, _ in heard]
    assert figures == sorted(figures) and heard[-1][0] == heard[-1][1]


def test_auto_passes_the_listener_to_the_model_it_chose():
    heard = Heard()
    model = create("auto").fit(replenishment_shop(), progress=heard)
    assert model.chosen == "blend" and heard[-1] == (8, 8, "fitted")


class Stop(Exception):
    pass


def test_a_listener_that_raises_stops_the_fit_where_it_is(tmp_path):
    """A cancelled job raises from its progress: the fit must end there, not run on to its end."""
    heard = Heard()

    def cancel_after_two(done: int, total: int, message: str = "") -> None:
        heard(done, total, message)
        if len(heard) == 2:
            raise Stop

    model = create("als", factors=2, iterations=10)
    with pytest.raises(Stop):
        model.fit(checkerboard()[0], progress=cancel_after_two)
    assert len(heard) == 2 and "_fit_progress" not in vars(model)


def test_the_fitted_model_keeps_no_listener_and_saves(tmp_path):
    interactions, _, _ = checkerboard()
    model = create("bpr", factors=2, iterations=3).fit(interactions, progress=lambda *heard: None)
    assert "_fit_progress" not in vars(model)
    loaded = Recommender.load(model.save(tmp_path / "bpr.pkl"))  # a lambda kept in the model would not pickle
    customers = interactions["customer_id"].unique()
    pd.testing.assert_frame_equal(loaded.recommend(customers, k=3), model.recommend(customers, k=3))
