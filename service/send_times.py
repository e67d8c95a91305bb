"""Send-time optimization for the API: each customer's best send hour from their past opens.

``scoring.send_time.best_send_hours`` does the work: a customer's open rate at each hour is shrunk towards
the shop's rate at that hour, so a customer with little history gets the population's best hour
(``source = population``). Hours are in the clock the sends were recorded in (``sends.sent_at``).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Customer, Draft
from service.errors import NotReady
from service.pipeline import frames
from service.schemas import SendTimeOut


def best_hours(session: Session, customer_ids: list[str]) -> list[SendTimeOut]:
    """The best send hour of each customer, in the order given."""
    from scoring.send_time import best_send_hours

    sends = frames.sends_frame(session)
    if sends.empty:
        raise NotReady("There are no past sends to learn send times from: import them (`tailor import sends FILE`).")
    table = best_send_hours(sends, customer_ids).reset_index()
    return [SendTimeOut(**row) for row in table.to_dict("records")]


def campaign_send_times(session: Session, campaign_id: int) -> list[SendTimeOut]:
    """The best send hour of every customer with a draft in the campaign."""
    customer_ids = list(
        session.scalars(
            select(Customer.external_id)
            .join(Draft, Draft.customer_id == Customer.id)
            .where(Draft.campaign_id == campaign_id)
            .order_by(Draft.id)
        )
    )
    return best_hours(session, customer_ids) if customer_ids else []
