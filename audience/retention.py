"""Retention per RFM segment, measured on what customers did after they were put in the segment.

A segment's retention is the share of the customers who were in it one horizon before the as-of day (segments
from their orders before then) who ordered again in that horizon. Measured on the segments as they are now it
would be 1 or 0 by construction: segments rest on recency, so today's champions all ordered lately and today's
lost customers did not.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from audience.orders import as_timestamp, lines_before, validate_orders
from audience.rfm import assign_segments, lapse_of_gaps, rf_scores


def segment_retention(orders: pd.DataFrame, as_of: date | str | pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """Per segment (index ``rfm_segment``): ``customers`` in it at the start of the horizon before ``as_of``,
    how many of them ``retained`` (an order in ``[start, as_of)``), and ``rate``; empty without orders
    before the start."""
    return retention_of_lines(validate_orders(orders), as_of, horizon_days)


def retention_of_lines(lines: pd.DataFrame, as_of: date | str | pd.Timestamp, horizon_days: int) -> pd.DataFrame:
    """:func:`segment_retention` of lines :func:`audience.orders.validate_orders` gave, not validated again (the
    orders an audience refresh reads are: validating them again was a tenth of its segments' figures)."""
    end = as_timestamp(as_of)
    start = end - pd.Timedelta(days=horizon_days)
    if not (lines["timestamp"] < start).any():
        return pd.DataFrame(columns=["customers", "retained", "rate"], index=pd.Index([], name="rfm_segment"))
    segments = _segments_at(lines_before(lines, start), start)
    window = lines[(lines["timestamp"] >= start) & (lines["timestamp"] < end)]
    retained = segments.index.isin(window["customer_id"].unique())
    table = pd.Series(retained, index=segments.index).groupby(segments).agg(customers="size", retained="sum")
    table["rate"] = table["retained"] / table["customers"]
    return table.rename_axis("rfm_segment")


def _segments_at(lines: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """``rfm_table(lines, as_of)["rfm_segment"]`` of lines that ``lines_before`` gave (all before ``as_of``, a
    midnight): segments need only each customer's orders' days and their number, here counted on arrays. Rolling
    the lines up into orders and the whole RFM table took half of a small shop's segment figures."""
    customer_codes, customers = pd.factorize(lines["customer_id"], sort=True)
    # an order is its customer's lines of one order id (of one moment without order ids: audience.orders.to_orders);
    # its day is that of its first line
    order_ids = lines["order_id"] if "order_id" in lines.columns else lines["timestamp"]
    order_codes = pd.factorize(order_ids)[0]
    keys = customer_codes.astype(np.int64) * (int(order_codes.max()) + 1) + order_codes
    days = lines["timestamp"].to_numpy().astype("datetime64[D]").astype(np.int64)
    by_order = np.lexsort((days, keys))
    keys, days = keys[by_order], days[by_order]
    first_line = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    order_customer, order_day = customer_codes[by_order][first_line], days[first_line]
    # orders come sorted by customer, so each customer's orders are a run
    first_order = np.flatnonzero(np.r_[True, order_customer[1:] != order_customer[:-1]])
    end_day = np.datetime64(as_of, "D").astype(np.int64)
    recency_days = pd.Series(end_day - np.maximum.reduceat(order_day, first_order))
    frequency = pd.Series(np.diff(np.r_[first_order, len(order_customer)]))
    # the gaps in days between a customer's order days, each day once
    span = int(order_day.max() - order_day.min()) + 1
    customer_days = np.unique(order_customer * span + (order_day - order_day.min()))
    same_customer = customer_days[1:] // span == customer_days[:-1] // span
    gaps = pd.Series(np.diff(customer_days % span)[same_customer], dtype=float)
    r_score, f_score = rf_scores(recency_days, frequency, lapse_of_gaps(gaps))
    return assign_segments(r_score, f_score).set_axis(pd.Index(customers, name="customer_id")).rename("rfm_segment")
