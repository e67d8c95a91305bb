"""Audience preview: who a campaign type and audience query would reach today, before a campaign is created."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.addresses import address_key
from service.clock import utcnow
from service.db.batches import batches
from service.db.models import Assignment, Customer, Send
from service.errors import InvalidInput, Problem
from service.pipeline import frames
from service.pipeline.contact_policy import addresses_mailed_since
from service.pipeline.policy_conditions import held_out_since
from service.segments import segment_named
from service.settings import ExperimentSettings, SendScheduleSettings


def _number(value: Any) -> float | None:
    """A plain float, or None for a missing value (JSON has no NaN)."""
    return None if value is None or pd.isna(value) else round(float(value), 4)


def choose_today(
    session: Session, campaign_type: str, query: str | None, as_of: date | None = None, *, what: str = "audience",
    field: str = "query", field_kind: str = "parameter", outcome: str = "refused",
) -> pd.DataFrame:  # fmt: skip
    """The mailable customers a campaign of `campaign_type` narrowed by `query` reaches on `as_of` (default: today's
    audience day), without their reasons (the same choice `generate` makes: consent, not unsubscribed, the
    campaign's audience rule, the query). A query that cannot be read, or names a field or a value the shop's
    profiles do not have, raises InvalidInput naming `field` (a `field_kind`: the preview's query parameter, a
    campaign's field) and the `outcome`: the one check behind the audience preview and the creation of a
    campaign."""
    from audience.errors import QueryError
    from audience.query import query_fields
    from service.pipeline.generate import choose_audience, reminder_audience
    from service.settings import CampaignSettings

    try:
        # Parsing it checks its syntax and segments even when no customer has a profile yet to check fields against.
        fields = query_fields(query) if query else set()
        profiles = frames.mailable_profiles(session, fields)
        _, eligible = reminder_audience(session, campaign_type, CampaignSettings().reorder_min_share)
        day = as_of or frames.audience_as_of(session)
        return choose_audience(profiles, campaign_type, query, None, day, eligible)
    except QueryError as error:
        raise InvalidInput(what, [Problem(None, field, str(error), field_kind)], outcome=outcome) from error


def preview_audience(
    session: Session, campaign_type: str, query: str | None, limit: int, offset: int = 0
) -> dict[str, Any]:
    """How many mailable customers the campaign would target, and `limit` of them after `offset`, with why and their
    offer. The campaign's order sorts stably the profiles, which are read in id order: ties keep that order, so
    that pages from `offset` neither repeat nor skip a customer."""
    from audience.campaigns import with_reasons

    as_of = frames.audience_as_of(session)
    chosen = choose_today(session, campaign_type, query, as_of)
    shown = with_reasons(chosen.iloc[offset : offset + limit], campaign_type, as_of)
    sample = [
        {
            "customer_id": row["customer_id"], "first_name": row.get("first_name", ""),
            "segment": segment_named(row.get("rfm_segment")), "churn_risk": _number(row.get("churn_risk")),
            "clv": _number(row.get("clv")), "reason": row.get("reason", ""),
            "offer": row.get("offer") if isinstance(row.get("offer"), dict) else None,
        }
        for row in shown.to_dict("records")
    ]  # fmt: skip
    return {
        "campaign_type": campaign_type, "query": query, "as_of": as_of.isoformat(), "customers": len(chosen),
        "mailed_recently": mailed_recently(session, chosen["customer_id"]),
        "held_out": held_out(session, chosen["customer_id"]), "sample": sample,
    }  # fmt: skip


def mailed_recently(session: Session, customer_ids: pd.Series, now: datetime | None = None) -> int:
    """How many of these customers were mailed within the contact policy's days: sent now, their emails would
    wait (service.pipeline.contact_policy)."""
    days = SendScheduleSettings().min_days_between
    if days <= 0 or customer_ids.empty:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    recent = set(
        session.scalars(
            select(Customer.external_id).join(Send, Send.customer_id == Customer.id).where(Send.sent_at > cutoff)
        )
    )
    addresses = addresses_mailed_since(session, cutoff)  # mailed under another id of the same address
    if addresses:
        for batch in batches(sorted(set(customer_ids) - recent)):
            rows = session.execute(select(Customer.external_id, Customer.email).where(Customer.external_id.in_(batch)))
            recent |= {external_id for external_id, email in rows if email and address_key(email) in addresses}
    return int(customer_ids.isin(recent).sum())


def held_out(session: Session, customer_ids: pd.Series, now: datetime | None = None) -> int:
    """How many of these customers an experiment held out within its conversion window: sent now, their emails
    would wait for the window's end (service.pipeline.contact_policy, by the same condition)."""
    days = ExperimentSettings().conversion_window_days
    if customer_ids.empty:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    holdout = session.scalars(
        select(Customer.external_id)
        .join(Assignment, Assignment.customer_id == Customer.id)
        .where(held_out_since(cutoff))
        .distinct()
    )
    return int(customer_ids.isin(set(holdout)).sum())
