"""Drafts waiting for a time of their customer's day, moved with the customer to another zone.

A draft's send time at its customer's best hour, or a contact policy's deferral (which keeps the time of day it
was meant for), is a time of day on the customer's clock, kept as a UTC moment (service.send_times). A customers
file that gives a customer another zone (or takes theirs away: the shop's clock then) moves each of their approved
drafts still to come to the same date and time of day on the new clock, or, where that has passed, to its next
coming: a New Yorker who moved to Berlin got their 09:00 email at 15:00. Drafts sent, being sent or due already
are left, as is a draft waiting for its campaign's scheduled moment, one moment for everyone whatever their zone,
and one deferred from no send time of its own (``Draft.at_wait_end``: a campaign sent now), which waits for the
contact policy's wait to end whatever the clock: moved east, it fell due before the wait ended and was deferred again
to the next day at that hour. The deferral's note is said at the new moment; the send applies the contact policy
again when the draft falls due: a draft moved east to an hour before its wait ends is deferred again, to that hour
on the first day the wait has ended.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from service.clock import at_time_of_day, on_the_clock, wall_clock
from service.db.batches import batches
from service.db.models import Campaign, Draft
from service.pipeline.contact_policy import moved_deferral
from service.planned_scores import rescore


def move_to_new_zones(session: Session, zones: dict[int, tuple[str, str]], now: datetime) -> int:
    """Move the waiting drafts of the customers in ``zones`` (by customer row id: their clock's zone before and
    after, the shop's for one without a zone of their own) from the old clock's time of day to the new's (see the
    module's docstring), each scored again for its new moment (service.planned_scores); how many were moved (a
    draft a send claimed meanwhile is not)."""
    moves = []
    for customer_ids in batches(list(zones)):
        waiting = session.execute(
            select(Draft.id, Draft.customer_id, Draft.send_after, Draft.flag_reasons)
            .join(Campaign, Campaign.id == Draft.campaign_id)
            .where(Draft.customer_id.in_(customer_ids), Draft.status == "approved", Draft.send_after > now)
            .where(Draft.at_wait_end.is_(False))  # the contact policy's wait's end, whatever the clock
            .where(or_(Campaign.scheduled_at.is_(None), Draft.send_after != Campaign.scheduled_at))
            .order_by(Draft.id)
        )
        for draft_id, customer_id, send_after, reasons in waiting:
            old_zone, new_zone = (ZoneInfo(zone) for zone in zones[customer_id])
            moment = _on_new_clock(send_after, old_zone, new_zone, now)
            if moment != send_after:
                moves.append({
                    "draft_id": draft_id, "send_after": moment,
                    "flag_reasons": moved_deferral(reasons, send_after, moment),
                })  # fmt: skip
    # by primary key, many rows to a statement; a draft a send claimed meanwhile is left to it, and not counted (the
    # table's statement: the ORM's update by primary key gives no count of the rows it changed)
    drafts = Draft.__table__
    moving = update(drafts).where(drafts.c.id == bindparam("draft_id"), drafts.c.status == "approved")
    moved = sum(session.execute(moving, batch).rowcount for batch in batches(moves))
    rescore(session, [move["draft_id"] for move in moves])  # figures for the hour they now go at
    return moved


def _on_new_clock(moment: datetime, old_zone: ZoneInfo, new_zone: ZoneInfo, now: datetime) -> datetime:
    """The moment the new clock shows the date and time of day the old one showed at ``moment``, or where that has
    passed, the first after ``now`` at that time of day."""
    shown = wall_clock(moment, old_zone)
    moved = on_the_clock(shown, new_zone)
    return moved if moved > now else at_time_of_day(now, shown.time(), new_zone)
