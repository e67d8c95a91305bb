"""Each registered model meets the contract; plus what is special about some of them."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.registry import create
from tests.recommenders.contract import RecommenderContract, checkerboard


class TestALS(RecommenderContract):
    model_name = "als"
    params = {"factors": 2, "iterations": 20}


class TestBPR(RecommenderContract):
    model_name = "bpr"
    params = {"factors": 2, "iterations": 200, "learning_rate": 0.05}


class TestItemKNNCosine(RecommenderContract):
    model_name = "item_knn"


class TestBM25(RecommenderContract):
    model_name = "bm25"


class TestPopularity(RecommenderContract):
    model_name = "popularity"
    personalised = False


class TestSegmentPopularity(RecommenderContract):
    model_name = "segment_popularity"


class TestRepeatPurchase(RecommenderContract):
    model_name = "repeat_purchase"
    personalised = False

    def test_recommends_the_customers_own_most_bought_products_first(self, model):
        recs = model.recommend(["c0"], k=2, exclude_seen=False)
        # c0 skips a0 and bought a4 with the largest quantity, but quantity is ignored by default: the
        # most recent line wins through recency decay.
        assert set(recs["product_id"]) <= {"a1", "a2", "a3", "a4"}
        assert recs["product_id"].iloc[0] == "a4"


class TestAuto(RecommenderContract):
    model_name = "auto"


def test_popularity_ranks_by_number_of_customers():
    interactions, _, _ = checkerboard()
    extra = interactions[interactions["product_id"] == "b2"].assign(customer_id=lambda f: "x" + f["customer_id"])
    model = create("popularity").fit(pd.concat([interactions, extra]))
    assert model.recommend(["nobody"], k=1)["product_id"].tolist() == ["b2"]


class TestEASE(RecommenderContract):
    model_name = "ease"
    params = {"regularization": 1.0}


class TestContent(RecommenderContract):
    model_name = "content"

    def test_recommends_catalog_products_nobody_bought(self, data):
        interactions, catalog, _ = data
        catalog = pd.concat(
            [
                catalog,
                pd.DataFrame(
                    {"product_id": ["new-rose"], "name": ["red rose fresh"], "description": ["red flower petals"]}
                ),
            ]
        )
        model = create("content").fit(interactions, catalog)
        recs = model.recommend(["c0"], k=5)
        assert "new-rose" in set(recs["product_id"])
        assert "new-rose" not in set(model.recommend(["d0"], k=5)["product_id"])

    def test_needs_a_catalog(self, data):
        from recommenders.errors import FitFailed

        with pytest.raises(FitFailed, match="catalog"):
            create("content").fit(data[0])


class TestBlend(RecommenderContract):
    model_name = "blend"
    params = {"collaborative_params": {"regularization": 1.0}}


def test_auto_picks_by_the_shape_of_the_data():
    from recommenders.auto import choose

    interactions, _, _ = checkerboard()
    assert choose(interactions)[0] == "ease"
    assert choose(interactions.head(10))[0] == "popularity"
    again = interactions.assign(timestamp=interactions["timestamp"] + pd.Timedelta(days=120))
    assert choose(pd.concat([interactions, again]))[0] == "blend"
    assert choose(interactions, max_products_for_ease=5)[0] == "als"
