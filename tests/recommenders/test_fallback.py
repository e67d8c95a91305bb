"""The popularity fallback (`recommenders.fallback`) on the checkerboard shop: recent buyers weigh most, and a list
the model cannot fill is filled with the products it does not know, after its own, through the business rules."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.cold_start import with_new_arrivals
from recommenders.fallback import HALF_LIFE_DAYS, PopularFallback, recent_popularity
from recommenders.registry import create
from recommenders.rules import Rules, recommend_with_rules
from tests.recommenders.contract import checkerboard
from tests.recommenders.test_cold_start import arrived

UNLIKE = {"name": "qwxz", "category": "zyz", "description": "vrkl"}  # reads like no product of the checkerboard


@pytest.fixture(scope="module")
def shop():
    interactions, catalog, _ = checkerboard()
    return create("item_knn").fit(interactions, catalog), catalog


def _bought(*lines: tuple[str, str, str]) -> pd.DataFrame:
    return pd.DataFrame(lines, columns=["customer_id", "product_id", "timestamp"]).astype(
        {"timestamp": "datetime64[ns]"}
    )


def test_recent_buyers_weigh_most_and_each_pair_counts_once_at_its_latest_purchase():
    latest = pd.Timestamp("2025-03-01")
    earlier = str(latest - pd.Timedelta(days=HALF_LIFE_DAYS))
    purchases = _bought(
        ("x", "old", earlier),
        ("y", "old", earlier),
        ("z", "old", earlier),  # 3 buyers a half-life ago: 1.5
        ("x", "new", str(latest)),
        ("x", "new", earlier),  # one buyer, twice, lately: 1
        ("y", "mid", earlier),
        ("z", "mid", str(latest)),  # 0.5 + 1
    )
    popularity = recent_popularity(purchases)
    assert list(popularity.index) == ["mid", "old", "new"]  # a tie in the order of the ids
    assert popularity.to_dict() == pytest.approx({"mid": 1.5, "old": 1.5, "new": 1.0})
    assert recent_popularity(purchases.head(0)).empty


def test_a_list_the_model_cannot_fill_is_filled_after_its_own_by_popularity_through_the_rules(shop):
    model, catalog = shop
    current = arrived(catalog, odd1=UNLIKE, odd2=UNLIKE, odd3=UNLIKE, odd4=UNLIKE)
    current["in_stock"] = current["product_id"].isin(["a0", "odd1", "odd2", "odd3"])  # of those it knows, a0
    asked = []

    def popularity() -> pd.Series:
        asked.append(True)
        return pd.Series({"odd4": 9.0, "odd2": 3.0, "b1": 2.5, "odd1": 2.0, "a4": 1.0})  # odd3 never bought

    served = PopularFallback(with_new_arrivals(model, current), popularity)
    lists = recommend_with_rules(served, ["c0"], current, k=4)
    # c0 never bought a0: the model's; then the unknown products bought, most popular first, but the sold-out odd4
    assert list(lists["product_id"]) == ["a0", "odd2", "odd1"]
    assert [served.is_fallback("c0", product) for product in lists["product_id"]] == [False, True, True]
    assert served.explain_many(["c0", "c0"], ["a0", "odd2"], n=2) == [model.explain("c0", "a0", n=2), []]
    capped = recommend_with_rules(served, ["c0"], current, k=4, rules=Rules(max_per_category=1))
    assert list(capped["product_id"]) == ["a0", "odd2"]  # odd1 and odd2 share the category "zyz"
    assert len(asked) == 1  # read once, when a list first came out short


def test_a_list_the_model_fills_or_of_products_it_knows_reads_no_popularity(shop):
    model, catalog = shop

    def popularity() -> pd.Series:
        raise AssertionError("nothing to fill a list with: the orders need not be read")

    served = PopularFallback(model, popularity)
    assert list(served.recommend(["c0"], k=3)["product_id"]) == list(model.recommend(["c0"], k=3)["product_id"])
    short = recommend_with_rules(served, ["c0"], catalog.assign(in_stock=catalog["product_id"] < "a2"), k=3)
    assert list(short["product_id"]) == ["a0"]  # c0 bought a1; a list short of products the model knows all of
