"""Creating and reading campaigns; generating and sending them runs as jobs (service.pipeline)."""

from __future__ import annotations

from typing import get_args

from sqlalchemy import ScalarSelect, delete, func, select, union_all, update
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.db.batches import batches
from service.db.models import UNFINISHED_JOB, Brand, Campaign, DeletedCampaign, Draft, Job
from service.db.session import dialect_insert, one_submission_at_a_time
from service.errors import CampaignNotFound, Conflict, InvalidInput, Problem, Remedy
from service.forecasts import current_forecast
from service.jobs.recovery import drafts_being_sent, flag_interrupted_sends, interrupted_sends
from service.performance import campaign_performance, send_counts
from service.schemas import CampaignIn, CampaignOut, DraftStatus
from service.send_times import waiting_drafts


def ensure_brand(session: Session, slug: str) -> Brand:
    """The brand row for a brand kit in prompts/brands (or TAILOR_BRANDS_DIR), created on first use; the kit is
    read each time, so that one a shop broke since is refused naming what is wrong, not met by the job later."""
    from generation.brands import brand_names, load_brand
    from generation.errors import BrandKitInvalid

    try:
        if slug not in brand_names():
            problem = f"unknown brand '{slug}', use one of {', '.join(brand_names())}"
            raise InvalidInput("campaign", [Problem(None, "brand", problem, "field")])
        kit = load_brand(slug)
    except BrandKitInvalid as error:
        raise InvalidInput("campaign", [Problem(None, "brand", str(error), "field")]) from error
    brand = session.scalar(select(Brand).where(Brand.slug == slug))
    if brand is None:  # unless a request at the same moment created it first: then that one
        add = dialect_insert(session)(Brand).values(slug=slug, name=kit.name)
        session.execute(add.on_conflict_do_nothing(index_elements=[Brand.slug]))
        brand = session.scalar(select(Brand).where(Brand.slug == slug))
    return brand


def create_campaign(session: Session, spec: CampaignIn) -> Campaign:
    """A new campaign, checked first as GET /audience checks a query (its fields and values against the shop's
    profiles, not only its syntax), so that a query the generate job could not run is a 422 now."""
    if spec.audience_query:
        from service.audiences import choose_today

        choose_today(
            session, spec.campaign_type, spec.audience_query, what="campaign", field="audience_query",
            field_kind="field", outcome="rejected, nothing was written",
        )  # fmt: skip
    brand = ensure_brand(session, spec.brand)
    campaign = Campaign(
        id=_next_id(session),
        name=spec.name,
        brand_id=brand.id,
        campaign_type=spec.campaign_type,
        audience_query=spec.audience_query,
        max_customers=spec.max_customers,
        holdout_share=spec.holdout_share,
        status="created",
    )
    session.add(campaign)
    session.flush()
    return campaign


