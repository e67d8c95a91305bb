"""Reading jobs back for the people who follow them: the latest ones, of a status, kind or campaign."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from service.db.models import UNFINISHED_JOB, Job
from service.jobs.runner import asked_to_stop


def latest_jobs(
    session: Session, status: str | None = None, kind: str | None = None, limit: int = 50, offset: int = 0,
    campaign_id: int | None = None,
) -> list[Job]:  # fmt: skip
    """Jobs newest first, optionally only those of one ``status``, ``kind`` or campaign (the generate and send
    jobs of ``campaign_id``). A status is the one each job shows: a running job of this process asked to stop is
    "cancelling", though its row still says running (its own import may hold the row's lock)."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id)
    if status is not None:
        asked, shown = asked_to_stop(), Job.status == status
        if status == "cancelling":
            shown = or_(shown, and_(Job.id.in_(asked), Job.status.in_(UNFINISHED_JOB)))
        elif status in UNFINISHED_JOB:
            shown = and_(shown, Job.id.not_in(asked))
        query = query.where(shown)
    if kind is not None:
        query = query.where(Job.kind == kind)
    if campaign_id is not None:
        query = query.where(Job.campaign_id == campaign_id)
    return list(session.scalars(query.limit(limit).offset(offset)))
