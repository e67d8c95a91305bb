"""Reading jobs back for the people who follow them, through the API (GET /jobs) or `tailor jobs`: the latest
ones, of a status, kind or campaign, and one job as it is shown."""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from service.db.models import UNFINISHED_JOB, Job
from service.errors import NotFound
from service.jobs.runner import asked_to_stop, held_progress
from service.schemas import JobOut


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


def find_job(session: Session, job_id: str) -> Job:
    """The job with this id; NotFound naming it when there is none (or none any more: TAILOR_JOBS_KEEP_DAYS)."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


def job_out(job: Job) -> JobOut:
    """The job's row as it is shown, with what this process holds in memory about it (held_progress)."""
    return JobOut.model_validate(job, from_attributes=True).model_copy(update=held_progress(job))
