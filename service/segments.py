"""Segments with their size and KPIs: revenue, orders, average order value and retention per segment.

Retention is measured on what customers did after they were in the segment (``audience.retention``):
``retention_rate`` is the share of the customers who were in the segment on ``retention_since`` (one horizon,
``retention_days``, before the as-of day) who ordered again between then and the as-of day;
``retention_base`` is how many they were (0, with a null rate, when none were). Today's segments would give 1
or 0 by construction, since they rest on how recently customers ordered. ``last_order_days_min`` and ``_max`` are
the days from their last order to the as-of day that the segment's customers span at the refresh (null in a
snapshot stored before they were kept); ``label`` and ``description`` say what the segment means.

Each audience refresh (after an orders import, or training) computes them with the profiles and stores them;
GET /segments serves the latest, with its ``as_of`` and ``computed_at``, and each segment's ``customers`` as they are
now: those ``GET /customers?segment=`` lists (customers imported since the refresh have no orders, and count under
``no_orders``; an erased customer no longer counts). While the job that stores the next figures is queued or running
(``refresh_under_way``), its headers name it and say which day the figures answered describe, or that none are
stored yet (``refresh_note``): the answer stays the list it was.

An erasure deletes every stored snapshot whose figures counted the erased customer's orders or returns
(``forget_in_snapshots``): no snapshot keeps which segment each customer was in, and segments and retention rank
customers against each other, so their part cannot be taken out exactly; nor does a size of segment hide it, as the
orders Tailor still holds add up to each old figure without them. A snapshot from before they first bought counted
them only as one more customer without orders, and stays. The results of those refreshes' jobs, kept as long, hold
their customers per segment and their fallbacks' reasons, which, set beside a refresh after the erasure, tell the
customer's segment: the erasure withholds them (``forget_in_job_results``), the jobs' other facts kept.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from audience.rfm import NO_ORDERS, segment_description, segment_label
from service.clock import as_text
from service.db.models import AudienceSnapshot, Customer, Interaction, Job

# The jobs whose end stores new figures (service.pipeline.training): an audience refresh, and a training's.
REFRESHING_KINDS = ("audience", "train")


def segment_named(segment: Any) -> str:
    """A customer's segment as the API names it everywhere: their RFM segment, or NO_ORDERS without one (None, or
    a missing value of a profiles frame)."""
    return segment if isinstance(segment, str) and segment else NO_ORDERS


def segment_kpis(
    customers: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp, horizon_days: int
) -> list[dict[str, Any]]:
    """One row per segment: the customers in it (``customers``: customer_id, segment, and ``recency_days`` where
    known) with their revenue, orders and average order value from ``orders`` (validated purchase lines, as
    ``service.pipeline.frames.orders_frame`` reads them) placed before ``as_of``, and the segment's retention over
    the horizon before ``as_of`` (see the module docstring), the segment with the most revenue first.

    Counted on arrays of codes, a groupby for each sum: the sums are pandas' own, over the same values in the same
    order (an order's lines, a customer's orders by id, a segment's customers as given), so the figures are those of
    grouping the frames by their ids; a small shop's figures took a tenth of a second that way."""
    from audience.retention import retention_of_lines

    segment = customers["segment"].fillna(NO_ORDERS)
    segment_codes, segments = pd.factorize(segment, sort=True)
    orders = orders[orders["timestamp"] < as_of]  # what the segments describe: orders after as_of are not in them
    customer_codes, customer_ids = pd.factorize(orders["customer_id"], sort=True)
    order_codes, order_ids = pd.factorize(orders["order_id"], sort=True)
    order_keys = customer_codes.astype(np.int64) * len(order_ids) + order_codes  # sorted as (customer_id, order_id)
    per_order = orders["amount"].groupby(order_keys).sum()
    order_customer = per_order.index.to_numpy() // max(len(order_ids), 1)
    # per customer code, and a last 0 for the customers without orders (-1 among the codes)
    revenue_of = np.append(per_order.groupby(order_customer).sum().to_numpy(), 0.0)
    orders_of = np.append(np.bincount(order_customer, minlength=len(customer_ids)), 0)
    row = customer_ids.get_indexer(customers["customer_id"])
    revenue = pd.Series(revenue_of[row]).groupby(segment_codes).sum().to_numpy()
    n_orders = np.bincount(segment_codes, weights=orders_of[row], minlength=len(segments)).astype(int)
    n_customers = np.bincount(segment_codes[customers["customer_id"].notna().to_numpy()], minlength=len(segments))
    average = (revenue / np.where(n_orders > 0, n_orders, np.nan)).round(2)
    revenue = revenue.round(2)
    retention = retention_of_lines(orders, as_of, horizon_days).reindex(segments)
    rate, base = retention["rate"].astype(float).round(4).to_numpy(), retention["customers"].fillna(0).astype(int)
    since = (as_of - pd.Timedelta(days=horizon_days)).date().isoformat()
    recency = None
    if "recency_days" in customers:
        recency = customers["recency_days"].groupby(segment_codes).agg(["min", "max"]).astype("Int64")
    rows = []
    for at in pd.Series(revenue).sort_values(ascending=False).index:
        figures = {
            "segment": segments[at], "customers": int(n_customers[at]), "revenue": float(revenue[at]),
            "orders": int(n_orders[at]), "average_order_value": _number(average[at]),
            "retention_rate": _number(rate[at]), "retention_base": int(base.iloc[at]), "retention_since": since,
            "retention_days": horizon_days,
        }  # fmt: skip
        if recency is not None:
            low, high = recency["min"].iloc[at], recency["max"].iloc[at]
            figures["last_order_days_min"] = None if pd.isna(low) else int(low)
            figures["last_order_days_max"] = None if pd.isna(high) else int(high)
        rows.append(figures)
    return rows


def _number(value: float) -> float | None:
    """A figure as stored: None for NaN (no orders, or no customers one horizon back)."""
    return None if np.isnan(value) else float(value)


def latest_segments(session: Session) -> list[dict[str, Any]]:
    """The segments as the latest audience refresh left them, with when it ran (empty before the first), each
    with the customers in it now; a segment that has customers now and had none then (``no_orders`` after a
    customers import) is added, with nothing ordered."""
    snapshot = session.scalar(select(AudienceSnapshot).order_by(AudienceSnapshot.id.desc()).limit(1))
    if snapshot is None:
        return []
    named = func.coalesce(Customer.segment, NO_ORDERS)
    now = dict(session.execute(select(named, func.count()).group_by(named)).all())
    computed_at = as_text(snapshot.computed_at, timespec="seconds")
    since = (snapshot.as_of - timedelta(days=snapshot.horizon_days)).isoformat()
    rows = [{**row, "customers": now.pop(row["segment"], 0)} for row in snapshot.segments]
    rows += [
        {
            "segment": segment,
            "customers": count,
            "revenue": 0.0,
            "orders": 0,
            "average_order_value": None,
            "retention_rate": None,
            "retention_base": 0,
            "retention_since": since,
            "retention_days": snapshot.horizon_days,
        }  # fmt: skip
        for segment, count in now.items()
    ]
    return [
        {
            **row,
            "label": segment_label(row["segment"]),
            "description": _description(row["segment"]),
            "as_of": snapshot.as_of.isoformat(),
            "computed_at": computed_at,
        }  # fmt: skip
        for row in rows
    ]


def refresh_under_way(session: Session) -> str | None:
    """The id of the job that stores the segments' next figures, queued or running (an audience refresh after an
    orders import or an erasure, or a training; the latest queued of several, which counts what the others do), or
    None when none is. Until it ends, GET /segments serves the latest figures stored, which an erasure may have left
    from before the customer's first order, or none at all."""
    return session.scalar(
        select(Job.id)
        .where(Job.kind.in_(REFRESHING_KINDS), Job.status.in_(("queued", "running")))
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(1)
    )


def refresh_note(job_id: str, segments: list[dict[str, Any]]) -> str:
    """What GET /segments says (``X-Tailor-Warning``) of ``segments`` (``latest_segments``) while job ``job_id``
    recomputes them: which day they describe, or that ``[]`` is none stored yet, not a shop without segments."""
    follow = f"job {job_id} (GET /jobs/{job_id}) is recomputing the segments"
    if not segments:
        return f"No segments are stored yet: {follow}; until it ends there are none to give, not a shop without any."
    as_of, computed_at = segments[0]["as_of"], segments[0]["computed_at"]
    return f"These figures are as of {as_of} (computed at {computed_at}): {follow}; they change when it ends."


def none_stored_note(session: Session) -> str | None:
    """What GET /segments says (``X-Tailor-Warning``) of its ``[]`` when no job is recomputing the segments but the
    shop has orders: an erasure without a refresh after it (`tailor customers erase` queues none), or refreshes that
    failed; None for a shop without orders, whose ``[]`` says so."""
    if session.scalar(select(Interaction.id).where(Interaction.kind == "purchase").limit(1)) is None:
        return None
    return (
        "No segments are stored, though the shop has orders: an erasure deleted the figures that counted the "
        "customer's orders, or no audience refresh has stored any (GET /jobs?kind=audience says whether the latest "
        "failed); `tailor audience refresh`, POST /train or the next orders import computes them."
    )


def forget_in_snapshots(session: Session, first_ordered: datetime) -> None:
    """Delete the audience snapshots whose figures counted the orders of a customer being erased, who first bought
    or returned something at ``first_ordered``: those as of a later day, as a snapshot counts the orders before its
    as-of day (see the module docstring)."""
    session.execute(delete(AudienceSnapshot).where(AudienceSnapshot.as_of > first_ordered.date()))


def forget_in_job_results(session: Session, first_ordered: datetime) -> None:
    """Let go of the figures that the results of audience refreshes (and of trainings, under ``audience``) keep for
    TAILOR_JOBS_KEEP_DAYS and that counted the orders of a customer being erased, who first bought or returned
    something at ``first_ordered``: in those as of a later day, as ``forget_in_snapshots``, the customers per segment
    and the fallbacks' reasons (``withheld``). Job rows are kept, with the rest of their result."""
    for job in session.scalars(select(Job).where(Job.kind.in_(REFRESHING_KINDS))):
        refresh = job.result.get("audience") if job.kind == "train" else job.result
        if not isinstance(refresh, dict) or refresh.get("segments") is None or "as_of" not in refresh:
            continue  # a failed job's result is its error; one already withheld holds no counts
        if date.fromisoformat(refresh["as_of"]) > first_ordered.date():
            job.result = {**job.result, "audience": withheld(refresh)} if job.kind == "train" else withheld(refresh)


SEGMENTS_WITHHELD = (
    "the customers per segment and the fallbacks' reasons counted the orders of a customer erased since: GET /segments "
    "has the figures without them"
)


def withheld(refresh: dict[str, Any]) -> dict[str, Any]:
    """An audience refresh's result (``service.pipeline.training.refresh_audience``) without what counted a customer
    erased since: ``segments`` null, saying why in ``segments_withheld``, and each fallback's reason left out, as
    they count customers and repeat buyers and name the day the orders start ("got 3 customers and 1 with repeats"),
    which, set beside a refresh after the erasure, tell the erased customer's segment and orders. Its day, horizon,
    number of customers and which models fell back stay."""
    fallbacks = [fallback.split(" (", 1)[0] for fallback in refresh.get("fallbacks", [])]
    return {**refresh, "segments": None, "segments_withheld": SEGMENTS_WITHHELD, "fallbacks": fallbacks}


def _description(segment: str) -> str:
    if segment == NO_ORDERS:
        return "no order yet, none left once their returns are taken off, or none since the last audience refresh"
    return segment_description(segment)
