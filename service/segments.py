"""Segments with their size and KPIs: revenue, average order value and retention per segment."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from service.pipeline import frames


def segment_kpis(session: Session) -> list[dict[str, Any]]:
    """One row per segment; retention is the share of its customers with more than one order."""
    customers = frames.customers_frame(session)[["customer_id", "segment"]]
    customers["segment"] = customers.segment.fillna("no_orders")
    orders = frames.orders_frame(session)
    per_order = orders.groupby(["customer_id", "order_id"], as_index=False).amount.sum()
    per_customer = per_order.groupby("customer_id").agg(revenue=("amount", "sum"), orders=("order_id", "nunique"))
    table = customers.merge(per_customer, left_on="customer_id", right_index=True, how="left").fillna(
        {"revenue": 0.0, "orders": 0}
    )
    grouped = table.groupby("segment").agg(
        customers=("customer_id", "count"),
        revenue=("revenue", "sum"),
        orders=("orders", "sum"),
        repeat_customers=("orders", lambda o: int((o > 1).sum())),
    )
    grouped["average_order_value"] = (grouped.revenue / grouped.orders.where(grouped.orders > 0)).round(2)
    grouped["retention"] = (grouped.repeat_customers / grouped.customers).round(4)
    grouped["revenue"] = grouped.revenue.round(2)
    grouped = grouped.drop(columns=["repeat_customers"]).sort_values("revenue", ascending=False)
    return [
        {
            "segment": segment,
            **{k: (None if pd.isna(v) else v.item() if hasattr(v, "item") else v) for k, v in row.items()},
        }
        for segment, row in grouped.to_dict("index").items()
    ]
