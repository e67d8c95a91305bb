"""Campaigns: create, read, generate drafts (a background job) and send the approved ones (a job)."""

from fastapi import APIRouter, Query, status

from service import campaigns as campaign_ops
from service import send_times
from service.bounds import COUNT_MAX
from service.db.session import take_the_write_lock
from service.deps import ApiKeyDep, OffsetQuery, SessionDep, StateDep
from service.errors import Conflict
from service.experiments import set_holdout_share
from service.pipeline.generate import generate_campaign, require_models
from service.pipeline.sending import send_campaign
from service.routes.responses import KEYED, errors
from service.schemas import CampaignIn, CampaignOut, CampaignStatus, DatabaseId, GivenMoment, JobStarted

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=errors(*KEYED))


@router.post("", response_model=CampaignOut, status_code=status.HTTP_201_CREATED, responses=errors(413))
def create(spec: CampaignIn, session: SessionDep, _key: ApiKeyDep) -> CampaignOut:
    """A new campaign (status `created` until generated); an unknown brand or an audience query naming what the
    profiles do not have is refused (422) and nothing is created."""
    campaign = campaign_ops.create_campaign(session, spec)
    return campaign_ops.campaign_out(session, campaign)


@router.get("", response_model=list[CampaignOut])
def list_all(
    session: SessionDep, _key: ApiKeyDep,
    status: CampaignStatus | None = Query(None, description="only campaigns in this status"),
    limit: int = Query(100, ge=1, le=1000), offset: OffsetQuery = 0,
) -> list[CampaignOut]:  # fmt: skip
    """Campaigns newest first, a page at a time, each with its status, draft counts by status, generation stats
    (LLM calls, cost) and forecast."""
    campaigns = campaign_ops.list_campaigns(session, status, limit, offset)
    return [campaign_ops.campaign_out(session, c) for c in campaigns]


@router.get("/{campaign_id}", response_model=CampaignOut, responses=errors(404))
def get(campaign_id: DatabaseId, session: SessionDep, _key: ApiKeyDep) -> CampaignOut:
    """One campaign with its status, draft counts by status, generation stats (LLM calls, cost) and forecast."""
    return campaign_ops.campaign_out(session, campaign_ops.get_campaign(session, campaign_id))


@router.delete("/{campaign_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404, 409))
def delete(campaign_id: DatabaseId, session: SessionDep, _key: ApiKeyDep) -> None:
    """Delete a campaign that sent nothing, with its drafts and their reviews. Refused (409) while it is being
    generated, or a send job or a refresh of its drafts with the catalog's facts (`refresh_facts`) is queued or
    running for it (the message names the job to cancel), while the due-check mails one of its drafts, and once
    it has sent email (kept with its results)."""
    campaign_ops.delete_campaign(session, campaign_id)


@router.post(
    "/{campaign_id}/generate",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobStarted,
    responses=errors(404, 409),
)
def generate(campaign_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep) -> JobStarted:
    """Start generating the campaign's drafts; poll GET /jobs/{job_id} for progress. Drafts a person edited,
    approved or rejected are kept; the untouched ones are written again. Refused with 409 before the models are
    trained, while the campaign is already being generated, while its drafts are being refreshed with the catalog's
    facts (a `refresh_facts` job), and once it has sent email."""
    campaign_ops.start_generating(session, campaign_id)  # rolled back with the request if the models are missing
    require_models(state.models)
    session.commit()  # the job reads the campaign in its own session
    job_id = state.jobs.submit(
        "generate", generate_campaign, engine=state.engine, models=state.models, campaign_id=campaign_id
    )
    return JobStarted.of(job_id)


@router.post(
    "/{campaign_id}/send",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobStarted,
    responses=errors(404, 409),
)
def send(
    campaign_id: DatabaseId, session: SessionDep, state: StateDep, _key: ApiKeyDep,
    holdout_share: float | None = Query(
        None, ge=0, lt=1, allow_inf_nan=False, description="run as an experiment holding out this share"
    ),
    batch_size: int | None = Query(
        None, ge=1, le=COUNT_MAX, description="send N emails now, to the first customers in the audience's order; "
        "drafts held back, deferred by the contact policy or held out by the experiment do not count towards N",
    ),
    at_best_hour: bool = Query(False, description="mail each customer at their best send hour, not all now"),
    at: GivenMoment | None = Query(None, description="schedule the campaign: send at this moment (ISO 8601 with "
                                   "its time; with a time zone it is converted to UTC, without one it is UTC), "
                                   "not now"),
) -> JobStarted:  # fmt: skip
    """Send the approved drafts of the campaign through the configured SMTP server (a job). In an experiment,
    send in batches so that Thompson sampling can move later sends towards the variant that is ahead. With
    `at_best_hour`, customers whose best hour is now are mailed at once and the others when it comes (the job's
    result says how many wait and when the next falls due; the server sends them as they fall due). With `at`,
    the approved drafts wait for that moment (with `at_best_hour`, for each customer's best hour from then on)
    and the server sends them then, as it does drafts approved later; another `at` reschedules, and a send
    without it unschedules the campaign and sends now. Each request decides for every approved draft not yet
    sent, whatever time an earlier request gave it. A moment that has passed or lies more than 365 days ahead, a
    day without a time, or `at` with `batch_size`, is a 422. A campaign deleted while the request is answered is a
    404 naming it, and no job is queued; once its job is queued, a deletion of the campaign is refused (409) until
    the job ends."""
    when = send_times.scheduled_moment(at, batch_size)
    # Not deleted before this request's writes are committed (its holdout share's UPDATE found no row: a 500); one
    # deleted after, before its job is queued, is a 404 (the runner holds the campaign as it writes the job's row).
    take_the_write_lock(session)
    campaign = campaign_ops.hold_campaign(session, campaign_id)
    if campaign.status == "generating":  # generating again would make a campaign that sent "ready"
        first = campaign_ops.cancel_first(session, campaign_id, "generate")
        raise Conflict(f"Campaign {campaign_id} is being generated: send it once it is ready, or {first.api}")
    set_holdout_share(session, campaign, holdout_share)
    if at_best_hour:
        send_times.require_send_history(session)
    session.commit()  # the job reads the campaign in its own session
    job_id = state.jobs.submit(
        "send", send_campaign, engine=state.engine, campaign_id=campaign_id, limit=batch_size,
        at_best_hour=at_best_hour, at=when, models=state.models,
    )  # fmt: skip
    return JobStarted.of(job_id)
