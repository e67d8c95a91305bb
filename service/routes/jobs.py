"""Jobs and training: start training in the background, read any job's status and progress."""

from fastapi import APIRouter, Query, status

from service.bounds import TUNING_TRIALS_MAX
from service.deps import (
    ApiKeyDep,
    OffsetQuery,
    RecommenderQuery,
    SessionDep,
    StateDep,
    require_tunable,
)
from service.jobs.listing import find_job, job_out, latest_jobs
from service.jobs.runner import request_cancel
from service.pipeline.training import train_all
from service.routes.responses import KEYED, errors
from service.schemas import DatabaseId, JobKind, JobOut, JobStarted, JobStatus

router = APIRouter(tags=["jobs"], responses=errors(*KEYED))


@router.post(
    "/train",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobStarted,
)
def train(
    state: StateDep, _key: ApiKeyDep, model: RecommenderQuery = None,
    tune: int = Query(
        0, ge=0, le=TUNING_TRIALS_MAX, description="Optuna trials for the recommender's hyperparameters first"
    ),
) -> JobStarted:  # fmt: skip
    """Recompute audiences and train the recommender and the scoring model as new versions (a job); an unknown
    `model`, or `tune` for a model without a hyperparameter search, is refused (422) before any job starts. With
    `tune`, the recommender's hyperparameters are searched on a validation split of the shop's data first and kept
    with the model."""
    require_tunable(model, tune)
    job_id = state.jobs.submit("train", train_all, engine=state.engine, model=model, tune_trials=tune)
    return JobStarted.of(job_id)


@router.get("/jobs", response_model=list[JobOut])
def list_jobs(
    session: SessionDep, _key: ApiKeyDep,
    status: JobStatus | None = Query(None, description="only jobs in this status"),
    kind: JobKind | None = Query(None, description="only jobs of this kind"),
    campaign_id: DatabaseId | None = Query(None, description="only the jobs (generate, send) of this campaign"),
    limit: int = Query(50, ge=1, le=500), offset: OffsetQuery = 0,
) -> list[JobOut]:  # fmt: skip
    """The latest jobs, newest first, with their status and progress: what is running or queued now
    (`?status=running`), or a job whose id was lost, such as the send of one campaign
    (`?kind=send&campaign_id=7`)."""
    return [job_out(job) for job in latest_jobs(session, status, kind, limit, offset, campaign_id)]


@router.get("/jobs/{job_id}", response_model=JobOut, responses=errors(404))
def get_job(job_id: str, session: SessionDep, _key: ApiKeyDep) -> JobOut:
    """A job's status and `progress` (0 to 1). A failed job's `error` says why in one line; when the job
    rejected its input, its `result` is the API's error body, with the problems (row, column, message)."""
    return job_out(find_job(session, job_id))


@router.post("/jobs/{job_id}/cancel", response_model=JobOut, responses=errors(404, 409))
def cancel_job(job_id: str, state: StateDep, _key: ApiKeyDep) -> JobOut:
    """Stop a job: a queued one is `cancelled` at once, a running one is `cancelling` until its next step, then
    `cancelled` (poll GET /jobs/{job_id}). What a cancelled job had written in one transaction (an import, a
    training) is rolled back; a generation keeps the drafts it saved (the campaign is `failed` and can be
    generated again) and a send the emails it sent (the rest stay approved). A job that ended is a 409."""
    return job_out(request_cancel(state.engine, job_id, getattr(state.jobs, "announce", None)))
