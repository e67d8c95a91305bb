"""`auto`: pick the model that suits the data at hand, fit it, and serve through it.

The choice follows what the evals measured (see evals/recommenders):

- fewer than 20 customers with two or more products: `popularity` (nothing to learn from);
- customers re-buy products on different days (at least 5 % of customer-product pairs) and the history
  spans at least three months: the learned `blend` of repeat, collaborative and content signals;
- otherwise, up to `max_products_for_ease` products: `ease` (best on MovieLens-style data);
- otherwise: implicit `als` over BM25-weighted confidence.

`chosen` names the pick; the fitted model is `delegate`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.base import FitProgress, Recommender
from recommenders.interactions import Preparation, validate_interactions

_MIN_COLLABORATIVE_CUSTOMERS = 20
_MIN_REPEAT_SHARE = 0.05
_MIN_HISTORY_DAYS = 90


def choose(interactions: pd.DataFrame, max_products_for_ease: int = 15_000) -> tuple[str, dict]:
    """The (model name, params) `auto` uses for these interactions."""
    lines = validate_interactions(interactions)
    lines = lines[lines["quantity"] > 0]
    purchase_days = lines.assign(day=lines["timestamp"].dt.normalize())[["customer_id", "product_id", "day"]]
    pairs = purchase_days.drop_duplicates().groupby(["customer_id", "product_id"]).size()  # days each pair bought
    products_per_customer = pairs.groupby(level="customer_id").size()
    if (products_per_customer >= 2).sum() < _MIN_COLLABORATIVE_CUSTOMERS:
        return "popularity", {}
    span_days = (lines["timestamp"].max() - lines["timestamp"].min()).days
    if (pairs > 1).mean() >= _MIN_REPEAT_SHARE and span_days >= _MIN_HISTORY_DAYS:
        return "blend", {}
    if lines["product_id"].nunique() <= max_products_for_ease:
        return "ease", {}
    return "als", {"factors": 128, "preparation": Preparation(confidence="bm25").to_dict()}


class AutoRecommender(Recommender):
    """Delegates to the model `choose` picks; `chosen` names it."""

    name = "auto"
    uses_catalog = True

    def __init__(self, max_products_for_ease: int = 15_000, preparation: Preparation | dict | None = None) -> None:
        super().__init__(preparation)
        self.max_products_for_ease = max_products_for_ease
        self.chosen: str | None = None

    def fit(
        self, interactions: pd.DataFrame, products: pd.DataFrame | None = None, progress: FitProgress | None = None
    ) -> AutoRecommender:
        from recommenders.registry import create

        self.chosen, params = choose(interactions, self.max_products_for_ease)
        self.delegate = create(self.chosen, **params).fit(interactions, products, progress)
        self.vocabulary = self.delegate.vocabulary
        self.user_items = self.delegate.user_items
        self.purchases = self.delegate.purchases
        self.popularity = self.delegate.popularity
        return self

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        raise NotImplementedError("AutoRecommender.fit delegates and never calls _fit")

    def _state_versions(self) -> dict[str, int]:
        delegate = getattr(self, "delegate", None)  # the model it chose holds the fitted state
        return {**super()._state_versions(), **(delegate._state_versions() if delegate is not None else {})}

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.delegate._score(rows)

    def _item_similarity(self, column: int) -> np.ndarray:
        return self.delegate._item_similarity(column)

    @property
    def ranks_unexplained_by_popularity(self) -> bool:  # the model it chose ranks
        return self.delegate.ranks_unexplained_by_popularity

    @property
    def explains_by_purchases(self) -> bool:
        return self.delegate.explains_by_purchases
