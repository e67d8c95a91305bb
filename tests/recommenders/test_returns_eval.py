"""The eval of the recommenders with and without Online Retail's cancellations (`evals.recommenders.returns`): one
split, the returns before its cutoff fitted as the service fits them, and the same targets for both fits, with what
was kept of the test month's purchases beside what was bought."""

from __future__ import annotations

import pandas as pd
import pytest

from evals.datasets import DatasetMissing
from evals.recommenders.protocols import time_split
from evals.recommenders.returns import kept_targets, online_retail_returns, training_parts
from recommenders.registry import create


def _lines(*rows: tuple[str, str, str, float]) -> pd.DataFrame:
    """Lines of (customer, product, day, quantity), at 2.0 a unit."""
    lines = pd.DataFrame(rows, columns=["customer_id", "product_id", "timestamp", "quantity"])
    return lines.assign(timestamp=pd.to_datetime(lines["timestamp"]), amount=lines["quantity"] * 2.0)


PURCHASES = _lines(
    ("u1", "a", "2024-01-01", 1), ("u2", "a", "2024-01-02", 1), ("u3", "b", "2024-01-02", 1),
    ("u1", "b", "2024-01-03", 1), ("u2", "b", "2024-01-04", 1),
    ("u1", "x", "2024-02-10", 1), ("u2", "y", "2024-02-10", 2), ("u3", "a", "2024-02-11", 1),
)  # fmt: skip
RETURNS = _lines(
    ("u1", "b", "2024-01-05", -1),
    ("u2", "b", "2024-01-06", -1),  # before the cutoff: b sent back by two of three
    ("u1", "x", "2024-02-12", -1),
    ("u2", "y", "2024-02-12", -1),  # in the test month: x whole, half of the ys
).assign(kind="return")


def test_both_fits_share_the_split_and_the_returns_before_its_cutoff_undo_what_they_cancel():
    split = time_split(PURCHASES, test_days=30)
    parts = training_parts(split, RETURNS)
    assert parts["without_returns"].equals(split.train)
    fitted_returns = parts["with_returns"][parts["with_returns"]["kind"] == "return"]
    assert list(fitted_returns["timestamp"].dt.day) == [5, 6]  # none from the test month
    without = create("popularity").fit(parts["without_returns"])
    with_returns = create("popularity").fit(parts["with_returns"])
    assert without.recommend(["u3"], k=1, exclude_seen=False)["product_id"].tolist() == ["b"]
    assert with_returns.recommend(["u3"], k=1, exclude_seen=False)["product_id"].tolist() == ["a"]


def test_what_was_kept_is_what_was_bought_less_the_purchases_returned_whole():
    split = time_split(PURCHASES, test_days=30)
    assert split.relevant == {"u1": {"x"}, "u2": {"y"}, "u3": {"a"}}
    kept = kept_targets(split, PURCHASES, RETURNS)
    assert kept.relevant == {"u2": {"y"}, "u3": {"a"}}  # u1 sent x back whole; u2 kept one of the two ys
    assert split.relevant_new == split.relevant and kept.relevant_new == kept.relevant  # all new to them
    assert kept.train is split.train and kept.settings == split.settings


def test_online_retail_s_cancellations_are_returns_of_known_customers():
    try:
        returns = online_retail_returns("2010-2011")
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    assert len(returns) > 8_000 and set(returns["kind"]) == {"return"}
    assert returns["order_id"].str.startswith("C").all() and (returns["customer_id"] != "").all()
    assert (returns["quantity"] < 0).all()
