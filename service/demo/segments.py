"""RFM segments of demo customers on a given day, used to label past sends and to pick their audiences.

A small, self-contained rule set (quintile scores of recency and frequency) with the segment names of
ARCHITECTURE.md, so the generator does not depend on how `audience` computes its own segments.
Customers with no purchase before the day are ``new``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEGMENTS = ("champions", "loyal", "potential_loyalists", "new", "at_risk", "cant_lose", "hibernating", "lost")


def _quintile(values: pd.Series) -> pd.Series:
    return np.ceil(values.rank(method="average", pct=True) * 5).clip(1, 5).astype(int)


def segment_of(r_score: pd.Series, f_score: pd.Series, frequency: pd.Series) -> pd.Series:
    """Named segment from recency and frequency scores (5 = best) and the number of orders."""
    conditions = [
        (r_score >= 4) & (f_score >= 4),
        (r_score >= 3) & (f_score >= 4),
        (r_score >= 4) & (frequency == 1),
        (r_score >= 3) & (f_score >= 2),
        (r_score <= 2) & (f_score >= 5),
        (r_score <= 2) & (f_score >= 3),
        (r_score == 1),
    ]
    choices = ["champions", "loyal", "new", "potential_loyalists", "cant_lose", "at_risk", "lost"]
    return pd.Series(np.select(conditions, choices, default="hibernating"), index=r_score.index)


def segments_on(purchases: pd.DataFrame, day: pd.Timestamp, customer_ids: pd.Index) -> pd.Series:
    """The segment of each customer in ``customer_ids`` from their purchases before ``day``."""
    before = purchases[purchases["timestamp"] < day]
    per_customer = before.groupby("customer_id").agg(last=("timestamp", "max"), frequency=("order_id", "nunique"))
    per_customer = per_customer[per_customer.index.isin(customer_ids)]
    segments = pd.Series("new", index=customer_ids, dtype=object)
    if per_customer.empty:
        return segments
    recency = (day - per_customer["last"]).dt.days
    named = segment_of(_quintile(-recency), _quintile(per_customer["frequency"]), per_customer["frequency"])
    known = named.index.intersection(customer_ids)
    segments.loc[known] = named.loc[known]
    return segments
