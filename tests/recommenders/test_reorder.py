"""Re-orderable products: read from who bought what again, pulled towards the category's share."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.reorder import PRIOR_BUYERS, buyer_counts, reorderable_products, repeat_buyer_shares


def purchases(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["customer_id", "product_id", "timestamp"]).assign(
        timestamp=lambda frame: pd.to_datetime(frame["timestamp"])
    )


def test_a_buyer_is_a_repeat_buyer_when_they_bought_the_product_at_two_different_times():
    orders = purchases([
        ("a", "tea", "2026-01-01"), ("a", "tea", "2026-02-01"), ("b", "tea", "2026-01-05"),
        ("a", "pot", "2026-01-01"), ("a", "pot", "2026-01-01"),  # two lines of one order: bought once
    ])  # fmt: skip
    counts = buyer_counts(orders).set_index("product_id")
    assert counts.loc["tea"].tolist() == [2, 1] and counts.loc["pot"].tolist() == [1, 0]
    assert buyer_counts(orders.head(0)).columns.tolist() == ["product_id", "buyers", "repeat_buyers"]


def test_a_product_with_few_buyers_is_read_as_its_category_says():
    counts = pd.DataFrame({
        "product_id": ["tea1", "tea2", "pot1", "pot2", "loose", "loose2"],
        "buyers": [40, 2, 40, 2, 4, 6], "repeat_buyers": [20, 0, 2, 1, 4, 0],
    })  # fmt: skip
    categories = pd.Series({"tea1": "Tea", "tea2": "Tea", "pot1": "Pots", "pot2": "Pots", "loose": None})
    shares = repeat_buyer_shares(counts, categories)
    tea, pots, uncategorised = 20 / 42, 3 / 42, 4 / 10  # products without a category are pooled together
    assert shares["tea2"] == pytest.approx((0 + PRIOR_BUYERS * tea) / (2 + PRIOR_BUYERS))  # 0 of 2, yet 0.40
    assert shares["pot2"] == pytest.approx((1 + PRIOR_BUYERS * pots) / (2 + PRIOR_BUYERS))  # 1 of 2, yet 0.14
    assert shares["loose"] == pytest.approx((4 + PRIOR_BUYERS * uncategorised) / (4 + PRIOR_BUYERS))
    # Tea (0.48) and the uncategorised (0.40) are bought again more than the shop's products (0.29), pots are not.
    assert reorderable_products(counts, categories) == {"tea1", "tea2", "loose", "loose2"}
    assert reorderable_products(counts, categories, min_share=0.45) == {"tea1", "loose"}
    assert reorderable_products(counts, categories, min_share=0.0) == set(counts["product_id"])
    assert repeat_buyer_shares(counts).index.tolist() == counts["product_id"].tolist()  # no categories at all


def test_a_shop_of_one_category_keeps_every_product_bought_again_often_enough():
    """Seven coffees, each bought again by 40-70 % of its buyers: those under the shop's 55 % were left out, and
    their buyers' reminders went out empty."""
    coffees = pd.DataFrame({"product_id": [f"k{i}" for i in range(7)], "buyers": 50,
                            "repeat_buyers": [20, 22, 25, 27, 30, 32, 35]})  # fmt: skip
    assert reorderable_products(coffees, pd.Series("Coffee", index=coffees["product_id"])) == set(coffees.product_id)
    assert reorderable_products(coffees) == set(coffees["product_id"])


def test_a_product_bought_again_more_than_the_shops_is_reorderable_in_a_category_that_is_not():
    counts = pd.DataFrame({"product_id": ["kettle", "filter", "tea"], "buyers": [200, 200, 100],
                           "repeat_buyers": [10, 150, 60]})  # fmt: skip
    categories = pd.Series({"kettle": "Brewing", "filter": "Brewing", "tea": "Tea"})  # Brewing 0.40 < shop 0.44
    assert reorderable_products(counts, categories) == {"filter", "tea"}


def test_categories_are_read_as_text_whatever_their_ids_and_gaps():
    counts = pd.DataFrame({"product_id": ["1", "2", "3"], "buyers": [10, 10, 10], "repeat_buyers": [8, 0, 5]})
    by_number = pd.Series(["A", "A", None], index=[1, 2, 3])  # a catalog whose product ids were read as numbers
    shares = repeat_buyer_shares(counts, by_number)
    assert shares["1"] == pytest.approx((8 + PRIOR_BUYERS * 0.4) / 20)  # pooled with product 2, not the shop
    assert shares["3"] == pytest.approx((5 + PRIOR_BUYERS * 0.5) / 20)  # alone without a category, not "None"


def test_a_product_bought_again_less_than_the_shops_average_is_not_reorderable():
    """In the demo shop the tests import, 30 % of tableware buyers bought theirs again, by chance, and 65 % of the
    pantry goods' buyers: a fixed share of 0.25 called both re-orderable."""
    counts = pd.DataFrame({"product_id": ["plate", "flour"], "buyers": [169, 114], "repeat_buyers": [50, 74]})
    assert reorderable_products(counts, pd.Series({"plate": "Tableware", "flour": "Pantry"})) == {"flour"}
    durables = pd.DataFrame({"product_id": ["sofa", "lamp"], "buyers": [100, 100], "repeat_buyers": [5, 15]})
    assert reorderable_products(durables) == frozenset()  # the lamp beats the shop's 0.10, not 0.2
    assert reorderable_products(durables, min_share=0) == {"sofa", "lamp"}