def _next_id(session: Session) -> ScalarSelect[int] | None:
    """On SQLite, an id above every campaign's, deleted ones included (SQLite would give a deleted campaign's id
    again: an integration that kept it would read another campaign), as SQL that the INSERT computes: SQLite
    lets one writer at a time, so two campaigns created at the same moment get different ids (read before the
    INSERT, both had the same). Elsewhere None, for the sequence, which never gives one twice."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    ids = union_all(select(Campaign.id), select(DeletedCampaign.id)).subquery()
    return select(func.coalesce(func.max(ids.c.id), 0) + 1).scalar_subquery()


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise _not_found(session, campaign_id)
    return campaign


def hold_campaign(session: Session, campaign_id: int) -> Campaign:
    """The campaign, kept from being deleted until this transaction ends (on PostgreSQL its row is locked against a
    delete; on SQLite a deletion, written before it reads the jobs, sees this one), or CampaignNotFound, saying when
    it was deleted, for one deleted meanwhile: PostgreSQL lets a deletion whose checks read the jobs run beside a
    request or job that read the campaign before it committed (delete_campaign), which then waits for it here. A
    request to generate said a job was "already" generating it, and a send job went on, sending nothing."""
    held = {"read": True, "key_share": True}
    campaign = session.get(Campaign, campaign_id, with_for_update=held, populate_existing=True)
    if campaign is None:
        raise _not_found(session, campaign_id)
    return campaign


def _not_found(session: Session, campaign_id: int) -> CampaignNotFound:
    deleted = session.get(DeletedCampaign, campaign_id)
    if deleted is not None:
        return CampaignNotFound(
            f"Campaign {campaign_id} ('{deleted.name}') was deleted on {deleted.deleted_at:%Y-%m-%d %H:%M} UTC."
        )
    return CampaignNotFound(f"Campaign {campaign_id} does not exist.")


def start_generating(session: Session, campaign_id: int) -> Campaign:
    """Mark the campaign "generating" for a job about to be queued; Conflict while one is queued or running for
    it, while a send job or a refresh of its drafts (service.refreshed_facts) is, and once it has sent email (its
    audience and drafts are then the record of what went out: generating it again took in customers beyond its
    `max_customers` and made it "ready" again). One
    conditional UPDATE, so that of two requests at the same moment only one gets the campaign; the campaign held
    first (hold_campaign), so that one deleted meanwhile is a CampaignNotFound saying so. The checks of the jobs are
    made one submission at a time (one_submission_at_a_time), until the session commits: a refresh queued between
    them and the UPDATE went on beside the generation, both writing the same drafts."""
    one_submission_at_a_time(session)
    campaign = hold_campaign(session, campaign_id)
    if sent := _sent(session, campaign_id):
        raise Conflict(
            f"Campaign {campaign_id} has {sent}: it is the record of what went out, and is not written again. "
            "Create a new campaign for the customers it did not reach."
        )
    if job_id := unfinished_job(session, campaign_id, "send"):  # it would send, and generating make it "ready" again
        raise Conflict.naming(
            cancel_job(job_id),
            lambda cancel: (
                f"Campaign {campaign_id} is being sent: it is not written again once it sends. Cancel its "
                f"job ({cancel}) first, or create a new campaign."
            ),
        )
    if job_id := unfinished_job(session, campaign_id, "refresh_facts"):  # it would refresh drafts written anew
        raise Conflict.naming(
            cancel_job(job_id),
            lambda cancel: (
                f"Campaign {campaign_id}'s drafts are being updated with the catalog's facts: wait for that job, "
                f"or cancel it ({cancel}) first."
            ),
        )
    from service.jobs.recovery import STALE_AFTER, flag_interrupted_sends

    flag_interrupted_sends(session, campaign_id)  # drafts a stopped sender left "sending": back to review, flagged
    if session.scalar(select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "sending").limit(1)):
        hours = STALE_AFTER.total_seconds() / 3600
        raise Conflict(  # the server's due-check, whose job names no campaign, is mailing one of its drafts
            f"Campaign {campaign_id} is being sent (a draft of it is with the mail server now): it is not written "
            f"again once it sends. Try again in a moment; a draft claimed by a sender that stopped is put back to "
            f"review after {hours:g} hour{'s' if hours != 1 else ''}."
        )
    claimed = session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id, Campaign.status != "generating")
        .values(status="generating")
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        raise Conflict(
            f"Campaign {campaign_id} is already being generated; wait for that job to finish, then generate it again."
        )
    session.refresh(campaign)
    return campaign


def _sent(session: Session, campaign_id: int) -> str | None:
    """What the campaign has sent, in words after "has" ("sent 3 emails", "perhaps sent 1 email", "sent 3 emails, 1
    of them perhaps"), or None when it has sent none. An email perhaps sent (Send.perhaps_sent) counts: its customer
    may have it, with its links; the words say so, where "sent 1 email" made a person look for one in the figures."""
    sent, perhaps = send_counts(session, campaign_id)
    if not sent:
        return None
    emails = f"{sent:,} email{'s' if sent != 1 else ''}"
    if not perhaps:
        return f"sent {emails}"
    return f"perhaps sent {emails}" if perhaps == sent else f"sent {emails}, {perhaps:,} of them perhaps"


def _being_mailed(session: Session, campaign_id: int, put_back: bool) -> bool:
    """Whether a sender holds a claim on one of the campaign's drafts now (service.pipeline.sending): the due-check's
    job names no campaign, so the job checks miss it. Claims left by a sender that stopped do not count: none will
    end, and they kept the campaign forever; with ``put_back`` they are put back to review first, as a send does when
    it begins (service.jobs.recovery)."""
    if put_back:
        flag_interrupted_sends(session, campaign_id)
    claims = drafts_being_sent(session, campaign_id)
    return len(claims) > len(interrupted_sends(session, claims))


def delete_campaign(session: Session, campaign_id: int) -> None:
    """Delete a campaign that sent nothing, with its drafts, their variants and reviews (the database cascades,
    so a big campaign is not loaded to be deleted). Refused (Conflict) while it is being generated, and once it
    has sent email: those sends and their events are the shop's record and what scoring learns from; and while a
    send job or a refresh of its drafts (service.refreshed_facts) is queued or running: the refresh went on writing
    drafts deleted under it, and failed saying one "does not exist". Each refusal for a job names the job to cancel.
    Refused too while the due-check mails one of its drafts (_being_mailed): the deletion waited for the email and
    was refused as having sent it, or went first and the due-check reported the campaign deleted.

    The checks are made first as reads, which wait for no lock: a deletion refused then is refused at once, where it
    waited for the transaction in which a sender records an email (the campaign held: hold_campaign) or, on SQLite,
    for any writer. They are made again once the deletion is written, and the campaign's row locked, before they
    read the jobs: a job queued for the campaign at the same moment is then either one they see or one that waits for
    the deletion and finds the campaign gone (SQLite lets one writer at a time; on PostgreSQL the jobs and a request to
    generate lock the row: hold_campaign), and so is a sender's claim on one of its drafts (_hold_claimable_drafts)."""
    campaign = get_campaign(session, campaign_id)
    _refuse_deletion(session, campaign_id, campaign.status, put_back=False)
    session.add(DeletedCampaign(id=campaign.id, name=campaign.name))
    session.flush()
    session.refresh(campaign, with_for_update=True)
    _hold_claimable_drafts(session, campaign_id)
    _refuse_deletion(session, campaign_id, campaign.status, put_back=True)
    session.expunge(campaign)
    session.execute(delete(Campaign).where(Campaign.id == campaign_id))


def _refuse_deletion(session: Session, campaign_id: int, status: str, put_back: bool) -> None:
    """Conflict, saying why, when the campaign (in ``status``) may not be deleted now (delete_campaign); with
    ``put_back``, claims on its drafts left by a sender that stopped are put back to review (_being_mailed)."""
    if status == "generating":
        raise Conflict.naming(
            cancel_first(session, campaign_id, "generate"),
            lambda first: f"Campaign {campaign_id} is being generated: {first}",
        )
    if job_id := unfinished_job(session, campaign_id, "send"):
        raise Conflict.naming(
            cancel_job(job_id), lambda cancel: f"Campaign {campaign_id} is being sent: cancel its job ({cancel}) first."
        )
    if job_id := unfinished_job(session, campaign_id, "refresh_facts"):
        raise Conflict.naming(
            cancel_job(job_id),
            lambda cancel: (
                f"Campaign {campaign_id}'s drafts are being updated with the catalog's facts: cancel its job "
                f"({cancel}) first."
            ),
        )
    if _being_mailed(session, campaign_id, put_back):
        raise Conflict(f"Campaign {campaign_id} has a draft being sent now: try again once the send is over.")
    if sent := _sent(session, campaign_id):
        their = "its" if sent.endswith(" 1 email") else "their"
        raise Conflict(f"Campaign {campaign_id} has {sent}: it is kept with {their} results.")


def _hold_claimable_drafts(session: Session, campaign_id: int) -> None:
    """On PostgreSQL, lock the campaign's drafts that a sender may claim (approved) or holds (sending) until the
    deletion ends: a claim committed since is then seen by the checks that follow (the row locked as it is now), and
    one made later waits for the deletion and finds its draft gone. A claim committed between the checks and the
    DELETE went unseen: the deletion went on from under a draft claimed to be mailed. The DELETE locks every draft
    anyway; a send takes no lock on the campaign for each claim. SQLite lets one writer at a time."""
    if session.get_bind().dialect.name == "sqlite":
        return
    claimable = select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status.in_(("approved", "sending")))
    session.execute(claimable.with_for_update())


