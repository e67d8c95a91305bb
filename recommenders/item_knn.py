"""Item-item nearest neighbours from the `implicit` library (cosine, BM25 or TF-IDF weighted)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.nearest_neighbours import ItemItemRecommender, bm25_weight, normalize, tfidf_weight

from recommenders.base import Recommender
from recommenders.interactions import Preparation


class ItemKNNRecommender(Recommender):
    """Scores a product by the summed similarity to what the customer interacted with (K neighbours each)."""

    name = "item_knn"

    def __init__(
        self,
        similarity: Literal["cosine", "bm25", "tfidf"] = "cosine",
        neighbours: int = 20,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(preparation)
        self.similarity = similarity
        self.neighbours = neighbours
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        model = ItemItemRecommender(K=self.neighbours)
        model.fit(self.knn_input(user_items), show_progress=False)
        self.item_similarity = model.similarity.tocsr().astype(np.float32)

    def knn_input(self, user_items: sp.csr_matrix) -> sp.csr_matrix:
        """``user_items`` weighted as implicit's recommender of this ``similarity`` weights it (``CosineRecommender``,
        ``BM25Recommender``, ``TFIDFRecommender``), as the CSR matrix its kNN reads: their own fits hand it COO or CSC
        and warn of converting it, a warning silenced with ``warnings.catch_warnings``, which is not thread-safe."""
        if self.similarity == "bm25":
            weighted = bm25_weight(user_items.T, self.bm25_k1, self.bm25_b).T
        elif self.similarity == "tfidf":
            weighted = normalize(tfidf_weight(user_items.T)).T
        else:
            weighted = normalize(user_items.T).T
        return sp.csr_matrix(weighted)

    def _score(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self.user_items[rows] @ self.item_similarity).toarray(), dtype=np.float32)

    def _item_similarity(self, column: int) -> np.ndarray:
        return np.asarray(self.item_similarity[column].toarray()).ravel()


class BM25ItemKNNRecommender(ItemKNNRecommender):
    """Item-item neighbours with BM25 weighting (implicit's `BM25Recommender`)."""

    name = "bm25"

    def __init__(
        self,
        similarity: Literal["cosine", "bm25", "tfidf"] = "bm25",
        neighbours: int = 20,
        bm25_k1: float = 1.2,
        bm25_b: float = 0.75,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(similarity, neighbours, bm25_k1, bm25_b, preparation)
