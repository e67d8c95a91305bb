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
    per_customer = _last_and_frequency(purchases[purchases["timestamp"] < day])
    per_customer = per_customer[per_customer.index.isin(customer_ids)]
    segments = pd.Series("new", index=customer_ids, dtype=object)
    if per_customer.empty:
        return segments
    recency = (day - per_customer["last"]).dt.days
    named = segment_of(_quintile(-recency), _quintile(per_customer["frequency"]), per_customer["frequency"])
    known = named.index.intersection(customer_ids)
    segments.loc[known] = named.loc[known]
    return segments


def _last_and_frequency(purchases: pd.DataFrame) -> pd.DataFrame:
    """Per customer of ``purchases`` (sorted by id): their last purchase's ``last`` moment and their ``frequency``, the
    number of distinct orders; as pandas' ``groupby("customer_id").agg(last=("timestamp", "max"), frequency=
    ("order_id", "nunique"))`` gives them, in numpy: pandas took 1.0 of the 2.2 CPU-s of the tests' demo slice, the
    past sends' ~50 campaigns each asking for their day's segments."""
    customers, ids = pd.factorize(purchases["customer_id"], sort=True)
    orders = pd.factorize(purchases["order_id"])[0]
    named = customers >= 0  # as groupby, a purchase without a customer counts for none
    customers, orders, moments = customers[named], orders[named], purchases["timestamp"].to_numpy()[named]
    if not len(customers):
        return purchases.groupby("customer_id").agg(last=("timestamp", "max"), frequency=("order_id", "nunique"))
    by_customer = np.lexsort((orders, customers))
    customers, orders, moments = customers[by_customer], orders[by_customer], moments[by_customer]
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]])
    new_order = np.r_[True, (customers[1:] != customers[:-1]) | (orders[1:] != orders[:-1])] & (orders >= 0)
    return pd.DataFrame(
        {"last": np.fmax.reduceat(moments, starts), "frequency": np.add.reduceat(new_order.astype(np.int64), starts)},
        index=pd.Index(ids.take(customers[starts]), name="customer_id"),
    )
