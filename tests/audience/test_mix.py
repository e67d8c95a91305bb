"""Category mix and discount use per customer, the clusters' features beyond behaviour."""

from __future__ import annotations

import pandas as pd
import pytest

from audience.mix import DISCOUNTED_SHARE, OTHER, TOP_CATEGORIES, mix_features, share_column
from audience.orders import validate_orders


def lines(**columns) -> pd.DataFrame:
    base = {
        "customer_id": ["a", "a", "a", "b", "b"],
        "order_id": ["1", "1", "2", "3", "4"],
        "timestamp": ["2024-01-01"] * 5,
        "amount": [30.0, 10.0, 60.0, 5.0, 15.0],
    }
    return validate_orders(pd.DataFrame({**base, **columns}))


def test_spend_shares_over_the_top_categories_and_the_rest():
    categories = [f"c{number}" for number in range(TOP_CATEGORIES + 2)]
    spend = pd.DataFrame(
        {
            "customer_id": ["a"] * len(categories) + ["b"],
            "timestamp": ["2024-01-01"] * (len(categories) + 1),
            "amount": [100.0 - number for number in range(len(categories))] + [50.0],
            "category": [*categories, ""],
        }
    )
    shares = mix_features(validate_orders(spend))
    top = [share_column(category) for category in categories[:TOP_CATEGORIES]]
    assert list(shares.columns) == [*top, share_column(OTHER)]
    assert shares.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])
    assert shares.loc["a", share_column(OTHER)] == pytest.approx((94 + 93) / sum(100 - n for n in range(8)))
    assert shares.loc["b", share_column(OTHER)] == 1.0  # no category given: the rest


def test_discount_use_counts_orders_not_lines():
    features = mix_features(lines(discount=[2.0, 0.0, 0.0, 0.0, "1.5"]))
    assert features[DISCOUNTED_SHARE].to_dict() == {"a": 0.5, "b": 0.5}


def test_columns_that_say_nothing_give_no_feature():
    assert mix_features(lines()).columns.empty
    assert mix_features(lines(category=[""] * 5, discount=[0.0] * 5)).columns.empty
