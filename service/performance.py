"""What a campaign's email did once sent: its sends and the events recorded for them (POST /events, the
unsubscribe links), as counts and rates beside the forecast made before sending. The rates are over the sends known
to have gone out; those whose mail server's answer was lost (``Send.perhaps_sent``) are counted apart, as
``perhaps_sent``: counted as sent, each one not opened lowered the campaign's open rate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, not_, select
from sqlalchemy.orm import Session

from service.db.models import Event, Product, Send
from service.schemas import ProductClicksOut

# Event kinds counted once per send (a customer who opened twice opened), under the name the report uses.
COUNTED = {"open": "opened", "click": "clicked", "conversion": "converted", "unsubscribe": "unsubscribed",
           "complaint": "complained", "bounce": "bounced", "machine_click": "machine_clicked",
           "machine_open": "machine_opened"}  # fmt: skip
# The event kinds that show a send was opened, clicked or converted: a chain, as the engagement model learns it and
# the forecast predicts it (scoring.engagement.chain_outcomes), for this report, an experiment's arms and the best
# send hours alike. A click with no open recorded (images blocked) counted as unopened, and a campaign read fewer
# opens than clicks.
SHOWN_BY = {"opened": ("open", "click", "conversion"), "clicked": ("click", "conversion"), "converted": ("conversion",)}


def send_counts(session: Session, campaign_id: int) -> tuple[int, int]:
    """The campaign's sends, and how many of them were perhaps sent (``Send.perhaps_sent``), in one query."""
    sends, perhaps_sent, _, _ = _send_counts(session, campaign_id)
    return sends, perhaps_sent


def _send_counts(session: Session, campaign_id: int) -> tuple[int, int, int, int]:
    """``send_counts``, and of the sends known to have gone out, those whose email told Tailor of an open (its image)
    and of a click (its links through Tailor), in the same query: "opened 0" of a campaign none of whose email could
    tell of an open says nothing of it."""
    gone_out = not_(Send.perhaps_sent)
    counts = select(
        func.count(),
        func.count().filter(Send.perhaps_sent),
        func.count().filter(gone_out, Send.tracking.contains("opens")),
        func.count().filter(gone_out, Send.tracking.contains("clicks")),
    ).where(Send.campaign_id == campaign_id)
    sends, perhaps_sent, tracked_opens, tracked_clicks = session.execute(counts).one()
    return sends, perhaps_sent, tracked_opens, tracked_clicks


def campaign_performance(session: Session, campaign_id: int) -> dict[str, Any]:
    """Sends known to have gone out, and the sends with each kind of event, their rates over those sends (None
    while there are none), the conversions' value as revenue, and the sends perhaps sent; empty before the campaign
    sent anything."""
    sends, perhaps_sent, tracked_opens, tracked_clicks = _send_counts(session, campaign_id)
    if not sends:
        return {}
    sent = sends - perhaps_sent
    rows = session.execute(
        select(Event.kind, func.count(distinct(Event.send_id)), func.coalesce(func.sum(Event.value), 0.0))
        .join(Send, Send.id == Event.send_id)
        .where(Send.campaign_id == campaign_id, Event.kind.in_(list(COUNTED)))
        .group_by(Event.kind)
    ).all()
    by_kind = {kind: (count, value) for kind, count, value in rows}
    chained = session.execute(
        select(*(func.count(distinct(Event.send_id)).filter(Event.kind.in_(kinds)) for kinds in SHOWN_BY.values()))
        .join(Send, Send.id == Event.send_id)
        .where(Send.campaign_id == campaign_id)
    ).one()
    in_chain = dict(zip(SHOWN_BY, chained, strict=True))
    report: dict[str, Any] = {"sent": sent, "perhaps_sent": perhaps_sent}
    for kind, name in COUNTED.items():
        count = in_chain[name] if name in in_chain else by_kind.get(kind, (0, 0.0))[0]
        report[name] = count
        report[f"{name}_rate"] = round(count / sent, 4) if sent else None
    report["revenue"] = round(float(by_kind.get("conversion", (0, 0.0))[1]), 2)
    tracked = {"tracked_opens": tracked_opens, "tracked_clicks": tracked_clicks}
    return report | tracked | {"product_clicks": product_clicks(session, campaign_id)}


TOP_PRODUCTS = 10


def product_clicks(session: Session, campaign_id: int, top: int = TOP_PRODUCTS) -> list[dict[str, Any]]:
    """The products of the campaign's email clicked most, each with the sends that clicked it (a reader who clicked
    it twice counts once), best first: which picks drew readers, beside how many did."""
    clicked_by = func.count(distinct(Event.send_id))
    rows = session.execute(
        select(Product.sku, Product.name, clicked_by)
        .join(Event, Event.product_id == Product.id)
        .join(Send, Send.id == Event.send_id)
        .where(Send.campaign_id == campaign_id, Event.kind == "click")
        .group_by(Product.id, Product.sku, Product.name)
        .order_by(clicked_by.desc(), Product.sku)
        .limit(top)
    ).all()
    return [
        ProductClicksOut(product_id=sku, product=sku, name=name, clicks=clicks).model_dump()
        for sku, name, clicks in rows
    ]
