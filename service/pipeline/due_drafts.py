"""Which approved drafts a send mails now (service.pipeline.sending mails them): those due (their send time, and
their time to be tried again after an address refused for now, come), less those held back (stale copy, late for the
due-check), deferred by the contact policy, or held out of an experiment; with those whose customer may not be mailed
any more, for the send to skip. And which campaigns have drafts due, for the periodic due-check."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select
from sqlalchemy.orm import Session, selectinload

from scoring.experiments import HOLDOUT
from service.clock import utcnow
from service.db.batches import batches
from service.db.models import Campaign, Customer, Draft, left_to_the_due_check
from service.db.session import session_scope
from service.draft_orders import AUDIENCE_ORDER
from service.experiments import ArmOutcomes, plan_arms
from service.pipeline.contact_policy import defer_recently_mailed
from service.pipeline.frames import MAILABLE
from service.pipeline.freshness import HeldBack, hold_back_late, hold_back_stale
from service.settings import ExperimentSettings, SendScheduleSettings


def _hold_out(session: Session, campaign: Campaign, draft_ids: list[int], outcomes: ArmOutcomes) -> dict[int, str]:
    """An experiment's arm for each draft of this batch that takes part in it (service.experiments.plan_arms, from
    the arms' ``outcomes`` as the send read them); held-out drafts get the status ``holdout``."""
    drafts = [
        draft
        for batch in batches(draft_ids)
        for draft in session.scalars(select(Draft).where(Draft.id.in_(batch)).options(selectinload(Draft.customer)))
    ]
    arms = plan_arms(session, campaign, drafts, outcomes)
    for draft in drafts:
        if arms.get(draft.id) == HOLDOUT:
            draft.status = "holdout"
    return arms


def _due_now(now: datetime, due_check: bool) -> list[Any]:
    """The conditions of an approved draft due now: its send time and its time to be tried again (either unset)
    have come. For the due-check, one of them must be set: the drafts a person's send left approved with neither
    (those after a batch, those approved since a send now) wait for a person's next send; the due-check mailed the
    campaign's every one of them once one address refused for now (or one draft deferred) fell due."""
    come = [
        or_(Draft.send_after.is_(None), Draft.send_after <= now),
        or_(Draft.retry_after.is_(None), Draft.retry_after <= now),
    ]
    return [left_to_the_due_check() if due_check else Draft.status == "approved", *come]


def due_draft_ids(campaign_id: int, now: datetime, due_check: bool):
    """The statement selecting the ids of the campaign's drafts due ``now``, in the audience's order."""
    return select(Draft.id).where(Draft.campaign_id == campaign_id, *_due_now(now, due_check)).order_by(*AUDIENCE_ORDER)


def drafts_to_mail(
    session: Session, campaign: Campaign, now: datetime, limit: int | None, due_check: bool, outcomes: ArmOutcomes
) -> tuple[list[int], HeldBack, int, dict[int, str]]:
    """The due drafts to mail now, with those held back (``hold_back_stale``; for the due-check, ``hold_back_late``
    first), how many were deferred (the contact policy) and each experiment draft's arm (held-out drafts are not
    mailed; allocated from the arms' ``outcomes``, read once however many times this looks for drafts). With
    ``limit``, drafts are taken until ``limit`` are left to mail: a held-back, deferred or held-out draft does not
    count towards it, as it leaves the due drafts (flagged, its send time moved on, or ``holdout``), nor does one
    whose customer may not be mailed any more (it is among those returned, to be marked skipped)."""
    schedule, conversion_window = SendScheduleSettings(), ExperimentSettings().conversion_window_days
    to_mail: list[int] = []
    late_limit = timedelta(hours=schedule.late_limit_hours)
    held_back = HeldBack()
    if due_check:
        hold_back_late(session, campaign.id, now, late_limit, held_back)
    deferred, arms, seen, to_skip = 0, {}, set(), 0
    while limit is None or len(to_mail) - to_skip < limit:
        # The due drafts are those to mail and those not seen yet (the others left them): the first ones, as many
        # as are to mail and still wanted, hold enough unseen ones. (Leaving out those to mail by NOT IN passed
        # PostgreSQL's 65,535 bound values once a batch_size was that large.)
        statement = due_draft_ids(campaign.id, now, due_check)
        wanted = limit - (len(to_mail) - to_skip) if limit else None
        due = [
            i for i in session.scalars(statement.limit(len(to_mail) + wanted) if limit else statement) if i not in seen
        ]
        due = due[:wanted] if limit else due
        if not due:
            break
        seen.update(due)
        fresh = hold_back_stale(session, due, held_back)
        # A customer who may not be mailed any more is skipped now, not deferred to be skipped later.
        unmailable = unmailable_drafts(session, fresh)
        mailable, later = defer_recently_mailed(
            session, [draft_id for draft_id in fresh if draft_id not in unmailable], now, schedule.min_days_between,
            holdout_days=conversion_window, timezone=schedule.timezone,
        )  # fmt: skip
        going = unmailable | set(mailable)
        fresh = [draft_id for draft_id in fresh if draft_id in going]
        deferred += later
        if campaign.holdout_share is not None and fresh:
            arms |= _hold_out(session, campaign, fresh, outcomes)
        added = [draft_id for draft_id in fresh if arms.get(draft_id) != HOLDOUT]
        to_mail, to_skip = to_mail + added, to_skip + len(unmailable.intersection(added))
        if limit is None:
            break
    return to_mail, held_back, deferred, arms


def unmailable_drafts(session: Session, draft_ids: list[int]) -> set[int]:
    """Of these drafts, those whose customer may not be mailed now (unsubscribed, no consent, a bounced address),
    told by the database as Customer.mailable tells it (frames.MAILABLE): loading each customer to ask, their
    profile and attributes parsed, took 6.1 s of the 10.5 s before a send of 100,000 drafts mailed its first (0.4 s
    now, profiled)."""
    unmailable = set()
    for batch in batches(draft_ids):
        unmailable.update(session.scalars(select(Draft.id).join(Customer).where(Draft.id.in_(batch), ~and_(*MAILABLE))))
    return unmailable


def due_campaigns(engine: Engine, now: datetime) -> list[int]:
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(Draft.campaign_id)
                .join(Campaign, Campaign.id == Draft.campaign_id)
                .where(*_due_now(now, due_check=True))
                .where(Campaign.status != "generating")  # sent at the first check once it is ready
                .distinct()
                .order_by(Draft.campaign_id)
            )
        )


def has_due_drafts(engine: Engine) -> bool:
    """Whether any approved draft's send time, or the time to try again an address the server refused for now, has
    come (the periodic due-check submits a job only then)."""
    return bool(due_campaigns(engine, utcnow()))
