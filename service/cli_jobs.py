"""`tailor jobs list|show|cancel`: the jobs the server and the commands ran (imports, training, generation, sends,
the due-check), read and cancelled as GET /jobs, GET /jobs/{id} and POST /jobs/{id}/cancel do (service.jobs), for
a shop with no server to ask. Registered on the `jobs` group by service.cli; heavy imports happen inside the
commands."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli_bounds import OFFSET, ROW_ID

LISTED = 20  # jobs `tailor jobs list` shows unless told otherwise: a screenful

JobId = Annotated[str, typer.Argument(metavar="JOB_ID", help="the job's id (`tailor jobs list`)")]


def jobs_list(
    kind: Annotated[str | None, typer.Option(help="only jobs of this kind, e.g. send_due or generate")] = None,
    status: Annotated[str | None, typer.Option(help="only jobs in this status, e.g. running or failed")] = None,
    campaign: Annotated[
        int | None, typer.Option("--campaign", **ROW_ID, help="only the jobs (generate, send) of this campaign")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="at most this many jobs")] = LISTED,
    offset: Annotated[int, typer.Option(**OFFSET, help="the jobs after this many: the next page of a listing")] = 0,
) -> None:  # fmt: skip
    """The latest jobs, newest first: each one's id (for `tailor jobs show`), kind, status, progress, when it started
    and ended, and its last message or its error. A listing with more after it says the --offset of the next."""
    from typing import get_args

    from service.cli import _engine_after_crashes, _one_of
    from service.db.session import session_scope
    from service.jobs.listing import job_out, latest_jobs
    from service.schemas import JobKind, JobStatus

    if kind is not None:
        _one_of(kind, get_args(JobKind), "--kind")
    if status is not None:
        _one_of(status, get_args(JobStatus), "--status")
    with session_scope(_engine_after_crashes()) as session:
        # One job more than asked tells whether a next page has any: a full last page offers none.
        jobs = [job_out(job) for job in latest_jobs(session, status, kind, limit + 1, offset, campaign)]
    more, jobs = len(jobs) > limit, jobs[:limit]
    for job in jobs:
        typer.echo(_job_line(job))
    if not jobs:
        beyond = f" after the first {offset:,}" if offset else ""
        asked = "".join(f" {what} {value}" for what, value in _asked(kind, status, campaign))
        typer.echo(f"no jobs{asked}{beyond}", err=True)
    elif more:  # --limit stops at 500: older jobs are on the next page
        typer.echo(f"jobs {offset + 1:,} to {offset + limit:,} shown: --offset {offset + limit} for the next", err=True)


def _asked(kind: str | None, status: str | None, campaign: int | None) -> list[tuple[str, object]]:
    """What the listing was kept to, in words: [("of the kind", "send"), ...]."""
    asked = (("of the kind", kind), ("with the status", status), ("of campaign", campaign))
    return [(what, value) for what, value in asked if value is not None]


def _job_line(job) -> str:
    """ "<id>  send_due  succeeded  100%  2026-12-04 10:00:01 UTC to 10:00:04  <its error or last message>"."""
    campaign = f" of campaign {job.campaign_id}" if job.campaign_id is not None else ""
    said = f"  {job.error or job.message}" if job.error or job.message else ""
    return f"{job.id}  {job.kind}{campaign}  {job.status}  {job.progress:.0%}  {_when(job)}{said}"


def _when(job) -> str:
    """When the job was made and, once it ended, when it did (its row's last write)."""
    from service.db.models import UNFINISHED_JOB

    started = f"{job.created_at:%Y-%m-%d %H:%M:%S} UTC"
    if job.status in UNFINISHED_JOB:
        return f"{started}, not ended"
    ended, same_day = job.updated_at, job.updated_at.date() == job.created_at.date()
    return f"{started} to {ended:%H:%M:%S}" if same_day else f"{started} to {ended:%Y-%m-%d %H:%M:%S}"


def jobs_show(job_id: JobId) -> None:
    """One job: its kind, campaign, status, progress, times and message, then its error (why it failed, in a line) and
    its result (what it did, as JSON: a send's counts, a refused file's problems)."""
    import json

    from service.cli import _engine_after_crashes
    from service.db.session import session_scope
    from service.jobs.listing import find_job, job_out

    with session_scope(_engine_after_crashes()) as session:
        job = job_out(find_job(session, job_id))
    campaign = f" of campaign {job.campaign_id}" if job.campaign_id is not None else ""
    typer.echo(f"job {job.id}: {job.kind}{campaign}, {job.status}")
    said = job.message and job.status != "failed"  # a failed job's message ("failed: ...") is its error, below
    typer.echo(f"progress: {job.progress:.0%} ({job.done:,} of {job.total:,}){': ' + job.message if said else ''}")
    typer.echo(f"created {job.created_at:%Y-%m-%d %H:%M:%S} UTC, last written {job.updated_at:%Y-%m-%d %H:%M:%S} UTC")
    if job.error:
        typer.echo(f"error: {job.error}")
    if job.result:
        typer.echo("result:")
        typer.echo(json.dumps(job.result, indent=2, ensure_ascii=False, default=str))


def jobs_cancel(job_id: JobId) -> None:
    """Stop a job: a queued one is cancelled at once, a running one (of the server, or of a command in another terminal)
    stops at its next step. What a cancelled job wrote in one transaction (an import, a training) is rolled back; a
    generation keeps the drafts it saved and a send the emails it sent."""
    from service.cli import _engine_after_crashes
    from service.jobs.listing import job_out
    from service.jobs.runner import request_cancel

    job = job_out(request_cancel(_engine_after_crashes(), job_id))
    if job.status == "cancelling":
        typer.echo(f"job {job.id} ({job.kind}) asked to stop: it stops at its next step (`tailor jobs show {job.id}`)")
    else:
        typer.echo(f"job {job.id} ({job.kind}) {job.status}{': ' + job.error if job.error else ''}")
