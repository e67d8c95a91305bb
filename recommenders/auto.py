"""`auto`: pick a sensible model for the data at hand, fit it, and serve through it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.base import Recommender
from recommenders.interactions import Preparation

# Below this many customers with two or more products, collaborative models have too little to learn from.
_MIN_COLLABORATIVE_CUSTOMERS = 20


class AutoRecommender(Recommender):
    """Chooses popularity for tiny or single-product histories and ALS otherwise; `chosen` names the pick."""

    name = "auto"

    def __init__(self, preparation: Preparation | dict | None = None) -> None:
        super().__init__(preparation)
        self.chosen: str | None = None

    def fit(self, interactions: pd.DataFrame, products: pd.DataFrame | None = None) -> AutoRecommender:
        from recommenders.registry import create

        super().fit(interactions, products)
        products_per_customer = np.diff(self.user_items.indptr)
        if (products_per_customer >= 2).sum() < _MIN_COLLABORATIVE_CUSTOMERS:
            self.chosen = "popularity"
            self.delegate = create("popularity")
        else:
            self.chosen = "als"
            self.delegate = create("als", factors=64, iterations=15, preparation=Preparation(confidence="bm25"))
        self.delegate.fit(interactions, products)
        self.vocabulary, self.user_items, self.popularity = (
            self.delegate.vocabulary,
            self.delegate.user_items,
            self.delegate.popularity,
        )
        return self

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        return None

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.delegate._score(rows)

    def _item_similarity(self, column: int) -> np.ndarray:
        return self.delegate._item_similarity(column)
