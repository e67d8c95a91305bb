"""Item-item nearest neighbours from the `implicit` library (cosine, BM25 or TF-IDF weighted)."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender
from implicit.utils import ParameterWarning

from recommenders.base import Recommender
from recommenders.interactions import Preparation

_LIBRARY_MODELS = {"cosine": CosineRecommender, "bm25": BM25Recommender, "tfidf": TFIDFRecommender}


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
        if self.similarity == "bm25":
            model = BM25Recommender(K=self.neighbours, K1=self.bm25_k1, B=self.bm25_b)
        else:
            model = _LIBRARY_MODELS[self.similarity](K=self.neighbours)
        with warnings.catch_warnings():
            # implicit transposes our CSR matrix into COO internally and then warns about its own conversion.
            warnings.simplefilter("ignore", ParameterWarning)
            model.fit(user_items, show_progress=False)
        self.item_similarity = model.similarity.tocsr().astype(np.float32)

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
