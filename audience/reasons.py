"""Plain-words reasons behind a customer's profile: why this segment, cluster, churn risk, lifetime value and
next purchase date, built from the profile's own figures so a marketer can check them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Any

import pandas as pd

from audience.returns import LEAST_SPEND
from audience.rfm import segment_description, segment_label


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _days(n: float) -> str:
    return "1 day" if round(n) == 1 else f"{round(n)} days"


def _orders(n: float) -> str:
    return "1 order" if int(n) == 1 else f"{int(n):,} orders"


def _count(n: float) -> str:
    """Three significant figures (whole numbers from 100), so that products of figures in a sentence hold to 1 %."""
    return f"{n:.3g}" if abs(n) < 100 else f"{n:,.0f}"


P_ALIVE_SHOWN_BELOW = 0.9


def _churn_evidence(profile: Mapping[str, Any]) -> str:
    """What the churn risk rests on. BG/NBD's P(alive) is 1 for every customer without a repeat purchase day,
    however long ago they bought, so for them the evidence is the time since that day against the shop's
    usual gap between orders."""
    recency, frequency, cycle = profile.get("recency_days"), int(profile["frequency"]), profile.get("cycle_days")
    if profile.get("repeat_purchase_days") == 0:
        when = (
            f"their only order was {_days(recency)} ago"
            if frequency == 1
            else f"their {frequency} orders were all on one day, {_days(recency)} ago"
        )
        return when + (f", against the shop's usual {_days(cycle)} between orders" if _present(cycle) else "")
    alive = profile.get("p_alive")
    usual = f", about every {_days(cycle)}" if _present(cycle) else ""
    # BG/NBD's P(alive) says something only when it doubts: fitted on a shop where few seem to leave (Online
    # Retail), it gave 96 % to a customer who bought every 20 days and had been silent for 312.
    doubt = _present(alive) and alive < P_ALIVE_SHOWN_BELOW
    still = f"; the buying-pattern model gives {alive:.0%} that they are still a customer" if doubt else ""
    return f"last order {_days(recency)} ago after {_orders(frequency)}{usual}{still}"


# Words of a cluster's label that a customer's own RFM scores (the shop's quintiles) can contradict: the score,
# and the scores at which the customer is plainly not so. A cluster is named after its centre, and k-means puts
# in it customers far from the centre on one feature when they are close on the others.
CONTRADICTED_BY = {
    "recent": ("r_score", (1, 2)), "lapsed": ("r_score", (4, 5)),
    "frequent": ("f_score", (1, 2)), "occasional": ("f_score", (4, 5)),
    "big-basket": ("m_score", (1, 2)), "small-basket": ("m_score", (4, 5)),
}  # fmt: skip
SCORE_NAMES = {"r_score": "recency", "f_score": "frequency", "m_score": "monetary"}


def _cluster_reason(profile: Mapping[str, Any]) -> str:
    """The cluster's label and, where the customer's own figures contradict a word of it (17850, away 373 days,
    was "grouped with frequent, recent customers"), what is true of them instead."""
    label = str(profile["cluster_label"])
    facts = {
        "r_score": lambda: f"their last order was {_days(profile['recency_days'])} ago",
        "f_score": lambda: f"they have {_orders(profile['frequency'])}",
        "m_score": lambda: f"they spend {profile['monetary']:,.2f} an order",
    }
    unlike = [
        f"{facts[score]()} ({SCORE_NAMES[score]} score {profile[score]}/5)"
        for score, plainly_not in _contradictable(label)
        if profile.get(score) in plainly_not
    ]
    reason = f"grouped with {label}"
    return reason + (f", though unlike the group's typical customer {' and '.join(unlike)}" if unlike else "")


@lru_cache(maxsize=256)
def _contradictable(label: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The scores (with the values that contradict it) of each word of a cluster's ``label`` in ``CONTRADICTED_BY``,
    in its order: a shop has a handful of labels, and 100,000 customers' reasons split each again."""
    words = set(re.findall(r"[\w-]+", label))
    return tuple(contradicted for word, contradicted in CONTRADICTED_BY.items() if word in words)


def _plain_day(value: Any) -> date | None:
    """``value`` as a date when it is one, or a day's ISO text (as a stored profile has it), else None: reading
    those with ``pd.Timestamp`` took most of the time of a 100,000-customer shop's reasons."""
    if type(value) is date:
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _days_between(start: Any, end: Any) -> int:
    """Whole days from ``start`` to ``end``, as ``pd.Timestamp`` counts them."""
    first, last = _plain_day(start), _plain_day(end)
    if first is not None and last is not None:
        return (last - first).days
    return (pd.Timestamp(end) - pd.Timestamp(start)).days


def _iso_day(value: Any) -> date:
    return _plain_day(value) or pd.Timestamp(value).date()


def profile_reasons(profile: Mapping[str, Any], as_of: Any, horizon_days: int = 90) -> dict[str, str]:
    """One sentence per profile field that has a value (keys: segment, cluster, churn_risk, clv,
    next_purchase), from one row of ``build_profiles``; ``as_of`` is the day the profile describes."""
    reasons: dict[str, str] = {}
    recency, frequency, monetary = profile.get("recency_days"), profile.get("frequency"), profile.get("monetary")
    if _present(profile.get("rfm_segment")):
        reasons["segment"] = (
            f"{segment_label(profile['rfm_segment'])} ({segment_description(profile['rfm_segment'])}): "
            f"last order {_days(recency)} ago (recency score {profile.get('r_score')}/5), "
            f"{_orders(frequency)} (frequency score {profile.get('f_score')}/5), "
            + (f"{monetary:,.2f} an order" if monetary >= LEAST_SPEND else "their returns cancel what they paid")
            + f" (monetary score {profile.get('m_score')}/5)"
        )
    if _present(profile.get("cluster_label")):
        reasons["cluster"] = _cluster_reason(profile)
    if _present(profile.get("churn_risk")):
        reasons["churn_risk"] = (
            f"{profile['churn_risk']:.0%} chance of no order in the next {_days(horizon_days)}: "
            + _churn_evidence(profile)
        )
    value = profile.get("expected_purchase_value")
    if _present(profile.get("clv")) and _present(profile.get("expected_purchases")) and _present(value):
        reasons["clv"] = (
            f"{profile['clv']:,.2f} expected over the next {_days(horizon_days)}: "
            f"{_count(profile['expected_purchases'])} expected days with an order, spending {value:,.2f} on each"
        )
    due = profile.get("next_purchase_date")
    if _present(due):
        gap = _days_between(as_of, due)
        cycle = profile.get("cycle_days")
        # A customer past their date is expected now (audience.next_purchase): say by how much, not "due today".
        late = round(recency) - round(cycle) if gap == 0 and _present(recency) and _present(cycle) else 0
        when = f"due in {_days(gap)}" if gap > 0 else ("due today" if gap == 0 else f"overdue by {_days(-gap)}")
        when = f"overdue by {_days(late)}: expected now" if late > 0 else when
        # Without a repeat day their cycle is the shop's usual gap, not one of theirs.
        basis = (
            "their usual gap"
            if profile.get("repeat_purchase_days", 1) != 0
            else "the shop's usual gap between orders (they have bought on one day only)"
        )
        reasons["next_purchase"] = f"next order expected around {_iso_day(due)} ({when}), from {basis}"
    return reasons
