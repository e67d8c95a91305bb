"""A campaign's forecast: expected sends, opens, clicks, conversions and revenue of its mailing (the drafts
sent and those still to send; rejected, skipped and held-out ones are not mailed, nor are customers who have
unsubscribed, complained or bounced since their draft was written).

Computed from the database (the variant each draft's email is or will be, ``_mailed_variant``; the customer's order
value), so the same function
serves generation and every change after it: a draft approved with another variant, rejected or edited, and
an experiment's holdout (its customers are sent nothing, so they are left out and counted in ``held_out``).
A change only marks the forecast stale (cheap, so approving drafts one by one stays fast on a large campaign);
the next read of the campaign recomputes it once.
"""

from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from sqlalchemy import and_, case, func, null, or_, select
from sqlalchemy.orm import Session, aliased

from service.db.models import Campaign, Customer, Draft, Send, Variant
from service.experiments import held_out_customers
from service.pipeline.frames import MAILABLE

# Sent drafts stay in: the forecast is compared with results.
MAILED = ("pending", "flagged", "approved", "sending", "sent")
# Drafts read at once by ``refresh_forecast``.
_ROWS_AT_ONCE = 2_000


def order_values(monetary: pd.Series, mean_price: pd.Series) -> pd.Series:
    """Each customer's value if they convert: their mean past order value (the RFM ``monetary``), else, for a
    customer without orders, the mean price of the products recommended to them."""
    monetary = pd.to_numeric(monetary, errors="coerce")
    return monetary.where(monetary > 0, pd.to_numeric(mean_price, errors="coerce")).fillna(0.0)


def forecast_totals(selection: pd.DataFrame, values: pd.Series | None = None, level: float = 0.9) -> dict[str, float]:
    """Expected sends, opens, clicks, conversions and revenue if every chosen variant were sent, each with its
    ``level`` interval (``*_low``/``*_high``, scoring.forecast); revenue is P(conversion) × ``values``, the
    customer's order value (by customer id, the selection's index)."""
    from scoring.forecast import forecast_totals as campaign_totals

    predictions = selection.reindex(columns=["p_open", "p_click", "p_conversion"]).astype(float)
    if values is not None:
        predictions["order_value"] = values.reindex(predictions.index).astype(float)
    totals = campaign_totals(predictions, level=level)
    rounded = {name: round(value, 4 if name.endswith("_rate") else 2) for name, value in totals.items()}
    return {**rounded, "sends": int(totals["sends"]), "level": level}


def mark_stale(campaign: Campaign) -> None:
    """Note that the drafts to send changed; the next :func:`current_forecast` recomputes the forecast."""
    if campaign.forecast and not campaign.forecast.get("stale"):
        campaign.forecast = {**campaign.forecast, "stale": True}


def mark_stale_for_customers(session: Session, customer_ids: Collection[int], *, unsent_only: bool) -> None:
    """Mark stale the forecasts of the campaigns holding a draft of these customers (rows ids): all of them when
    the customers go, only those with a draft still to send when the customers may no longer be mailed."""
    holding = select(Draft.campaign_id).where(Draft.customer_id.in_(list(customer_ids)))
    if unsent_only:
        holding = holding.where(Draft.status != "sent")
    for campaign in session.scalars(select(Campaign).where(Campaign.id.in_(holding))):
        mark_stale(campaign)


def current_forecast(session: Session, campaign: Campaign) -> dict[str, float]:
    """The campaign's forecast, recomputed first when a change made it stale ({} before generation)."""
    if campaign.forecast and campaign.forecast.get("stale"):
        return refresh_forecast(session, campaign)
    return campaign.forecast or {}


