"""EASE's item-item weights are computed in the inverted matrix itself: the same bits, without two more of its size."""

from __future__ import annotations

import tracemalloc

import numpy as np
import scipy.linalg

from recommenders.ease import ease_weights


def item_gram(products: int) -> np.ndarray:
    purchases = (np.random.default_rng(3).random((2 * products, products)) < 0.05).astype(np.float32)
    return purchases.T @ purchases


def test_ease_weights_are_minus_the_precision_over_its_diagonal_to_the_bit():
    gram = item_gram(300)
    penalised = gram.copy()
    penalised[np.diag_indices_from(penalised)] += 2.0
    precision = scipy.linalg.inv(penalised, overwrite_a=True, check_finite=False)
    expected = -precision / np.diag(precision)[None, :]
    expected[np.diag_indices_from(expected)] = 0.0
    weights = ease_weights(gram.copy(), regularization=2.0)
    assert weights.dtype == np.float32 and np.array_equal(weights, expected)


def test_ease_weights_need_no_more_than_one_item_matrix_beside_the_gram():
    """The inversion is the peak of the blend's fit (EASE in each training window, two windows at a time); the
    weights took a negated copy and a quotient of the item matrix's size beside the inverse."""
    gram = item_gram(600)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        weights = ease_weights(gram, regularization=2.0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.isfinite(weights).all()
    assert peak - before < 1.5 * gram.nbytes
