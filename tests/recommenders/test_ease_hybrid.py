"""EASE hybrid: the shared contract, its scores against the formula on a hand-sized case, and what the
catalog side information adds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommenders.registry import create
from tests.recommenders.contract import RecommenderContract


class TestEASEHybrid(RecommenderContract):
    model_name = "ease_hybrid"
    params = {"regularization": 1.0, "neighbours": 3, "factors": 2}


# 4 customers x 4 products; every product has at least one customer.
MATRIX = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 1, 1, 1], [0, 0, 1, 1]], dtype=float)
CATEGORIES = ["x", "x y", "y", "x"]


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, columns = np.nonzero(MATRIX)
    interactions = pd.DataFrame({"customer_id": [f"u{r}" for r in rows], "product_id": [f"p{c}" for c in columns]})
    catalog = pd.DataFrame({"product_id": [f"p{c}" for c in range(4)], "category": CATEGORIES})
    return interactions, catalog


def expected_scores(lam: float, side: float, knn: float, spectral: float) -> np.ndarray:
    """The model's documented formula written out densely: blended per-customer standardised signals."""
    x = MATRIX
    tokens = np.array([[1, 1, 0, 1], [0, 1, 1, 0]], dtype=float)  # x, y
    gram = x.T @ x + side**2 * tokens.T @ tokens + lam * np.eye(4)
    precision = np.linalg.inv(gram)
    ease = x @ (np.eye(4) - precision / np.diag(precision))
    norms = np.sqrt(x.sum(axis=1))
    similarity = (x @ x.T / np.outer(norms, norms)) ** 2
    np.fill_diagonal(similarity, 0.0)
    nearest = similarity.max(axis=1, keepdims=True)  # neighbours=1
    votes = np.where(similarity >= nearest, similarity, 0.0) @ x / x.sum(axis=0) ** 0.3
    degree = x.sum(axis=0)
    v = np.linalg.svd(x / np.sqrt(x.sum(axis=1))[:, None] / np.sqrt(degree)[None, :])[2][:1].T  # factors=1
    low_pass = x @ (v / np.sqrt(degree)[:, None]) @ (v.T * np.sqrt(degree)[None, :])

    def standardise(scores):
        unseen = x == 0
        count = unseen.sum(axis=1, keepdims=True)
        mean = (scores * unseen).sum(axis=1, keepdims=True) / count
        deviation = np.sqrt((((scores - mean) * unseen) ** 2).sum(axis=1, keepdims=True) / count)
        return (scores - mean) / np.where(deviation > 0, deviation, 1.0)

    return (1 - knn - spectral) * standardise(ease) + knn * standardise(votes) + spectral * standardise(low_pass)


def test_scores_follow_the_formula():
    interactions, catalog = frames()
    params = {"regularization": 2.0, "side_weight": 1.5, "knn_weight": 0.3, "spectral_weight": 0.2}
    model = create("ease_hybrid", neighbours=1, factors=1, **params).fit(interactions, catalog)
    assert list(model.vocabulary.products) == ["p0", "p1", "p2", "p3"]
    rows = model.vocabulary.customer_rows(["u0", "u1", "u2", "u3"])
    expected = expected_scores(2.0, 1.5, 0.3, 0.2)
    np.testing.assert_allclose(model._score(rows), expected, rtol=1e-4, atol=1e-4)


def test_without_catalog_or_helpers_it_ranks_like_ease():
    interactions, _ = frames()
    hybrid = create("ease_hybrid", regularization=2.0, knn_weight=0.0, spectral_weight=0.0).fit(interactions)
    ease = create("ease", regularization=2.0).fit(interactions)
    customers = ["u0", "u1", "u2", "u3"]
    pd.testing.assert_frame_equal(
        hybrid.recommend(customers, k=2)[["customer_id", "product_id"]],
        ease.recommend(customers, k=2)[["customer_id", "product_id"]],
    )


def test_categories_link_products_nobody_bought_together():
    # p0..p2 are bought together; q is only ever bought alone, but shares p0..p2's category.
    rows = [(f"u{i}", p) for i in range(6) for p in ("p0", "p1", "p2")] + [("w", "q"), ("w2", "q"), ("w2", "r")]
    interactions = pd.DataFrame(rows, columns=["customer_id", "product_id"])
    catalog = pd.DataFrame({"product_id": ["p0", "p1", "p2", "q", "r"], "category": ["drama"] * 4 + ["horror"]})
    newcomer = pd.concat([interactions, pd.DataFrame({"customer_id": ["n"], "product_id": ["p0"]})])
    params = {"regularization": 1.0, "knn_weight": 0.0, "spectral_weight": 0.0}
    plain = create("ease_hybrid", side_weight=0.0, **params).fit(newcomer, catalog)
    with_side = create("ease_hybrid", side_weight=2.0, **params).fit(newcomer, catalog)
    score = lambda model: model.recommend(["n"], k=4).set_index("product_id")["score"]  # noqa: E731
    assert score(with_side)["q"] > score(with_side)["r"]
    assert score(plain)["q"] == pytest.approx(score(plain)["r"], abs=1e-5)
