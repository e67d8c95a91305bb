"""Retention per RFM segment, measured on what customers did after they were put in the segment.

A segment's retention is the share of the customers who were in it one horizon before the as-of day (segments
from their orders before then) who ordered again in that horizon. Measured on the segments as they are now it
would be 1 or 0 by construction: segments rest on recency, so today's champions all ordered lately and today's
lost customers did not.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from audience.orders import as_timestamp, lines_before, validate_orders
from audience.rfm import rfm_of_lines


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
    segments = rfm_of_lines(lines_before(lines, start), start)["rfm_segment"]
    window = lines[(lines["timestamp"] >= start) & (lines["timestamp"] < end)]
    retained = segments.index.isin(window["customer_id"].unique())
    table = pd.Series(retained, index=segments.index).groupby(segments).agg(customers="size", retained="sum")
    table["rate"] = table["retained"] / table["customers"]
    return table.rename_axis("rfm_segment")