def refresh_forecast(session: Session, campaign: Campaign) -> dict[str, float]:
    """Recompute and store the forecast of ``campaign``'s mailing (drafts sent or still to send).

    The drafts are read `_ROWS_AT_ONCE` at a time and kept as the few figures the forecast needs: a row of a customer
    without past spend carries the draft's recommended products (several KB, for their mean price), which a campaign
    of a million customers cannot hold at once. The customer's past spend is read from its column
    (``Customer.monetary``, written with the profile), not from the whole profile's JSON (about 1 KB, decoded for
    each draft on the first read of the campaign after each review)."""
    # The recommended products' prices stand in for a customer's order value only when they have no past spend
    # (``order_values``): the others' recommendations (JSON) are neither read nor decoded.
    recommendations = case((Customer.monetary > 0, null()), else_=Draft.recommendations)
    predicted, joins = _mailed_variant(campaign)
    statement = (
        select(Customer.external_id, Customer.monetary, recommendations, *predicted, Draft.pinned, Draft.status)
        .join(Draft, Draft.customer_id == Customer.id)
        .join(Variant, Variant.id == Draft.selected_variant_id)
        .where(Draft.campaign_id == campaign.id, Draft.status.in_(MAILED))
        .where(or_(Draft.status == "sent", and_(*MAILABLE)))  # not to be sent: unsubscribed or bounced since
        .execution_options(yield_per=_ROWS_AT_ONCE)
    )  # fmt: skip
    for join in joins:
        statement = statement.outerjoin(*join)
    columns = ["customer_id", "p_open", "p_click", "p_conversion", "monetary", "mean_price"]
    values: dict[str, list] = {name: [] for name in columns}
    in_arms = []  # a pinned draft is sent outside the experiment's arms, and a sent one went: neither is held out
    for external_id, monetary, recommendations, p_open, p_click, p_conversion, pinned, status in session.execute(
        statement
    ):
        row = (external_id, p_open, p_click, p_conversion, monetary, mean_price(recommendations))
        for name, value in zip(columns, row, strict=True):
            values[name].append(value)
        if not pinned and status != "sent":
            in_arms.append(external_id)
    frame = pd.DataFrame(values, columns=columns).set_index("customer_id")
    held = held_out_customers(campaign.id, campaign.holdout_share, in_arms) if campaign.holdout_share else []
    mailed = frame.drop(index=held)
    # Customers the send has held out already (their drafts' status says so), and those it will hold out.
    already = session.scalar(
        select(func.count()).where(Draft.campaign_id == campaign.id, Draft.status == "holdout")
    )  # fmt: skip
    totals = forecast_totals(mailed, order_values(mailed["monetary"], mailed["mean_price"]))
    forecast = totals | {"held_out": len(held) + already}
    campaign.forecast = forecast
    return forecast


def _mailed_variant(campaign: Campaign) -> tuple[list, list[tuple]]:
    """The predictions (p_open, p_click, p_conversion) of the variant each draft's email is, or will be: the one
    that went for a sent draft (in an experiment, its arm's, which may not be the chosen one); in an experiment, for
    a draft still to send that no reviewer pinned, the mean of its variants, as the arms are drawn only at sending,
    by the outcomes so far (a variant that failed a check for its customer is sent as the chosen one: rare, and not
    told apart here); else the chosen one. With the joins to add to the forecast's statement (outer: a draft may
    have none of them)."""
    went = aliased(Variant)
    joins: list[tuple] = [(Send, Send.draft_id == Draft.id), (went, went.id == Send.variant_id)]
    drawn = None
    if campaign.holdout_share is not None:
        drawn = (
            select(Variant.draft_id, *(func.avg(getattr(Variant, name)).label(name) for name in _PREDICTED))
            .join(Draft, Draft.id == Variant.draft_id)
            .where(Draft.campaign_id == campaign.id)
            .group_by(Variant.draft_id)
            .subquery()
        )
        joins.append((drawn, drawn.c.draft_id == Draft.id))

    def predicted(name: str):
        chosen = getattr(Variant, name)
        went_out = (Draft.status == "sent", func.coalesce(getattr(went, name), chosen))
        if drawn is None:
            return case(went_out, else_=chosen)
        return case(went_out, (Draft.pinned, chosen), else_=func.coalesce(getattr(drawn.c, name), chosen))

    return [predicted(name) for name in _PREDICTED], joins


_PREDICTED = ("p_open", "p_click", "p_conversion")


def mean_price(recommendations: list | None) -> float:
    """The mean price of an email's recommended products (0 without products)."""
    prices = [float(r.get("price") or 0.0) for r in recommendations or []]
    return sum(prices) / len(prices) if prices else 0.0
