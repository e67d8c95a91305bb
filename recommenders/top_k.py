"""Top-k selection: each row's k best scores, best first, ties taken by lower index, which every recommender's
list and the blend's candidates are cut to."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and scores of the k best entries per row, best first (ties by lower index).

    Only a few entries a row are sorted: those at or above a threshold read on every 16th column, which holds
    the row's top k (and their ties) wherever at least k entries reach it. Rows where too few reach it, or too
    many tie with it (a row of zeros), get their exact k-th best, ties taken by lower index. On 2,500 x 10,000
    scores this took under half the time of an argpartition over every column."""
    n_rows, n_columns = scores.shape
    if k <= 0 or not n_rows:
        return np.zeros((n_rows, max(k, 0)), dtype=np.int64), np.zeros((n_rows, max(k, 0)), dtype=np.float32)
    stride = min(n_columns // (4 * k), 16)
    if stride < 2:  # few columns: sort them all
        return _sorted_best(scores, k)
    rank = max(1, k // 4)  # about rank x stride entries a row reach the rank-th best of the sampled columns
    taken = scores >= _kth_best(scores[:, ::stride], rank)
    counts = taken.sum(axis=1)
    redo = np.flatnonzero((counts < k) | (counts > 4 * rank * stride + k))
    if len(redo):
        taken[redo] = _best_with_ties_by_index(scores[redo], k)
        counts[redo] = taken[redo].sum(axis=1)
    rows, columns = np.nonzero(taken)  # row by row, columns in order
    values = scores[rows, columns]
    order = np.lexsort((-values, rows))  # stable: equal scores keep their column order
    index = np.zeros((n_rows, k), dtype=np.int64)
    best = np.zeros((n_rows, k), dtype=scores.dtype)
    whole = np.flatnonzero(counts >= k)  # the others hold NaNs, which no threshold compares with
    picked = order[(np.cumsum(counts) - counts)[whole, None] + np.arange(k)]
    index[whole], best[whole] = columns[picked], values[picked]
    if len(whole) < n_rows:
        rest = np.flatnonzero(counts < k)
        index[rest], best[rest] = _sorted_best(scores[rest], k)
    return index, best


def _best_with_ties_by_index(scores: np.ndarray, k: int) -> np.ndarray:
    """A mask of each row's k best entries, ties at the k-th best value broken by lower index."""
    kth = _kth_best(scores, k)
    above = scores > kth
    tied = scores == kth
    wanted = k - above.sum(axis=1, keepdims=True)
    return above | (tied & (np.cumsum(tied, axis=1) <= wanted))


def _kth_best(scores: np.ndarray, k: int) -> np.ndarray:
    """Each row's k-th best score, as a column. (argpartition of the negated scores: np.partition took ten times
    as long on rows of many equal values.)"""
    negated = -scores
    kth = np.argpartition(negated, k - 1, axis=1)[:, k - 1 : k]
    return -np.take_along_axis(negated, kth, axis=1)


def _sorted_best(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    best = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return best.astype(np.int64), np.take_along_axis(scores, best, axis=1)
