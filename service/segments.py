"""Segments with their size and KPIs: revenue, orders, average order value and retention per segment.

Retention is measured on what customers did after they were in the segment (``audience.retention``):
``retention_rate`` is the share of the customers who were in the segment on ``retention_since`` (one horizon,
``retention_days``, before the as-of day) who ordered again between then and the as-of day;
``retention_base`` is how many they were (0, with a null rate, when none were). Today's segments would give 1
or 0 by construction, since they rest on how recently customers ordered.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from service.pipeline import frames
from service.settings import AudienceSettings


def segment_kpis(session: Session) -> list[dict[str, Any]]:
    """One row per segment: the customers in it today with their revenue, orders and average order value, and
    the segment's retention over the last audience horizon (see the module docstring)."""
    from audience.retention import segment_retention

    horizon_days = AudienceSettings().horizon_days
    customers = frames.customers_frame(session)[["customer_id", "segment"]]
    customers["segment"] = customers.segment.fillna("no_orders")
    orders = frames.orders_frame(session)
    per_order = orders.groupby(["customer_id", "order_id"], as_index=False).amount.sum()
    per_customer = per_order.groupby("customer_id").agg(revenue=("amount", "sum"), orders=("order_id", "nunique"))
    table = customers.merge(per_customer, left_on="customer_id", right_index=True, how="left").fillna(
        {"revenue": 0.0, "orders": 0}
    )
    grouped = table.groupby("segment").agg(
        customers=("customer_id", "count"), revenue=("revenue", "sum"), orders=("orders", "sum")
    )
    grouped["orders"] = grouped.orders.astype(int)
    grouped["average_order_value"] = (grouped.revenue / grouped.orders.where(grouped.orders > 0)).round(2)
    grouped["revenue"] = grouped.revenue.round(2)
    as_of = pd.Timestamp(frames.audience_as_of(session))
    retention = segment_retention(orders, as_of, horizon_days).reindex(grouped.index)
    grouped["retention_rate"] = retention["rate"].astype(float).round(4)
    grouped["retention_base"] = retention["customers"].fillna(0).astype(int)
    grouped["retention_since"] = (as_of - pd.Timedelta(days=horizon_days)).date().isoformat()
    grouped["retention_days"] = horizon_days
    grouped = grouped.sort_values("revenue", ascending=False)
    return [
        {
            "segment": segment,
            **{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()},
        }
        for segment, row in grouped.to_dict("index").items()
    ]
