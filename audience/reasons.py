"""Plain-words reasons behind a customer's profile: why this segment, cluster, churn risk, lifetime value and
next purchase date, built from the profile's own figures so a marketer can check them."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import pandas as pd

from audience.returns import LEAST_SPEND
from audience.rfm import segment_description, segment_label


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


@lru_cache(maxsize=4096)  # a shop's recencies, cycles and order counts are a few hundred values
def _days(n: float) -> str:
    return "1 day" if round(n) == 1 else f"{round(n)} days"


@lru_cache(maxsize=4096)
def _orders(n: float) -> str:
    return "1 order" if int(n) == 1 else f"{int(n):,} orders"


def _count(n: float) -> str:
    """Three significant figures (whole numbers from 100), so that products of figures in a sentence hold to 1 %."""
    return f"{n:.3g}" if abs(n) < 100 else f"{n:,.0f}"


P_ALIVE_SHOWN_BELOW = 0.9


def _churn_evidence(recency: Any, frequency: Any, cycle: Any, alive: Any, repeat_days: Any) -> str:
    """What the churn risk rests on. BG/NBD's P(alive) is 1 for every customer without a repeat purchase day,
    however long ago they bought, so for them the evidence is the time since that day against the shop's
    usual gap between orders. A missing figure is None."""
    frequency = int(frequency)
    if repeat_days == 0:
        when = (
            f"their only order was {_days(recency)} ago"
            if frequency == 1
            else f"their {frequency} orders were all on one day, {_days(recency)} ago"
        )
        return when + (f", against the shop's usual {_days(cycle)} between orders" if cycle is not None else "")
    usual = f", about every {_days(cycle)}" if cycle is not None else ""
    # BG/NBD's P(alive) says something only when it doubts: fitted on a shop where few seem to leave (Online
    # Retail), it gave 96 % to a customer who bought every 20 days and had been silent for 312.
    doubt = alive is not None and alive < P_ALIVE_SHOWN_BELOW
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


def _cluster_reason(
    label: str, recency: Any, frequency: Any, monetary: Any, r_score: Any, f_score: Any, m_score: Any
) -> str:
    """The cluster's label and, where the customer's own figures contradict a word of it (17850, away 373 days,
    was "grouped with frequent, recent customers"), what is true of them instead."""
    contradicted = _contradicted(label, r_score, f_score, m_score)
    if not contradicted:
        return f"grouped with {label}"
    facts = {
        "r_score": lambda: f"their last order was {_days(recency)} ago (recency score {r_score}/5)",
        "f_score": lambda: f"they have {_orders(frequency)} (frequency score {f_score}/5)",
        "m_score": lambda: f"they spend {monetary:,.2f} an order (monetary score {m_score}/5)",
    }
    return f"grouped with {label}, though unlike the group's typical customer " + " and ".join(
        facts[score]() for score in contradicted
    )


@lru_cache(maxsize=4096)  # a shop has a handful of labels, and scores 1 to 5
def _contradicted(label: str, r_score: Any, f_score: Any, m_score: Any) -> tuple[str, ...]:
    """The scores that contradict a word of ``label``, in the order of ``CONTRADICTED_BY``."""
    scores = {"r_score": r_score, "f_score": f_score, "m_score": m_score}
    return tuple(score for score, plainly_not in _contradictable(label) if scores[score] in plainly_not)


@lru_cache(maxsize=256)
def _contradictable(label: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """The scores (with the values that contradict it) of each word of a cluster's ``label`` in ``CONTRADICTED_BY``,
    in its order."""
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


# The fields the reasons are written from, in the order ``profiles_reasons`` reads them.
REASON_FIELDS = (
    "rfm_segment", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "cluster_label",
    "churn_risk", "p_alive", "repeat_purchase_days", "cycle_days", "clv", "expected_purchases",
    "expected_purchase_value", "next_purchase_date",
)  # fmt: skip


def profile_reasons(profile: Mapping[str, Any], as_of: Any, horizon_days: int = 90) -> dict[str, str]:
    """One sentence per profile field that has a value (keys: segment, cluster, churn_risk, clv,
    next_purchase), from one row of ``build_profiles``; ``as_of`` is the day the profile describes."""
    fields = {name: [value if _present(value := profile.get(name)) else None] for name in REASON_FIELDS}
    return profiles_reasons(fields, as_of, horizon_days)[0]


def profiles_reasons(fields: Mapping[str, Sequence[Any]], as_of: Any, horizon_days: int = 90) -> list[dict[str, str]]:
    """:func:`profile_reasons` of many profiles given a field at a time: each of ``REASON_FIELDS`` as the profiles'
    values in one order, as a stored profile holds them (None where a profile has no figure, a day as a date or its
    ISO text; a field left out is missing from every profile). Words that repeat (a segment's, a number of days or
    orders, a next purchase's day) are worked out once: a profile at a time, the sentences of a 100,000-customer
    shop took 1.05 s of CPU, most of it looking up its fields and writing the same words again."""
    count = max((len(values) for values in fields.values()), default=0)
    columns = [fields[name] if name in fields else [None] * count for name in REASON_FIELDS]
    horizon = _days(horizon_days)
    heads: dict[str, str] = {}  # a segment's label and description
    dues: dict[Any, tuple[int, date]] = {}  # a next purchase's days from as_of, and its day
    reasons_of = []
    for (
        segment, recency, frequency, monetary, r_score, f_score, m_score, label, churn_risk, alive, repeat_days,
        cycle, clv, expected, value, due,
    ) in zip(*columns, strict=True):  # fmt: skip
        reasons: dict[str, str] = {}
        if segment is not None:
            head = heads.get(segment)
            if head is None:
                head = heads[segment] = f"{segment_label(segment)} ({segment_description(segment)})"
            reasons["segment"] = (
                f"{head}: last order {_days(recency)} ago (recency score {r_score}/5), "
                f"{_orders(frequency)} (frequency score {f_score}/5), "
                + (f"{monetary:,.2f} an order" if monetary >= LEAST_SPEND else "their returns cancel what they paid")
                + f" (monetary score {m_score}/5)"
            )
        if label is not None:
            reasons["cluster"] = _cluster_reason(str(label), recency, frequency, monetary, r_score, f_score, m_score)
        if churn_risk is not None:
            reasons["churn_risk"] = f"{churn_risk:.0%} chance of no order in the next {horizon}: " + _churn_evidence(
                recency, frequency, cycle, alive, repeat_days
            )
        if clv is not None and expected is not None and value is not None:
            reasons["clv"] = (
                f"{clv:,.2f} expected over the next {horizon}: "
                f"{_count(expected)} expected days with an order, spending {value:,.2f} on each"
            )
        if due is not None:
            gap, day = dues.get(due) or dues.setdefault(due, (_days_between(as_of, due), _iso_day(due)))
            # A customer past their date is expected now (audience.next_purchase): say by how much, not "due today".
            late = round(recency) - round(cycle) if gap == 0 and recency is not None and cycle is not None else 0
            when = f"due in {_days(gap)}" if gap > 0 else ("due today" if gap == 0 else f"overdue by {_days(-gap)}")
            when = f"overdue by {_days(late)}: expected now" if late > 0 else when
            # Without a repeat day their cycle is the shop's usual gap, not one of theirs.
            basis = (
                "their usual gap"
                if repeat_days != 0
                else "the shop's usual gap between orders (they have bought on one day only)"
            )
            reasons["next_purchase"] = f"next order expected around {day} ({when}), from {basis}"
        reasons_of.append(reasons)
    return reasons_of
