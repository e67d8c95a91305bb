"""implicit's kNN recommenders weight the matrix they are given into COO or CSC and warn of converting it to CSR;
the warning was silenced around the fit with ``warnings.catch_warnings``, which is not thread-safe: a training in a
job's thread, beside other threads entering and leaving their own, let it through (three tests' warnings in one
full run). The matrix is now weighted here, as implicit weights it, and handed to its kNN as CSR."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from implicit.nearest_neighbours import BM25Recommender, CosineRecommender, TFIDFRecommender

from recommenders.item_knn import ItemKNNRecommender


def _user_items(seed: int = 3) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((60, 25)) < 0.2) * rng.integers(1, 4, (60, 25))
    return sp.csr_matrix(dense.astype(np.float32))


def _implicit_s_own(similarity: str, user_items: sp.csr_matrix) -> sp.csr_matrix:
    model = {"cosine": CosineRecommender(K=5), "bm25": BM25Recommender(K=5, K1=1.2, B=0.75),
             "tfidf": TFIDFRecommender(K=5)}[similarity]  # fmt: skip
    with warnings.catch_warnings():  # its own warning, here alone
        warnings.simplefilter("ignore")
        model.fit(user_items, show_progress=False)
    return model.similarity.tocsr()


@pytest.mark.parametrize("similarity", ["cosine", "bm25", "tfidf"])
def test_the_knn_is_handed_csr_and_finds_the_similarity_implicit_s_own_recommender_finds(similarity):
    from implicit.nearest_neighbours import ItemItemRecommender

    user_items = _user_items()
    recommender = ItemKNNRecommender(similarity=similarity, neighbours=5)
    weighted = recommender.knn_input(user_items)
    assert isinstance(weighted, sp.csr_matrix)
    knn = ItemItemRecommender(K=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no conversion left for implicit to warn of
        knn.fit(weighted, show_progress=False)
    expected = _implicit_s_own(similarity, user_items)
    assert (knn.similarity.tocsr() != expected).nnz == 0  # to the bit
