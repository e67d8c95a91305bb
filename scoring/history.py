"""The customer's past engagement as features: how many earlier sends they got and how often they opened.

In training, each send sees only the sends before it (by ``sent_at``), so the feature never peeks at its own
outcome. The open rate is shrunk toward the shop's rate with a prior worth ``PRIOR_SENDS`` sends, so a
customer with one send is not judged on it. At prediction time the model's stored per-customer totals are used;
a frame that already carries ``past_sends`` and ``past_open_rate`` (from the service's database) wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PRIOR_SENDS = 3.0
HISTORY_COLUMNS = ["past_sends", "past_open_rate"]


def shrunk_rate(opens: np.ndarray, sends: np.ndarray, overall_rate: float) -> np.ndarray:
    return (opens + PRIOR_SENDS * overall_rate) / (sends + PRIOR_SENDS)


def training_history(sends: pd.DataFrame, overall_rate: float) -> pd.DataFrame:
    """For every send, the customer's earlier sends and shrunk open rate, from strictly earlier sends only."""
    if "customer_id" not in sends.columns:
        return pd.DataFrame({"past_sends": 0.0, "past_open_rate": overall_rate}, index=sends.index)
    ordered = pd.DataFrame(
        {
            "customer_id": sends["customer_id"].astype(str),
            "sent_at": pd.to_datetime(sends.get("sent_at"), errors="coerce"),
            "opened": np.maximum(sends["opened"].fillna(0), sends["clicked"].fillna(0)).astype(float),
        },
        index=sends.index,
    ).sort_values(["customer_id", "sent_at"], kind="stable")
    grouped = ordered.groupby("customer_id")["opened"]
    past_sends = grouped.cumcount().astype(float)
    past_opens = grouped.cumsum() - ordered["opened"]
    history = pd.DataFrame(
        {"past_sends": past_sends, "past_open_rate": shrunk_rate(past_opens, past_sends, overall_rate)}
    )
    return history.reindex(sends.index)


def customer_totals(sends: pd.DataFrame) -> pd.DataFrame:
    """Per customer: all sends and opens in the training data, for prediction on later variants."""
    if "customer_id" not in sends.columns:
        return pd.DataFrame(columns=["sends", "opens"], dtype=float)
    opened = np.maximum(sends["opened"].fillna(0), sends["clicked"].fillna(0)).astype(float)
    frame = pd.DataFrame({"customer_id": sends["customer_id"].astype(str), "opens": opened})
    return frame.groupby("customer_id")["opens"].agg(sends="count", opens="sum").astype(float)


def prediction_history(variants: pd.DataFrame, totals: pd.DataFrame, overall_rate: float) -> pd.DataFrame:
    """History features for planned variants: given columns first, else stored totals, else a newcomer."""
    if all(column in variants.columns for column in HISTORY_COLUMNS):
        return variants[HISTORY_COLUMNS].astype(float).fillna({"past_sends": 0.0, "past_open_rate": overall_rate})
    if "customer_id" in variants.columns and len(totals):
        known = totals.reindex(variants["customer_id"].astype(str).to_numpy())
        sends, opens = known["sends"].fillna(0.0).to_numpy(), known["opens"].fillna(0.0).to_numpy()
    else:
        sends = opens = np.zeros(len(variants))
    return pd.DataFrame(
        {"past_sends": sends, "past_open_rate": shrunk_rate(opens, sends, overall_rate)}, index=variants.index
    )
