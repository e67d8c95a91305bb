"""Campaign audiences: which customers each campaign type targets, why, and the win-back offer ladder.

The rules are data (``CAMPAIGNS``, and the ladder in ``win_back_ladder.yaml``); ``select_audience`` applies them
to profiles (``build_profiles`` output, or the same columns read back from the database, where dates may be ISO
text) and gives every chosen customer, for win-back, an ``offer``; ``with_reasons`` adds the ``reason`` a reviewer
reads, for the customers who are shown or mailed (it is text written row by row, too slow to write for a whole
audience that is only counted).

Win-back customers are ranked, and given their rung of the ladder, by the value at risk: what they have spent
with the shop so far (``frequency`` x ``monetary``, their orders times their mean order value), the value at
stake if they come back, times their churn risk, the chance that they will not come back on their own (a
customer without one counts as certain to lapse). Not by CLV: CLV is expected spend in the horizon, which for a
lapsed customer is mostly the chance that they return on their own, so it put lapsed frequent buyers (can't
lose) at the bottom and one-order customers, whom BG/NBD counts as alive, at the top, exactly backwards for an
offer meant to win people back. Past spend alone gave the deepest discount to big spenders who were about to buy
anyway: on Online Retail the top rung's customers bought within 90 days without any offer at 34 % (as of
2010-12-10), the bottom rung's at 12.5 %.

Win-back also needs the customer to have been away ``min_recency_days``: the RFM recency score is a quintile
within the shop, so in a young shop (a week of orders) last week's buyers were "at risk".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from audience.errors import UnknownCampaignType
from audience.returns import LEAST_SPEND
from audience.rfm import segment_description, segment_label


@dataclass(frozen=True)
class CampaignRule:
    segments: tuple[str, ...]  # RFM segments targeted; empty = any segment
    purpose: str
    due_within_days: int | None = None  # replenishment: next purchase due within this many days of the as-of day
    min_frequency: int = 1
    min_recency_days: int = 0  # days since the last order, at least


ACTIVE = ("champions", "loyal", "potential_loyalists", "new")  # the segments of customers who still buy
CAMPAIGNS: dict[str, CampaignRule] = {
    "welcome": CampaignRule(("new",), "welcome customers after their first order"),
    "cross_sell": CampaignRule(ACTIVE, "suggest related products to active customers"),
    "win_back": CampaignRule(
        ("at_risk", "cant_lose", "hibernating"), "bring lapsing customers back with an offer", min_recency_days=30
    ),
    # Active repeat buyers only: a lapsing one gets win-back instead (296 of 596 were in both audiences).
    "replenishment": CampaignRule(
        ACTIVE, "remind repeat buyers when their next order is due", due_within_days=14, min_frequency=2
    ),  # fmt: skip
    "vip": CampaignRule(("champions",), "thank and reward the best customers"),
}

LADDER_FILE = Path(__file__).with_name("win_back_ladder.yaml")


def campaign_types() -> list[str]:
    return list(CAMPAIGNS)


@lru_cache(maxsize=1)
def win_back_ladder() -> tuple[dict, ...]:
    """The ladder's rungs (``min_percentile``, ``percent_off``), highest first."""
    rungs = yaml.safe_load(LADDER_FILE.read_text())["rungs"]
    return tuple(sorted(rungs, key=lambda rung: rung["min_percentile"], reverse=True))


def win_back_offer(value_percentile: float | None) -> dict:
    """The ladder's offer for a customer's value-at-stake percentile (0..1), as ``Offer(kind, value, code)``
    fields; below every rung (or unknown), the lowest rung."""
    value = 0.0 if value_percentile is None or not np.isfinite(value_percentile) else float(value_percentile)
    ladder = win_back_ladder()
    percent = next(
        (rung["percent_off"] for rung in ladder if value >= rung["min_percentile"]), ladder[-1]["percent_off"]
    )
    return {"kind": "percent_off", "value": float(percent), "code": f"COMEBACK{percent}"}


def past_spend(profiles: pd.DataFrame) -> pd.Series:
    """What each customer has spent with the shop so far: the value at stake if a lapsed customer comes back."""
    return _number(profiles, "frequency") * _number(profiles, "monetary")


def value_at_risk(profiles: pd.DataFrame) -> pd.Series:
    """Past spend times churn risk (1 where there is none): what the shop stands to lose without an offer."""
    return past_spend(profiles) * _number(profiles, "churn_risk").fillna(1.0).clip(0.0, 1.0)


def _number(profiles: pd.DataFrame, column: str) -> pd.Series:
    if column not in profiles:
        return pd.Series(np.nan, index=profiles.index)
    return pd.to_numeric(profiles[column], errors="coerce")


def _segment(profiles: pd.DataFrame) -> pd.Series:
    for column in ("rfm_segment", "segment"):
        if column in profiles:
            return profiles[column].astype("object")
    return pd.Series(None, index=profiles.index, dtype="object")


