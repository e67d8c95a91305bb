"""EASE (Steck 2019): a closed-form linear item-item model, strong on dense catalogs of a few thousand items.

The item-item weights solve a ridge regression of each product's column on all other columns:
B = I - P / diag(P) with P = (X'X + lambda I)^-1 and a zero diagonal. Training costs one inversion of a
products x products matrix, so `max_products` keeps only the most popular ones (others are never
recommended by this model, but still fall back to popularity for unknown customers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp

from recommenders.base import Recommender
from recommenders.errors import FitFailed
from recommenders.interactions import Preparation


class EASERecommender(Recommender):
    """Embarrassingly shallow autoencoder with L2 strength `regularization`."""

    name = "ease"

    def __init__(
        self,
        regularization: float = 250.0,
        binary: bool = True,
        dropout: float = 0.0,
        max_products: int = 12_000,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(preparation)
        self.regularization = regularization
        self.binary = binary
        self.dropout = dropout
        self.max_products = max_products

    def _inputs(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        matrix = user_items.astype(np.float32).tocsr(copy=True)
        if self.binary:
            matrix.data[:] = 1.0
        return matrix

    def _kept_products(self, matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
        """The columns EASE models (the `max_products` most interacted with, in column order) and every
        column's interaction count."""
        support = np.bincount(matrix.indices, minlength=matrix.shape[1])
        kept = np.sort(np.argsort(-support, kind="stable")[: self.max_products])
        return kept[support[kept] > 0], support

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        matrix = self._inputs(user_items)
        kept, _ = self._kept_products(matrix)
        columns = matrix[:, kept]
        # float32 halves the time of the inversion; the ridge term keeps it well conditioned.
        gram = (columns.T @ columns).toarray().astype(np.float32, copy=False)
        weights = ease_weights(gram, self.regularization, self.dropout)
        self.kept_products = kept
        # C order: scipy multiplies sparse rows by a dense matrix without copying it only then.
        self.item_weights = np.ascontiguousarray(weights, dtype=np.float32)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        if len(self.kept_products) == self.vocabulary.n_products:  # every product modelled: no copy into place
            return self._inputs(self.user_items[rows]) @ self.item_weights
        history = self._inputs(self.user_items[rows])[:, self.kept_products]
        scores = np.full((len(rows), self.vocabulary.n_products), -np.inf, dtype=np.float32)
        scores[:, self.kept_products] = history @ self.item_weights
        return scores

    def _item_similarity(self, column: int) -> np.ndarray:
        similarity = np.zeros(self.vocabulary.n_products, dtype=np.float32)
        position = np.searchsorted(self.kept_products, column)
        if position < len(self.kept_products) and self.kept_products[position] == column:
            similarity[self.kept_products] = self.item_weights[position]
        return similarity


def ease_weights(gram: np.ndarray, regularization: float, dropout: float = 0.0) -> np.ndarray:
    """EASE's item-item weights from a Gram matrix (overwritten): B = I - P / diag(P), zero diagonal."""
    # DLAE-style: dropout `p` of inputs adds p/(1-p) x each item's own count to its ridge penalty,
    # which regularises popular items more (Steck 2020, "Autoencoders that don't overfit towards the identity").
    penalty = regularization + dropout / (1.0 - dropout) * np.diag(gram)
    gram[np.diag_indices_from(gram)] += penalty
    try:
        precision = scipy.linalg.inv(gram, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as error:
        raise FitFailed(f"EASE could not invert the item matrix ({error}); raise the regularization.") from None
    # -P / diag(P), computed in P itself: EASE's inversion is the peak of the blend's fit, and the temporary and the
    # result of P's size that the expression made beside P raised that peak by twice P's size.
    diagonal = np.diag(precision).copy()
    np.negative(precision, out=precision)
    precision /= diagonal[None, :]
    precision[np.diag_indices_from(precision)] = 0.0
    return precision
