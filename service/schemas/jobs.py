"""Background jobs: their kinds and statuses, the answer that one was queued, and a job as GET /jobs gives it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from service.schemas.common import UtcMoment

JobStatus = Literal["queued", "running", "cancelling", "succeeded", "failed", "cancelled"]
# What the service runs as jobs (the names its runners are given): imports, the audience refresh after one,
# trainings (asked for, and the scheduled retrain), generation, sends (asked for, and the due-check's).
JobKind = Literal["import", "audience", "train", "retrain", "generate", "send", "send_due", "refresh_facts"]


class JobStarted(BaseModel):
    """A job was queued: GET `status_url` for its status, progress and, once it ends, its result or error."""

    job_id: str
    status_url: str

    @classmethod
    def of(cls, job_id: str) -> JobStarted:
        return cls(job_id=job_id, status_url=job_status_url(job_id))


def job_status_url(job_id: str) -> str:
    """Where a client follows a job: GET it for the status, progress and result (under TAILOR_API_ROOT_PATH, the
    prefix a proxy serves the API under)."""
    from service.settings import ApiSettings

    return f"{ApiSettings().root_path}/jobs/{job_id}"


class JobOut(BaseModel):
    id: str
    kind: JobKind
    campaign_id: int | None = Field(
        None, description="the campaign a generate, send or refresh_facts job works on (the due-check's sends span "
        "campaigns: "
        "null, as for the other kinds; null too for a send job, or a generate job that did not succeed, made before "
        "jobs named their campaign: migration 0017)",
    )  # fmt: skip
    status: JobStatus = Field(
        description="queued, running, succeeded or failed; cancelling (asked to stop, until its next step) and "
        "cancelled (POST /jobs/{id}/cancel, or Ctrl-C on the command that ran it)"
    )
    progress: float = Field(
        description="from 0 to 1, done of total; it never goes back while the job runs. A generate job's figures "
        "count drafts (0 of its audience while it ranks products, whose own count the message says): its progress "
        "covers the ranking first, chunk by chunk over the bar's first tenth, then the drafts written over the rest"
    )
    done: int
    total: int
    message: str = Field(
        description="the step it is at; once it failed, `failed: ` and its error; once cancelled while it ran, its "
        "error: `cancelled on request after ...` and the step it stopped at"
    )
    result: dict[str, Any]
    error: str | None
    created_at: UtcMoment
    updated_at: UtcMoment
