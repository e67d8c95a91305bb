"""The contact policy: at least `TAILOR_SEND_MIN_DAYS_BETWEEN` days between two marketing emails to one customer.

A customer mailed more recently (by any campaign, Tailor's own sends or the history imported with the shop) does
not get the email now: the draft stays approved with its send time moved to when the customer may be mailed
again (at the time of day it was meant for, when it had one: its customer's best hour), and the server's
due-check sends it then. Several campaigns approved the same week thus reach a customer a few days apart instead
of on one morning.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.db.batches import batches
from service.db.models import Draft, Send


def defer_recently_mailed(
    session: Session, draft_ids: list[int], now: datetime, min_days: float
) -> tuple[list[int], int]:
    """The drafts whose customer may be mailed now, in their order, and how many were deferred: those whose
    customer got an email less than ``min_days`` ago get ``send_after`` = that email's time + ``min_days``, or, for
    a draft that had a send time (its customer's best hour, the campaign's scheduled moment), the first moment
    after that with the same time of day."""
    if min_days <= 0 or not draft_ids:
        return draft_ids, 0
    gap = timedelta(days=min_days)
    deferred = 0
    kept: set[int] = set(draft_ids)
    for batch in batches(draft_ids):
        last_sent = dict(
            session.execute(
                select(Draft.id, func.max(Send.sent_at))
                .join(Send, Send.customer_id == Draft.customer_id)
                .where(Draft.id.in_(batch), Send.sent_at > now - gap)
                .group_by(Draft.id)
            ).all()
        )
        if not last_sent:
            continue
        for draft in session.scalars(select(Draft).where(Draft.id.in_(list(last_sent)))):
            draft.send_after = _same_time_of_day(last_sent[draft.id] + gap, draft.send_after)
        kept -= set(last_sent)
        deferred += len(last_sent)
    return [draft_id for draft_id in draft_ids if draft_id in kept], deferred


def _same_time_of_day(earliest: datetime, meant: datetime | None) -> datetime:
    """The first moment at or after ``earliest`` at ``meant``'s time of day (``earliest`` without one): a draft
    deferred from its customer's best hour went out at whatever hour the policy's wait ended, often the night."""
    if meant is None:
        return earliest
    moment = datetime.combine(earliest.date(), meant.time())
    return moment if moment >= earliest else moment + timedelta(days=1)
