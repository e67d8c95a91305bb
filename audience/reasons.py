"""Plain-words reasons behind a customer's profile: why this segment, cluster, churn risk, lifetime value and
next purchase date, built from the profile's own figures so a marketer can check them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from audience.rfm import segment_description


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and pd.isna(value))


def _days(n: float) -> str:
    return "1 day" if round(n) == 1 else f"{round(n)} days"


def profile_reasons(profile: Mapping[str, Any], as_of: Any, horizon_days: int = 90) -> dict[str, str]:
    """One sentence per profile field that has a value (keys: segment, cluster, churn_risk, clv,
    next_purchase), from one row of ``build_profiles``; ``as_of`` is the day the profile describes."""
    reasons: dict[str, str] = {}
    recency, frequency, monetary = profile.get("recency_days"), profile.get("frequency"), profile.get("monetary")
    if _present(profile.get("rfm_segment")):
        reasons["segment"] = (
            f"{profile['rfm_segment'].replace('_', ' ')} ({segment_description(profile['rfm_segment'])}): "
            f"last order {_days(recency)} ago (recency score {profile.get('r_score')}/5), "
            f"{int(frequency)} orders (frequency score {profile.get('f_score')}/5), "
            f"{monetary:.2f} an order (monetary score {profile.get('m_score')}/5)"
        )
    if _present(profile.get("cluster_label")):
        reasons["cluster"] = f"grouped with {profile['cluster_label']}"
    if _present(profile.get("churn_risk")):
        alive = profile.get("p_alive")
        still = (
            f"; the buying-pattern model gives {alive:.0%} that they are still a customer" if _present(alive) else ""
        )
        reasons["churn_risk"] = (
            f"{profile['churn_risk']:.0%} chance of no order in the next {_days(horizon_days)}: last order "
            f"{_days(recency)} ago after {int(frequency)} orders{still}"
        )
    if _present(profile.get("clv")) and _present(profile.get("expected_purchases")):
        reasons["clv"] = (
            f"{profile['clv']:.2f} expected over the next {_days(horizon_days)}: "
            f"{profile['expected_purchases']:.2f} expected orders at about {monetary:.2f} each"
        )
    due = profile.get("next_purchase_date")
    if _present(due):
        gap = (pd.Timestamp(due) - pd.Timestamp(as_of)).days
        when = f"due in {_days(gap)}" if gap > 0 else ("due today" if gap == 0 else f"overdue by {_days(-gap)}")
        reasons["next_purchase"] = (
            f"next order expected around {pd.Timestamp(due).date()} ({when}), from their usual gap"
        )
    return reasons