def _reason(row: dict, campaign_type: str, as_of: pd.Timestamp) -> str:
    facts = []
    if pd.notna(row.get("recency_days")):
        days = int(row["recency_days"])
        facts.append(f"last order {days} day{'s' if days != 1 else ''} ago")
    if pd.notna(row.get("frequency")):
        orders = int(row["frequency"])
        facts.append(f"{orders} order{'s' if orders != 1 else ''}")
    if campaign_type == "replenishment" and pd.notna(row.get("next_purchase_date")):
        due = (pd.Timestamp(row["next_purchase_date"]) - as_of).days
        facts.append("next order due now" if due <= 0 else f"next order due in {due} days")
    if pd.notna(row.get("churn_risk")) and campaign_type in ("win_back", "vip", "cross_sell"):
        facts.append(f"churn risk {row['churn_risk']:.0%}")
    if pd.notna(row.get("_past_spend")) and campaign_type == "win_back":
        spent = row["_past_spend"]
        facts.append(f"spent {spent:,.2f} in all" if spent >= LEAST_SPEND else "returned what they paid for")
    if campaign_type == "win_back" and isinstance(row.get("offer"), dict) and pd.notna(row.get("_value_at_risk")):
        facts.append(_offer_reason(row["_value_at_risk"], row["offer"], pd.notna(row.get("churn_risk"))))
    if pd.notna(row.get("clv")) and campaign_type == "vip":
        facts.append(f"expected value {row['clv']:,.2f}")
    segment = row.get("_segment")
    head = f"{segment_label(segment)} ({segment_description(segment)})" if isinstance(segment, str) else "customer"
    return f"{head}: " + ", ".join(facts) if facts else head


def _offer_reason(at_risk: float, offer: dict, churn_known: bool = True) -> str:
    """Why a win-back customer got their offer: their value at risk and where it ranks them in the audience, the
    rung of the ladder that gave it; without a churn risk (nobody in the shop bought twice) the value at risk is
    all they spent."""
    ladder = win_back_ladder()
    rung = next((i for i, step in enumerate(ladder) if float(step["percent_off"]) == offer["value"]), None)
    basis = "spent x churn risk" if churn_known else "all they spent: their churn risk is unknown"
    said = f"value at risk {at_risk:,.2f} ({basis})"
    if rung is not None:
        top = [f"the top {1 - step['min_percentile']:.0%}" for step in ladder]
        if rung == 0:
            said += f", in {top[0]} of this audience by it"
        elif ladder[rung]["min_percentile"] > 0:
            said += f", in {top[rung]} of this audience by it but not {top[rung - 1]}"
        else:
            said += f", not in {top[rung - 1]} of this audience by it"
    return f"{said}: {offer['value']:g}% off ({offer['code']})"


def select_audience(profiles: pd.DataFrame, campaign_type: str, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """The profiles (same index) a campaign of ``campaign_type`` targets, with an ``offer`` column.

    Customers are ordered by value to the campaign: win-back by past spend (the value at stake), VIP by CLV,
    replenishment by due date, the others by recency.
    """
    if campaign_type not in CAMPAIGNS:
        raise UnknownCampaignType(campaign_type, campaign_types())
    rule = CAMPAIGNS[campaign_type]
    as_of = pd.Timestamp(as_of).normalize()
    segment = _segment(profiles)
    chosen = pd.Series(True, index=profiles.index)
    if rule.segments:
        chosen &= segment.isin(rule.segments)
    chosen &= _number(profiles, "frequency").fillna(0) >= rule.min_frequency
    if rule.min_recency_days:
        chosen &= _number(profiles, "recency_days").fillna(0) >= rule.min_recency_days
    if rule.due_within_days is not None:
        due = pd.to_datetime(profiles.get("next_purchase_date"), errors="coerce")
        if due is None:
            due = pd.Series(pd.NaT, index=profiles.index)
        chosen &= due.notna() & (due <= as_of + pd.Timedelta(days=rule.due_within_days))
    audience = profiles[chosen.to_numpy()].copy()
    audience["_segment"] = segment[chosen.to_numpy()]
    audience["_at_risk"] = value_at_risk(audience)
    if campaign_type == "win_back":
        audience = audience.iloc[np.argsort(-audience["_at_risk"].fillna(0).to_numpy(), kind="stable")]
    elif campaign_type == "vip":
        audience = audience.iloc[np.argsort(-_number(audience, "clv").fillna(0).to_numpy(), kind="stable")]
    elif campaign_type == "replenishment":
        audience = audience.iloc[np.argsort(pd.to_datetime(audience["next_purchase_date"]).to_numpy(), kind="stable")]
    elif "recency_days" in audience:
        audience = audience.iloc[np.argsort(_number(audience, "recency_days").to_numpy(), kind="stable")]
    # Percentile rank of the value at risk in the audience: the most gets 1.0, the least 0, ties share the lower rank.
    at_risk = audience["_at_risk"].fillna(0)
    percentile = (at_risk.rank(method="min") - 1) / max(len(audience) - 1, 1)
    audience["offer"] = [win_back_offer(p) if campaign_type == "win_back" else None for p in percentile]
    return audience.drop(columns=["_segment", "_at_risk"])


REASON_FACTS = (
    "recency_days", "frequency", "next_purchase_date", "churn_risk", "_past_spend", "_value_at_risk", "offer", "clv",
    "_segment",
)  # fmt: skip


def with_reasons(audience: pd.DataFrame, campaign_type: str, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """``audience`` (``select_audience`` rows, all or some) with a ``reason`` column: why each customer was chosen,
    in words a reviewer reads."""
    as_of = pd.Timestamp(as_of).normalize()
    facts = audience.assign(
        _segment=_segment(audience), _past_spend=past_spend(audience), _value_at_risk=value_at_risk(audience)
    )
    facts = facts[[column for column in REASON_FACTS if column in facts]]
    return audience.assign(reason=[_reason(row, campaign_type, as_of) for row in facts.to_dict("records")])
