"""The top-k selection every recommender ends in, and the blend's scoring shortcuts, against plain references."""

from __future__ import annotations

import numpy as np
import pytest

from evals.recommenders.bench import synthetic_interactions
from recommenders.registry import create
from recommenders.top_k import top_k


def _reference(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every column sorted: best first, ties by lower index."""
    columns = np.tile(np.arange(scores.shape[1]), (scores.shape[0], 1))
    best = np.lexsort((columns, -scores), axis=1)[:, :k]
    return best, np.take_along_axis(scores, best, axis=1)


@pytest.mark.parametrize("seed", range(6))
def test_top_k_is_the_sorted_best_with_ties_by_lower_index(seed):
    rng = np.random.default_rng(seed)
    # Wide enough for the sampled threshold (columns >= 8 k), with few distinct values so that ties cross it.
    scores = rng.integers(0, 6, (50, 700)).astype(np.float32)
    scores[rng.random(scores.shape) < 0.3] = -np.inf
    scores[0] = -np.inf  # a row with nothing left to recommend
    scores[1, 5:] = -np.inf  # fewer finite scores than k
    scores[2] += rng.standard_normal(700).astype(np.float32)  # no ties
    for k in (1, 10, 40):
        index, value = top_k(scores, k)
        expected_index, expected_value = _reference(scores, k)
        assert index.dtype == np.int64 and index.shape == (50, k)
        np.testing.assert_array_equal(index, expected_index)
        np.testing.assert_array_equal(value, expected_value)


def test_top_k_with_nan_narrow_and_empty_inputs():
    scores = np.random.default_rng(0).standard_normal((4, 900)).astype(np.float32)
    scores[3, ::2] = np.nan  # a NaN threshold: the exact sort answers
    for matrix, k in ((scores, 10), (scores[:, :30], 10), (scores[:, :30], 30), (scores, 0), (scores[:0], 5)):
        index, value = top_k(matrix, k)
        expected_index, expected_value = _reference(matrix, k)
        np.testing.assert_array_equal(index, expected_index)
        np.testing.assert_array_equal(value, expected_value)


@pytest.fixture(scope="module")
def blend():
    return create("blend", training_windows=2).fit(synthetic_interactions(400, 300, seed=3))


def test_blend_component_scores_are_each_rows_scaled_component_scores(blend):
    signals = blend.signals
    rows = np.arange(len(signals.customers))[::3]
    for name, component in signals.components.items():
        component_rows, column_map = signals.maps[name]
        raw = component._score(component_rows[rows])
        raw = np.where(np.isfinite(raw), raw, 0.0)
        expected = np.zeros((len(rows), len(signals.product_index)), np.float32)
        expected[:, column_map] = raw / np.maximum(np.abs(raw).max(axis=1, keepdims=True), 1e-9)
        np.testing.assert_allclose(signals._component(name, rows), expected, rtol=1e-6)


def test_blend_seen_positions_are_the_bought_pairs_in_order(blend):
    rows = np.arange(len(blend.signals.customers))[5:60]
    expected_rows, expected_columns = np.nonzero(blend.signals.seen(rows))
    got_rows, got_columns = blend.signals.seen_positions(rows)
    np.testing.assert_array_equal(got_rows, expected_rows)
    np.testing.assert_array_equal(got_columns, expected_columns)


def test_top_k_with_rows_of_ties_takes_the_lowest_indices_without_sorting_them_all():
    scores = np.zeros((30, 5000), dtype=np.float32)
    scores[:, 4000:4003] = 1.0  # three above a sea of zeros: the rest of the top 50 are the first zeros
    scores[10] = -np.inf
    scores[10, [7, 4999]] = 2.0
    index, value = top_k(scores, 50)
    expected_index, expected_value = _reference(scores, 50)
    np.testing.assert_array_equal(index, expected_index)
    np.testing.assert_array_equal(value, expected_value)
    assert list(index[0, :5]) == [4000, 4001, 4002, 0, 1]
