"""Bayesian personalised ranking (pairwise matrix factorisation) from the `implicit` library."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.cpu.bpr import BayesianPersonalizedRanking

from recommenders.base import Recommender
from recommenders.errors import FitFailed
from recommenders.interactions import Preparation


class BPRRecommender(Recommender):
    """Rendle et al.'s BPR trained by SGD; defaults are implicit's own."""

    name = "bpr"

    def __init__(
        self,
        factors: int = 100,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 100,
        random_state: int = 42,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(preparation)
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.random_state = random_state

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        model = BayesianPersonalizedRanking(
            factors=self.factors,
            learning_rate=self.learning_rate,
            regularization=self.regularization,
            iterations=self.iterations,
            random_state=self.random_state,
            # implicit's SGD runs lock-free over every core by default, so the same random_state gave different
            # factors (and eval figures) each run; one thread repeats them
            num_threads=1,
        )
        model.fit(user_items, show_progress=False, callback=self._iteration_done)
        if not np.isfinite(model.item_factors).all():
            raise FitFailed("BPR diverged (non-finite factors); lower the learning rate.")
        # implicit keeps the item bias as the last factor and a constant 1 as the user's last factor.
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.user_factors[rows] @ self.item_factors.T

    def _item_vectors(self) -> np.ndarray:
        vectors = self.item_factors[:, :-1]
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
