"""Popularity baselines: the products most customers interacted with, overall or within a segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.base import Recommender
from recommenders.interactions import Preparation


class PopularityRecommender(Recommender):
    """Everyone gets the products bought by the most customers (the fallback every model shares)."""

    name = "popularity"
    ranks_unexplained_by_popularity = True
    explains_by_purchases = False

    def __init__(self, preparation: Preparation | dict | None = None) -> None:
        super().__init__(preparation)

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        return None

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.popularity, (len(rows), len(self.popularity)))


class SegmentPopularityRecommender(Recommender):
    """The most popular products among customers of the same segment (e.g. country or RFM segment).

    The segment is read from the `segment_column` of the interactions (a customer's most frequent value);
    a customer without one, or when the column is absent, gets the overall popularity. Small segments are
    shrunk towards overall popularity by `shrinkage` pseudo-customers.
    """

    name = "segment_popularity"
    ranks_unexplained_by_popularity = True  # the popularity within the customer's segment
    explains_by_purchases = False

    def __init__(
        self,
        segment_column: str = "segment",
        shrinkage: float = 20.0,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(preparation)
        self.segment_column = segment_column
        self.shrinkage = shrinkage

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        n_customers = user_items.shape[0]
        self.customer_segment = np.zeros(n_customers, dtype=np.int64)
        self.segment_names = ["(all)"]
        self.segment_scores = self.popularity[None, :].copy()
        if self.segment_column not in lines.columns:
            return
        segment_of = (
            lines.dropna(subset=[self.segment_column])
            .groupby("customer_id")[self.segment_column]
            .agg(lambda values: values.astype(str).value_counts().index[0])
        )
        codes, names = pd.factorize(segment_of, sort=True)
        rows = self.vocabulary.customer_rows(segment_of.index)
        self.customer_segment[rows] = codes + 1
        self.segment_names = ["(all)", *map(str, names)]
        binary = user_items.copy()
        binary.data[:] = 1.0
        membership = sp.csr_matrix(
            (np.ones(n_customers, dtype=np.float32), (self.customer_segment, np.arange(n_customers))),
            shape=(len(self.segment_names), n_customers),
        )
        counts = np.asarray((membership @ binary).todense(), dtype=np.float32)
        sizes = np.asarray(membership.sum(axis=1), dtype=np.float32)
        overall = np.bincount(binary.indices, minlength=binary.shape[1]) / max(n_customers, 1)
        self.segment_scores = (counts + self.shrinkage * overall[None, :]) / (sizes + self.shrinkage)
        self.segment_scores[0] = self.popularity

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return self.segment_scores[self.customer_segment[rows]]
