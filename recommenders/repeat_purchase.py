"""Repeat purchase: recommend a customer's own most bought products (re-orders dominate many shops)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.base import Recommender
from recommenders.interactions import Preparation

# Popularity only breaks ties and fills the list after the customer's own products.
_POPULARITY_TIEBREAK = 1e-3


class RepeatPurchaseRecommender(Recommender):
    """Scores each product by the customer's own (prepared) weight for it, then by popularity.

    With `exclude_seen=True` nothing the customer bought can be shown, so it degrades to popularity; it is
    meant to be asked with `exclude_seen=False` (replenishment e-mails) or used inside the blend.
    """

    name = "repeat_purchase"
    ranks_unexplained_by_popularity = True  # what the customer has not bought, by popularity alone
    explains_by_purchases = False  # what they bought is there again as bought, the rest by popularity

    def __init__(self, preparation: Preparation | dict | None = None) -> None:
        super().__init__(preparation or Preparation(half_life_days=90.0))

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        return None

    def _score(self, rows: np.ndarray) -> np.ndarray:
        own = self.user_items[rows].toarray()
        return own + _POPULARITY_TIEBREAK * self.popularity[None, :]
