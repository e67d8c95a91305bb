"""Which products customers buy again, read from the shop's own orders, for re-order reminders.

A replenishment email shows what the customer bought; a teapot bought once is no reminder to buy another. A
product's repeat-buyer share is the share of its buyers who bought it at two or more different times. Few
buyers make a noisy share, so each product's share is pulled towards its category's (products without a
category make one together) by `PRIOR_BUYERS` buyers' worth of weight: a product bought by 2 people, one twice,
is read as its category says more than as 50 %.

A customer who orders often buys some things twice by chance, so no fixed share tells a re-ordered product
from the rest in every shop: in the demo shop the tests import (160 customers buying some 16 lines each from 60
products) the durable categories' shares are 0.24-0.34 and the consumables' 0.54-0.65; in the whole demo shop
(3,000 customers, 10 lines each, 300 products) 0.12-0.14 and 0.47-0.53. So a category is re-ordered when its
buyers buy its products again at least as often as the shop's buy any product again (0.43 and 0.33 there), and
a product is re-orderable when its share reaches `min_share` and either its category is re-ordered or it is
itself (a filter among brewing gear). A shop of one category, or without categories, is judged by `min_share`
alone: there is nothing to compare with; a shop of durable goods, whose products are rarely bought again, has
none. In the whole demo shop that keeps its 150 consumables and none of its 150 durables.
"""

from __future__ import annotations

import pandas as pd

BUYER_COUNT_COLUMNS = ["product_id", "buyers", "repeat_buyers"]
PRIOR_BUYERS = 10.0
DEFAULT_MIN_SHARE = 0.2


def buyer_counts(orders: pd.DataFrame) -> pd.DataFrame:
    """Per product: how many customers bought it (``buyers``), and how many of them at two or more different
    timestamps (``repeat_buyers``), from purchase lines with customer_id, product_id and timestamp."""
    if orders.empty:
        return pd.DataFrame({"product_id": pd.Series(dtype=str), "buyers": 0, "repeat_buyers": 0}).head(0)
    spans = orders.groupby(["product_id", "customer_id"], sort=False)["timestamp"].agg(["min", "max"])
    repeated = (spans["max"] > spans["min"]).groupby(level="product_id", sort=False)
    counts = pd.DataFrame({"buyers": repeated.size(), "repeat_buyers": repeated.sum()}).reset_index()
    counts["product_id"] = counts["product_id"].astype(str)
    return counts[BUYER_COUNT_COLUMNS].astype({"buyers": int, "repeat_buyers": int})


def shop_share(counts: pd.DataFrame) -> float:
    """The share of buyers who bought again, over every product's buyers (0 for a shop without any)."""
    return float(counts["repeat_buyers"].sum() / max(counts["buyers"].sum(), 1))


def _category_of(counts: pd.DataFrame, categories: pd.Series | None) -> pd.Series:
    """Each counted product's category as text ("" for none), indexed like `counts` (by product_id)."""
    if categories is None:
        return pd.Series("", index=counts.index)
    named = pd.Series(categories.to_numpy(), index=categories.index.astype(str)).fillna("").astype(str).str.strip()
    return named[~named.index.duplicated()].reindex(counts.index).fillna("")


def _category_shares(counts: pd.DataFrame, category: pd.Series) -> pd.Series:
    """Each product's category's repeat-buyer share, over the category's buyers pooled."""
    pooled = counts.groupby(category.to_numpy())[["buyers", "repeat_buyers"]].transform("sum")
    return pooled["repeat_buyers"] / pooled["buyers"].clip(lower=1)


def _with_category_shares(counts: pd.DataFrame, categories: pd.Series | None) -> tuple[pd.DataFrame, pd.Series]:
    """`counts` indexed by product_id, and each product's category's repeat-buyer share (empty for no counts)."""
    indexed = counts.set_index(counts["product_id"].astype(str))
    if indexed.empty:
        return indexed, pd.Series(dtype=float)
    return indexed, _category_shares(indexed, _category_of(indexed, categories))


def _pulled(indexed: pd.DataFrame, category_share: pd.Series) -> pd.Series:
    """Each product's share of repeat buyers, pulled towards its category's by `PRIOR_BUYERS` buyers."""
    shares = (indexed["repeat_buyers"] + PRIOR_BUYERS * category_share) / (indexed["buyers"] + PRIOR_BUYERS)
    return shares.rename("repeat_buyer_share")


def repeat_buyer_shares(counts: pd.DataFrame, categories: pd.Series | None = None) -> pd.Series:
    """Each product's repeat-buyer share (index product_id), pulled towards its category's share by
    `PRIOR_BUYERS` buyers; `categories` maps product_id to category (missing or empty: no category)."""
    indexed, category_share = _with_category_shares(counts, categories)
    return _pulled(indexed, category_share) if not indexed.empty else pd.Series(dtype=float)


def reorderable_products(
    counts: pd.DataFrame, categories: pd.Series | None = None, min_share: float = DEFAULT_MIN_SHARE
) -> frozenset[str]:
    """The products whose repeat-buyer share (see `repeat_buyer_shares`) is at least `min_share`, and whose
    category's share, or their own, is at least the shop's; with `min_share` 0, every product bought."""
    if min_share <= 0:
        return frozenset(counts["product_id"].astype(str))
    indexed, category_share = _with_category_shares(counts, categories)
    if indexed.empty:
        return frozenset()
    shares = _pulled(indexed, category_share)
    everyone = shop_share(indexed)
    reordered = (category_share >= everyone) | (shares >= everyone)
    return frozenset(shares.index[(shares >= min_share) & reordered])