def unfinished_job(session: Session, campaign_id: int, kind: str) -> str | None:
    """The id of the campaign's latest job of this kind still queued or running, if any."""
    return session.scalar(
        select(Job.id)
        .where(Job.campaign_id == campaign_id, Job.kind == kind, Job.status.in_(UNFINISHED_JOB))
        .order_by(Job.created_at.desc())
        .limit(1)
    )


def cancel_job(job_id: str) -> Remedy:
    """How a job is stopped, as a request and as a command."""
    return Remedy(api=f"POST /jobs/{job_id}/cancel", command_line=f"`tailor jobs cancel {job_id}`")


def cancel_first(session: Session, campaign_id: int, kind: str) -> Remedy:
    """What to do first about the campaign's unfinished job of this kind, naming it (or where it is listed)."""
    if job_id := unfinished_job(session, campaign_id, kind):
        cancel = cancel_job(job_id)
        return Remedy(f"cancel its job ({cancel.api}) first.", f"cancel its job ({cancel.command_line}) first.")
    return Remedy(
        f"cancel its job first (GET /jobs?kind={kind} lists it).",
        f"cancel its job first (`tailor jobs list --kind {kind}` lists it).",
    )


def list_campaigns(
    session: Session, status: str | None = None, limit: int | None = None, offset: int = 0
) -> list[Campaign]:
    """Campaigns newest first, optionally of one ``status``, a page at a time."""
    query = select(Campaign).order_by(Campaign.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list(session.scalars(query))


def draft_counts(session: Session, campaign_id: int) -> dict[str, int]:
    """The campaign's drafts by status, every status named (0 for none), and their ``total``: each draft counted
    once, so ``flagged`` is the flagged drafts still waiting for a person (one approved after its flag counts as
    approved)."""
    return draft_counts_of(session, [campaign_id])[campaign_id]


def draft_counts_of(session: Session, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    """``draft_counts`` of each of these campaigns, read in one statement (a list of every campaign read them with
    one statement per campaign)."""
    counts = {campaign_id: dict.fromkeys(get_args(DraftStatus), 0) for campaign_id in campaign_ids}
    for ids in batches(campaign_ids):
        rows = session.execute(
            select(Draft.campaign_id, Draft.status, func.count())
            .where(Draft.campaign_id.in_(ids))
            .group_by(Draft.campaign_id, Draft.status)
        )
        for campaign_id, status, count in rows:
            counts[campaign_id][status] = count
    for by_status in counts.values():
        by_status["total"] = sum(by_status.values())
    return counts


def campaign_out(session: Session, campaign: Campaign) -> CampaignOut:
    return CampaignOut(
        id=campaign.id,
        name=campaign.name,
        brand=campaign.brand.slug,
        campaign_type=campaign.campaign_type,
        audience_query=campaign.audience_query,
        max_customers=campaign.max_customers,
        status=campaign.status,
        created_at=campaign.created_at,
        drafts=draft_counts(session, campaign.id),
        stats=campaign.stats or {},
        forecast=current_forecast(session, campaign),
        performance=campaign_performance(session, campaign.id),
        scheduled_at=campaign.scheduled_at,
        at_best_hour=campaign.at_best_hour,
        **waiting_drafts(session, campaign, utcnow()),
        holdout_share=campaign.holdout_share,
    )
