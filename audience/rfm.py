"""RFM: recency, frequency and monetary value per customer, quintile scores and named segments.

Scores are quintiles of the customers' ranks, 1 (worst) to 5 (best), spread from the worst rank to the best so
that a shop of three customers scores its best 5. Customers tied on a value share the lowest score of their
ranks (most shops have a majority of one-order customers; they all get f_score 1 rather than being spread over
several scores by an arbitrary tie-break), except a tie at the best value, which shares the best score: in a
small shop whose customers all bought yesterday, all are the most recent, none "hibernating". A customer with
one order has f_score 1 whatever the others did. The segment rules are data, in ``segments.yaml``.

Quintiles rank customers against each other, so in a shop whose customers mostly lapsed a recency score of 4 was
430 days (CDNOW): "loyal" and "new" customers gone over a year got cross-sell and welcome emails and never a
win-back offer. A customer away longer than ``LAPSE_QUANTILE`` of the shop's gaps between a customer's orders
(Online Retail: 148 days, CDNOW: 200) scores at most ``LAPSED_R_SCORE`` for recency, whatever their rank: by the
rules, at risk, can't lose or hibernating. A shop with fewer than ``LAPSE_MIN_GAPS`` such gaps has no such bound.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from audience.orders import as_timestamp, orders_before, to_orders

SEGMENTS_FILE = Path(__file__).with_name("segments.yaml")
LAPSE_QUANTILE = 0.9  # away longer than 9 in 10 of the shop's gaps between a customer's orders: lapsed
LAPSE_MIN_GAPS = 20  # fewer gaps than this say too little of the shop's rhythm to bound recency by
LAPSED_R_SCORE = 2  # the best recency score of a lapsed customer
NO_ORDERS = "no_orders"  # the segment of customers without an order, who have no RFM segment


@lru_cache(maxsize=1)
def segment_rules() -> tuple[dict, ...]:
    """The segment rules in order: ``name``, ``r`` and ``f`` score ranges (inclusive), ``description``."""
    return tuple(yaml.safe_load(SEGMENTS_FILE.read_text())["segments"])


def segment_names() -> list[str]:
    return [rule["name"] for rule in segment_rules()]


def segment_description(name: str) -> str:
    return next((rule["description"] for rule in segment_rules() if rule["name"] == name), name)


def segment_label(name: str) -> str:
    """A segment's name as a person reads it ("can't lose" for cant_lose): its rule's ``label``, else the name with
    spaces."""
    if name == NO_ORDERS:
        return "no orders yet"
    return next((rule.get("label") for rule in segment_rules() if rule["name"] == name), None) or name.replace("_", " ")


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..5 by quintile of rank; ties share the lowest score of their group, the tie at the best value 5."""
    oriented = values if higher_is_better else -values
    ranked = oriented.rank(method="min")
    score = (1 + np.floor(5 * (ranked - 1) / max(len(values) - 1, 1))).clip(1, 5)
    return score.where(oriented != oriented.max(), 5).astype(int)


def assign_segments(r_score: pd.Series, f_score: pd.Series) -> pd.Series:
    """The first rule's segment whose score ranges hold a customer's scores, else hibernating (rules matched on
    arrays: a Series set per rule took a sixth of a small shop's RFM time)."""
    r, f = r_score.to_numpy(), f_score.to_numpy()
    segment = np.full(len(r), None, dtype=object)
    for rule in segment_rules():
        (r_low, r_high), (f_low, f_high) = rule["r"], rule["f"]
        hit = (segment == None) & (r >= r_low) & (r <= r_high) & (f >= f_low) & (f <= f_high)  # noqa: E711
        segment[hit] = rule["name"]
    segment[segment == None] = "hibernating"  # noqa: E711
    return pd.Series(segment, index=r_score.index, dtype="object")


def rfm_table(orders: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """Per customer with orders before ``as_of``: ``recency_days`` (days from the last order's day to ``as_of``,
    so at least 1), ``frequency`` (number of orders), ``monetary`` (mean order value), ``r_score``, ``f_score``,
    ``m_score``, ``rfm_segment``."""
    end = as_timestamp(as_of)
    return rfm_of_lines(orders_before(orders, end), end)


def rfm_of_lines(lines: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """:func:`rfm_table` of the lines :func:`audience.orders.orders_before` gave (validated purchase lines before
    ``as_of``, net of returns), not validated again: that took 0.7 s of a million lines."""
    return rfm_of_orders(to_orders(lines), as_of)


def rfm_of_orders(whole_orders: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """:func:`rfm_of_lines` of their orders (:func:`audience.orders.to_orders`, all before ``as_of``), rows in the
    order of their ``customer_id`` (codes standing for the ids give the same table, indexed by the codes)."""
    end = as_timestamp(as_of)
    grouped = whole_orders.groupby("customer_id", sort=True)
    table = pd.DataFrame(
        {
            "recency_days": (end - grouped["timestamp"].max().dt.normalize()).dt.days.astype(int),
            "frequency": grouped.size().astype(int),
            "monetary": grouped["amount"].mean().astype(float),
        }
    )
    table.index.name = "customer_id"
    ranked = quintile_score(table["recency_days"], higher_is_better=False)
    lapse_days = lapse_after_days(whole_orders)
    if lapse_days is not None:
        ranked = ranked.where(table["recency_days"] <= lapse_days, ranked.clip(upper=LAPSED_R_SCORE))
    table["r_score"] = ranked
    table["f_score"] = quintile_score(table["frequency"]).where(table["frequency"] > 1, 1)
    table["m_score"] = quintile_score(table["monetary"])
    table["rfm_segment"] = assign_segments(table["r_score"], table["f_score"])
    return table


def lapse_after_days(whole_orders: pd.DataFrame) -> float | None:
    """Days without an order after which a customer of this shop has lapsed: ``LAPSE_QUANTILE`` of the gaps, in
    days, between one order of a customer and their next; None with fewer than ``LAPSE_MIN_GAPS`` gaps."""
    days = whole_orders[["customer_id", "timestamp"]].assign(day=whole_orders["timestamp"].dt.normalize())
    days = days.drop_duplicates(["customer_id", "day"]).sort_values(["customer_id", "day"])
    gaps = days.groupby("customer_id", sort=False)["day"].diff().dt.days.dropna()
    return float(gaps.quantile(LAPSE_QUANTILE)) if len(gaps) >= LAPSE_MIN_GAPS else None
