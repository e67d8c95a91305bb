"""Expected next purchase date, for replenishment campaigns.

A customer's own cycle is the mean gap between their purchase days, shrunk toward the shop's median gap
with the weight of one gap (so two orders say little, ten say a lot); a shop where nobody bought twice has no
usual gap, and no date is given. The next purchase is due one cycle after
the last one. A customer already past due is expected now (the as-of day) while they are still more likely than not to
buy within the horizon (``p_active``, 1 - churn risk) and have missed no more than ``MAX_MISSED_CYCLES`` of
their cycles; otherwise no date is given (NaT): they are no longer expected to come back on their own (a
customer who bought every 20 days and had been silent for 312 was "due today").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SHRINK_GAPS = 1.0
ALIVE_FOR_OVERDUE = 0.5
MAX_MISSED_CYCLES = 2.0


def next_purchase_dates(
    summary: pd.DataFrame, as_of: pd.Timestamp, p_active: pd.Series | None = None
) -> tuple[pd.Series, pd.Series]:
    """``(next_purchase_date, cycle_days)`` per customer of a :func:`audience.orders.btyd_summary` (in days)."""
    repeat = summary["frequency"] > 0
    own_gap = (summary["recency"] / summary["frequency"].where(repeat)).astype(float)
    # With no repeat purchase in the shop there is no usual gap to expect anyone back after: no date (NaT).
    shop_gap = float(own_gap[repeat].median()) if repeat.any() else np.nan
    n_gaps = summary["frequency"].astype(float)
    cycle = (n_gaps * own_gap.fillna(0) + SHRINK_GAPS * shop_gap) / (n_gaps + SHRINK_GAPS)
    due = summary["last"] + pd.to_timedelta(cycle.round(), unit="D")
    alive = p_active if p_active is not None else pd.Series(1.0, index=summary.index)
    overdue = due < as_of
    missed = (as_of - due).dt.days / cycle.where(cycle > 0)
    still_expected = (alive.reindex(summary.index) >= ALIVE_FOR_OVERDUE) & (missed <= MAX_MISSED_CYCLES)
    next_date = due.where(~overdue, as_of)
    next_date = next_date.where(~overdue | still_expected)
    return next_date.rename("next_purchase_date"), cycle.rename("cycle_days")
