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
        "product_id": ["tea1", "tea2", "pot1", "pot2", "loose"],
        "buyers": [40, 2, 40, 2, 4], "repeat_buyers": [20, 0, 2, 1, 4],
    })  # fmt: skip
    categories = pd.Series({"tea1": "Tea", "tea2": "Tea", "pot1": "Pots", "pot2": "Pots", "loose": ""})
    shares = repeat_buyer_shares(counts, categories)
    tea, pots = 20 / 42, 3 / 42
    assert shares["tea2"] == pytest.approx((0 + PRIOR_BUYERS * tea) / (2 + PRIOR_BUYERS))  # 0 of 2, yet 0.40
    assert shares["pot2"] == pytest.approx((1 + PRIOR_BUYERS * pots) / (2 + PRIOR_BUYERS))  # 1 of 2, yet 0.14
    shop = 27 / 88  # a product without a category is pulled towards the shop's share
    assert shares["loose"] == pytest.approx((4 + PRIOR_BUYERS * shop) / (4 + PRIOR_BUYERS))
    assert reorderable_products(counts, categories) == {"tea1", "tea2", "loose"}  # at least the shop's 0.31
    assert reorderable_products(counts, categories, min_share=0.45) == {"tea1", "loose"}
    assert reorderable_products(counts, categories, min_share=0.0) == set(counts["product_id"])
    assert repeat_buyer_shares(counts).index.tolist() == counts["product_id"].tolist()  # no categories at all


def test_a_product_bought_again_less_than_the_shops_average_is_not_reorderable():
    """In the demo shop the tests import, 30 % of tableware buyers bought theirs again, by chance, and 65 % of the
    pantry goods' buyers: a fixed share of 0.25 called both re-orderable."""
    counts = pd.DataFrame({"product_id": ["plate", "flour"], "buyers": [169, 114], "repeat_buyers": [50, 74]})
    assert reorderable_products(counts, pd.Series({"plate": "Tableware", "flour": "Pantry"})) == {"flour"}
    durables = pd.DataFrame({"product_id": ["sofa", "lamp"], "buyers": [100, 100], "repeat_buyers": [5, 15]})
    assert reorderable_products(durables) == frozenset()  # the lamp beats the shop's 0.10, not 0.2
    assert reorderable_products(durables, min_share=0) == {"sofa", "lamp"}
