"""What a campaign's email did once sent: its sends and the events recorded for them (POST /events, the
unsubscribe links), as counts and rates beside the forecast made before sending."""

from __future__ import annotations

from typing import Any

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from service.db.models import Event, Send

# Event kinds counted once per send (a customer who opened twice opened), under the name the report uses.
COUNTED = {"open": "opened", "click": "clicked", "conversion": "converted", "unsubscribe": "unsubscribed",
           "complaint": "complained", "bounce": "bounced"}  # fmt: skip


def campaign_performance(session: Session, campaign_id: int) -> dict[str, Any]:
    """Sends, and the sends with each kind of event, their rates over the sends, and the conversions' value as
    revenue; empty before the campaign sent anything."""
    sent = session.scalar(select(func.count()).select_from(Send).where(Send.campaign_id == campaign_id))
    if not sent:
        return {}
    rows = session.execute(
        select(Event.kind, func.count(distinct(Event.send_id)), func.coalesce(func.sum(Event.value), 0.0))
        .join(Send, Send.id == Event.send_id)
        .where(Send.campaign_id == campaign_id, Event.kind.in_(list(COUNTED)))
        .group_by(Event.kind)
    ).all()
    by_kind = {kind: (count, value) for kind, count, value in rows}
    report: dict[str, Any] = {"sent": sent}
    for kind, name in COUNTED.items():
        count = by_kind.get(kind, (0, 0.0))[0]
        report[name] = count
        report[f"{name}_rate"] = round(count / sent, 4)
    report["revenue"] = round(float(by_kind.get("conversion", (0, 0.0))[1]), 2)
    return report
