"""What customers buy and how they pay: spend shares over the shop's top categories and the share of orders
with a discount, the clusters' features beyond recency, frequency, spend and rhythm.

Both come from optional order-line columns (``category``, ``discount``). The shop's ``TOP_CATEGORIES``
categories by spend each get a share, the rest add up to one ``OTHER`` share (six keep the descriptions
readable and the features few next to the six behavioural ones). A column that says nothing (no category
given, no order with a discount) gives no feature, so such a shop is clustered on behaviour alone.
"""

from __future__ import annotations

import pandas as pd

from audience.orders import to_orders

TOP_CATEGORIES = 6
OTHER = "other categories"
SHARE_PREFIX = "spend_share:"
DISCOUNTED_SHARE = "discounted_order_share"


def share_column(category: str) -> str:
    return f"{SHARE_PREFIX}{category}"


def category_of(column: str) -> str | None:
    """The category a spend-share column is about, or None for another feature."""
    return column.removeprefix(SHARE_PREFIX) if column.startswith(SHARE_PREFIX) else None


def category_shares(lines: pd.DataFrame) -> pd.DataFrame:
    """Per customer, the share of their spend in each of the shop's top categories and in the rest."""
    if "category" not in lines.columns or not (lines["category"] != "").any():
        return pd.DataFrame(index=pd.Index(sorted(lines["customer_id"].unique()), name="customer_id"))
    named = lines[lines["category"] != ""]
    top = named.groupby("category")["amount"].sum().nlargest(TOP_CATEGORIES).index
    grouped = lines.assign(group=lines["category"].where(lines["category"].isin(top), OTHER))
    spend = grouped.pivot_table(index="customer_id", columns="group", values="amount", aggfunc="sum", fill_value=0.0)
    spend = spend.reindex(columns=[*top, *([OTHER] if OTHER in spend.columns else [])])
    shares = spend.div(spend.sum(axis=1), axis=0)
    shares.columns = [share_column(category) for category in shares.columns]
    return shares.rename_axis(index="customer_id", columns=None)


def discounted_share(lines: pd.DataFrame) -> pd.DataFrame:
    """Per customer, the share of their orders with a discount on any line (no column when none has one)."""
    if "discount" not in lines.columns or not (lines["discount"] > 0).any():
        return pd.DataFrame(index=pd.Index(sorted(lines["customer_id"].unique()), name="customer_id"))
    orders = to_orders(lines)
    return orders.groupby("customer_id")["discounted"].mean().astype(float).to_frame(DISCOUNTED_SHARE)


def mix_features(lines: pd.DataFrame) -> pd.DataFrame:
    """Both kinds of feature for the customers in ``lines`` (validated order lines), one row each."""
    return category_shares(lines).join(discounted_share(lines), how="outer")
