"""Which products customers buy again, read from the shop's own orders, for re-order reminders.

A replenishment email shows what the customer bought; a teapot bought once is no reminder to buy another. A
product's repeat-buyer share is the share of its buyers who bought it at two or more different times. Few
buyers make a noisy share, so each product's share is pulled towards its category's (the shop's, without a
category) by `PRIOR_BUYERS` buyers' worth of weight: a product bought by 2 people, one twice, is read as its
category says more than as 50 %.

A customer who orders often buys some things twice by chance, so no fixed share tells a re-ordered product
from the rest in every shop: in the demo shop the tests import (160 customers buying some 16 lines each from 60
products) the durable categories' shares are 0.24-0.34 and the consumables' 0.54-0.65; in the whole demo shop
(3,000 customers, 10 lines each, 300 products) 0.12-0.14 and 0.47-0.53. A product is
re-orderable when its share is at least the shop's (its buyers buy it again more than they buy the shop's
average product again: 0.43 and 0.33 there) and at least `min_share` (a shop of durable goods, whose
average product is rarely bought again, has none). The whole demo shop's 147 re-orderable products are all
consumables, of 150.
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


def repeat_buyer_shares(counts: pd.DataFrame, categories: pd.Series | None = None) -> pd.Series:
    """Each product's repeat-buyer share (index product_id), pulled towards its category's share by
    `PRIOR_BUYERS` buyers; `categories` maps product_id to category (missing or empty: the shop's share)."""
    counts = counts.set_index(counts["product_id"].astype(str))
    if counts.empty:
        return pd.Series(dtype=float)
    everyone = shop_share(counts)
    category = (categories if categories is not None else pd.Series(dtype=str)).astype(str)
    category = category[~category.index.duplicated()].reindex(counts.index).fillna("").str.strip()
    pooled = counts.groupby(category.to_numpy())[["buyers", "repeat_buyers"]].transform("sum")
    prior = (pooled["repeat_buyers"] / pooled["buyers"].clip(lower=1)).where(category != "", everyone)
    shares = (counts["repeat_buyers"] + PRIOR_BUYERS * prior) / (counts["buyers"] + PRIOR_BUYERS)
    return shares.rename("repeat_buyer_share")


def reorderable_products(
    counts: pd.DataFrame, categories: pd.Series | None = None, min_share: float = DEFAULT_MIN_SHARE
) -> frozenset[str]:
    """The products whose repeat-buyer share (see `repeat_buyer_shares`) is at least the shop's and at least
    `min_share`; with `min_share` 0, every product bought."""
    if min_share <= 0:
        return frozenset(counts["product_id"].astype(str))
    shares = repeat_buyer_shares(counts, categories)
    return frozenset(shares.index[shares >= max(min_share, shop_share(counts))])
