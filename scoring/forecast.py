"""Predicted campaign totals before anything is sent: sends, opens, clicks, conversions and revenue.

Each send's outcomes are independent Bernoulli draws with the engagement model's probabilities, so each total
is a Poisson-binomial sum: its mean is the sum of probabilities and its variance the sum of p(1 − p). The
interval is the normal approximation at the chosen level. Revenue is the expected conversions times each
send's order value (``order_value`` column, else ``mean_price`` times ``items_per_order``, else the given
average order value).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from scoring.errors import require_columns
from scoring.selection import PREDICTION_COLUMNS

TOTALS = {"opens": "p_open", "clicks": "p_click", "conversions": "p_conversion"}


def order_values(
    predictions: pd.DataFrame, *, average_order_value: float | None = None, items_per_order: float = 1.0
) -> pd.Series:
    """Each send's value if it converts: ``order_value``, else ``mean_price × items_per_order``, else the average."""
    if "order_value" in predictions.columns:
        return predictions["order_value"].astype(float).fillna(average_order_value or 0.0)
    if "mean_price" in predictions.columns:
        values = predictions["mean_price"].astype(float) * items_per_order
        return values.fillna(average_order_value or 0.0)
    return pd.Series(average_order_value or 0.0, index=predictions.index, dtype=float)


def forecast_totals(
    predictions: pd.DataFrame,
    *,
    average_order_value: float | None = None,
    items_per_order: float = 1.0,
    level: float = 0.9,
) -> dict[str, float]:
    """Expected totals and their ``level`` intervals (``*_low``/``*_high``) for one campaign's chosen sends."""
    require_columns(predictions, PREDICTION_COLUMNS, "campaign predictions")
    z = float(norm.ppf(0.5 + level / 2))
    totals: dict[str, float] = {"sends": float(len(predictions))}
    for name, column in TOTALS.items():
        probabilities = predictions[column].to_numpy(float)
        mean, spread = probabilities.sum(), z * np.sqrt((probabilities * (1 - probabilities)).sum())
        totals |= {
            name: float(mean),
            f"{name}_low": float(max(0.0, mean - spread)),
            f"{name}_high": float(mean + spread),
        }
    values = order_values(predictions, average_order_value=average_order_value, items_per_order=items_per_order)
    conversions = predictions["p_conversion"].to_numpy(float)
    revenue = float((conversions * values).sum())
    revenue_spread = z * float(np.sqrt((conversions * (1 - conversions) * values.to_numpy() ** 2).sum()))
    totals |= {
        "revenue": revenue,
        "revenue_low": max(0.0, revenue - revenue_spread),
        "revenue_high": revenue + revenue_spread,
    }
    for name in TOTALS:
        totals[f"{name.removesuffix('s')}_rate"] = totals[name] / max(totals["sends"], 1.0)
    return totals


def forecast_by(predictions: pd.DataFrame, column: str, **options: float) -> pd.DataFrame:
    """:func:`forecast_totals` for each value of ``column`` (e.g. segment or variant), one row each."""
    require_columns(predictions, [column], "campaign predictions")
    rows = {key: forecast_totals(group, **options) for key, group in predictions.groupby(column, sort=True)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(column)
