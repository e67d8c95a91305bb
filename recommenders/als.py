"""Implicit-feedback matrix factorisation (alternating least squares) from the `implicit` library."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.als import AlternatingLeastSquares
from threadpoolctl import threadpool_limits

from recommenders.base import Recommender
from recommenders.errors import FitFailed
from recommenders.interactions import Preparation


class ALSRecommender(Recommender):
    """Hu, Koren & Volinsky's implicit ALS; defaults are implicit's own."""

    name = "als"

    def __init__(
        self,
        factors: int = 100,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int = 42,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(preparation)
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        # implicit's ALS runs its own threads and is much slower over a multithreaded BLAS.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.random_state,
            )
            model.fit(user_items, show_progress=False, callback=self._iteration_done)
        if not np.isfinite(model.item_factors).all():
            raise FitFailed("ALS diverged (non-finite factors); raise the regularization or lower alpha.")
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors[rows] @ self.item_factors.T

    def _item_vectors(self) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        return self.item_factors / np.maximum(norms, 1e-12)
