"""thresholds.yaml read and checked in one place: floors, ceilings, properties, and figures never measured."""

from __future__ import annotations

import pytest

from evals.thresholds import broken, limits


def test_floors_ceilings_and_properties_are_checked():
    bounds = {"auc_min": 0.7, "ece_max": 0.03, "beats_every_baseline": True}
    assert broken({"auc": 0.71, "ece": 0.03, "beats_every_baseline": True}, bounds) == []
    assert broken({"auc": 0.69, "ece": 0.031, "beats_every_baseline": False}, bounds, where="demo") == [
        "demo: auc = 0.69, min 0.7",
        "demo: ece = 0.031, max 0.03",
        "demo: beats_every_baseline is False, should be True",
    ]


def test_a_figure_the_run_did_not_measure_breaks_its_limit():
    """A renamed metric would otherwise pass its limit for ever."""
    assert broken({"auc": 0.9}, {"auc_min": 0.7, "macro_f1_min": 0.46}) == ["macro_f1 was not measured"]


@pytest.mark.parametrize("area", ["recommenders", "audience", "scoring", "generation", "experiments"])
def test_every_area_has_limits_and_each_names_a_floor_ceiling_or_property(area):
    table = limits(area)
    sections = [table] if area == "generation" else list(table.values())
    assert sections and all(sections)
    for section in sections:
        for key, bound in section.items():
            kind = int | float if key.endswith(("_min", "_max")) else bool
            assert isinstance(bound, kind), key


@pytest.mark.parametrize("bounds", [{"auc_min": 0.7}, {"auc_max": 0.9}])
def test_a_figure_that_came_out_nan_breaks_its_limit(bounds):
    """NaN compares false with every bound: an AUC of one class, or a pairwise accuracy with no pair, passed."""
    (failure,) = broken({"auc": float("nan")}, bounds)
    assert failure.startswith("auc = nan, not a measurable figure")
