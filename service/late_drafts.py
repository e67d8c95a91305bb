"""Approving again, all at once, a campaign's drafts the send's due-check held back for lateness alone.

After an outage (the server stopped, its due-check off) the due-check puts back to review every approved draft
more than TAILOR_SEND_LATE_LIMIT_HOURS past its moment (service.pipeline.freshness.hold_back_late), flagged with
when it was due: a person decides whether a "Friday 9:00" email may still go on Monday. For a big campaign that
is thousands of drafts to approve one by one, while approving all pending drafts leaves flagged ones alone.

A draft counts as held back for lateness alone when nothing else happened to it since a person approved it: it is
flagged, its latest flag reason is the lateness hold-back's (each hold-back appends its reasons, and a draft
held back is out of the sends until a person acts), and its latest review is that approval (an edit since means
a person is at it). The reason text is what tells lateness apart: a draft the send held back for its facts or
its checks, one whose sending was cut off or whose email the server refused, and one flagged when it was written
have other reasons, and are left for a person. The checks an edit fails are said again after it, last
(service.pipeline.flags.refresh_flags): they are not read as the latest reason, so a late draft edited into
failing one is told as edited since, not as flagged for another reason. What lateness cannot change is checked
again as the send would: the catalog must still agree with the email (else it is flagged with what changed, as
approving all pending does), the chosen variant must fail no check its approval did not override, and neither its
copy nor its customer's address nor its products' links may hold a character its reader does not see
(service.unseen_copy: refused by one approval, held back by the send; flagged saying where).

Approving again is a fresh approval, as one draft's (service.drafts.approve): its send time is the one an
approval gets now (a scheduled campaign whose moment has passed: now, so the next due-check sends it; one
scheduled at best hours: the customer's next best hour; a campaign never scheduled: none, so it goes with the
next send a person asks for), its refusals for now are forgotten, and its variant, pin and overridden checks
are those of the approval it had. So the due-check does not find it late again: lateness counts from the new
send time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.orm import Session, aliased

from service.campaigns import get_campaign
from service.clock import as_text, utcnow
from service.db.batches import batches
from service.db.models import Campaign, Customer, Draft, Review, Variant
from service.drafts import APPROVE_BATCH, REVIEWABLE, PageRead, _require_comment, failed_of, record_approvals
from service.errors import Conflict
from service.forecasts import mark_stale
from service.pipeline.flags import CHECK_REASON
from service.pipeline.freshness import (
    ADDRESSES,
    CHOSEN_COPY,
    LATE_BEGINS,
    flag_out_of_date,
    flag_unseen,
    held_back_for_lateness,
    not_overridden,
)
from service.pipeline.model_store import ModelStore
from service.planned_scores import PlannedMoments
from service.send_times import approved_send_after, give_approved_best_hours

# Why a flagged draft was left for a person, as the result counts them.
LEFT = {
    "not_late": "flagged for another reason than lateness (written flagged, held back for its facts or its checks, "
    "its sending cut off, refused by the mail server): a person must look",
    "edited_since": "held back for lateness, then edited: a person is at it",
    "changed_since_read": "held back for lateness after you read this page, or approved or changed since you read "
    "it: not among those you saw",
    "out_of_date": "held back for lateness, but the catalog no longer agrees with the email (a price, the stock): "
    "flagged with what changed",
    "fails_checks": "held back for lateness, but its variant fails a check its approval did not override",
    "unseen_characters": "held back for lateness, but its email, its customer's address or a product's link holds a "
    "character its reader does not see: flagged with where it is",
}
COMMENT = "approved again with the others held back for lateness"  # the review's, when the person wrote none
NOT_AGAIN = "Not approved again"  # how the reason a draft is left flagged for begins


def count_held_back_late(session: Session, campaign_id: int) -> int:
    """How many of the campaign's flagged drafts were held back for lateness and untouched since (their latest
    review is the approval they had), for the review page to offer approving them again. Read on every load of
    the campaign's page: one statement, each draft's latest review found through its index, where reading the
    flagged drafts' ids, then them and their reviews by lists of ids, took 1.15 s at 20,000 flagged."""
    rows = session.execute(
        select(Draft.flag_reasons, Review.action)
        .outerjoin(Review, Review.id == _latest_review_id())
        .where(Draft.campaign_id == campaign_id, Draft.status == "flagged", _mentions_lateness())
    )
    return sum(1 for reasons, action in rows if action == "approve" and last_held_back_for_lateness(reasons))


def last_held_back_for_lateness(reasons: list[str] | None) -> bool:
    """Whether a draft's latest flag reason is a lateness hold-back's, but for the checks its variants fail as an
    edit says them again (after every other reason: service.pipeline.flags): a late draft edited since keeps the
    hold-back as its latest reason of its own."""
    own = [reason for reason in reasons or [] if CHECK_REASON not in reason]
    return bool(own) and held_back_for_lateness(own[-1])


def _mentions_lateness():
    """Whether a draft's flag reasons, as the JSON text the database holds, contain a lateness hold-back's beginning:
    only those drafts' reasons are read and decoded (the others were flagged when written, or held back for their
    facts or checks), where every flagged draft's were on each load of the page."""
    return cast(Draft.flag_reasons, Text).contains(json.dumps(LATE_BEGINS)[1:-1], autoescape=True)


def _latest_review_id():
    """The id of the latest review of the draft the enclosing query reads (``Draft.id``), through the reviews'
    index on their draft."""
    review = aliased(Review)
    return select(func.max(review.id)).where(review.draft_id == Draft.id).scalar_subquery()


def reapprove_late(
    session: Session, campaign_id: int, reviewer: str, comment: str = "", read_at: PageRead | None = None,
    models: ModelStore | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Approve again the campaign's drafts held back for lateness alone (see the module's docstring), a batch at a
    time, each recorded as an approval; how many, how many flagged drafts were left and why (``left``, keys of
    ``LEFT``), how many wait for a person in all, and when those approved go. Refused (Conflict) while the
    campaign is being generated. ``read_at`` (service.drafts.page_read): a draft reviewed after the page was read
    is left, as approving all pending leaves it. The drafts approved again are scored again for the moment they now
    go at (service.planned_scores, with ``models``)."""
    campaign = get_campaign(session, campaign_id)
    _require_comment(comment)
    if campaign.status == "generating":
        raise Conflict(f"Campaign {campaign_id} is being generated: approve its drafts once it is ready.")
    send_after = approved_send_after(campaign, utcnow())
    moments = PlannedMoments.read(session, Draft.campaign_id == campaign_id)
    left: Counter[str] = Counter()
    reapproved = 0
    for rows in _flagged(session, campaign_id):
        late, approvals = _late_untouched(session, rows)
        left["not_late"] += len(rows) - len(late)
        left["edited_since"] += len(late) - len(approvals)
        late = [row for row in late if row.id in approvals]
        if read_at is not None:
            seen = [row for row in late if _seen_held_back(row, approvals[row.id], read_at)]
            left["changed_since_read"] += len(late) - len(seen)
            late = seen
        checked = [row for row in late if _overridden_all(row, approvals[row.id].overridden_checks)]
        left["fails_checks"] += len(late) - len(checked)
        hidden = set(flag_unseen(session, checked, NOT_AGAIN))  # as one approval refuses them, and the send
        left["unseen_characters"] += len(hidden)
        checked = [row for row in checked if row.id not in hidden]
        stale = set(flag_out_of_date(session, [(row.id, row.recommendations) for row in checked], NOT_AGAIN))
        left["out_of_date"] += len(stale)
        reapproved += _approve_again(
            session, campaign, [row for row in checked if row.id not in stale], approvals, send_after, reviewer, comment
        )
    if reapproved:
        moments.follow(session, models)
    if reapproved or left["out_of_date"] or left["unseen_characters"]:
        session.flush()
        session.expire_all()  # drafts loaded earlier in this session must not show the old status
        mark_stale(get_campaign(session, campaign_id))
    waiting = select(func.count()).where(Draft.campaign_id == campaign_id, Draft.status.in_(REVIEWABLE))
    return {
        "reapproved": reapproved, "left": {reason: left[reason] for reason in LEFT},
        "left_for_review": session.scalar(waiting), "send_after": as_text(send_after) if send_after else None,
        "goes": _when_they_go(campaign, send_after, reapproved),
    }  # fmt: skip


def _seen_held_back(row: Any, approval: Any, read_at: PageRead) -> bool:
    """Whether the page read at ``read_at`` showed this draft held back for lateness: approved before it was read
    (its latest review, that approval, no later) and held back before it too (the hold-back writes no review, only
    the draft's ``updated_at``, by the database's clock as the page's reading is: freshness.hold_back_late)."""
    held_back_before = read_at.at is None or row.updated_at <= read_at.at
    return approval.id <= read_at.review and held_back_before


def _flagged(session: Session, campaign_id: int) -> Iterator[list[Any]]:
    """The campaign's flagged drafts, a batch at a time: their flag reasons, and what deciding on each reads besides
    (never its rendered email)."""
    ids = session.scalars(
        select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "flagged").order_by(Draft.id)
    ).all()
    columns = (
        Draft.id, Draft.flag_reasons, Draft.revision, Draft.updated_at, Variant.label, Variant.checks, *CHOSEN_COPY,
        *ADDRESSES,
    )  # fmt: skip
    for batch in batches(ids, size=APPROVE_BATCH):
        yield session.execute(
            select(*columns)
            .join(Customer, Customer.id == Draft.customer_id)
            .outerjoin(Variant, Variant.id == Draft.selected_variant_id)
            .where(Draft.id.in_(batch), Draft.status == "flagged")
            .order_by(Draft.id)
        ).all()


def _late_untouched(session: Session, rows) -> tuple[list[Any], dict[int, Any]]:
    """Of these flagged drafts, those whose latest flag reason is a lateness hold-back (last_held_back_for_lateness),
    and, for each of them whose latest review is an approval (none since: not edited), that approval (its id and
    overridden checks)."""
    late = [row for row in rows if last_held_back_for_lateness(row.flag_reasons)]
    approvals: dict[int, Any] = {}
    for batch in batches([row.id for row in late]):
        for review in session.execute(
            select(Review.id, Review.draft_id, Review.overridden_checks)
            .join(Draft, Draft.id == Review.draft_id)
            .where(Draft.id.in_(batch), Review.id == _latest_review_id(), Review.action == "approve")
        ):
            approvals[review.draft_id] = review
    return late, approvals


def _overridden_all(row: Any, overridden: list[str] | None) -> bool:
    """Whether the draft's chosen variant fails no check but those its approval overrode (``overridden``), as the
    send requires (service.pipeline.freshness.hold_back_stale)."""
    return not not_overridden(row.label, failed_of(row.checks or []), overridden)


def _approve_again(
    session: Session, campaign: Campaign, rows: list[Any], approvals: dict[int, Any], send_after: datetime | None,
    reviewer: str, comment: str,
) -> int:  # fmt: skip
    """Approve these drafts again, each by one UPDATE conditional on the status and revision read (a draft a person
    reviewed or edited meanwhile is left as they left it), with a review carrying its earlier approval's overridden
    checks; how many."""
    by_revision: dict[int, list[int]] = {}
    for row in rows:
        by_revision.setdefault(row.revision, []).append(row.id)
    approved: list[int] = []
    for revision, ids in by_revision.items():
        done = session.execute(
            update(Draft)
            .where(Draft.id.in_(ids), Draft.status == "flagged", Draft.revision == revision)
            .values(
                status="approved",
                send_after=send_after,
                at_wait_end=False,
                retry_after=None,
                refusals_for_now=0,
                revision=Draft.revision + 1,
            )  # fmt: skip
            .returning(Draft.id, Draft.revision)
            .execution_options(synchronize_session=False)
        ).all()
        carried = {draft_id: approvals[draft_id].overridden_checks for draft_id, _ in done}
        record_approvals(session, done, reviewer, comment.strip() or COMMENT, carried)
        approved += [draft_id for draft_id, _ in done]
    give_approved_best_hours(session, campaign, approved, send_after)
    return len(approved)


def _when_they_go(campaign: Campaign, send_after: datetime | None, reapproved: int) -> str:
    """When the drafts approved again go, in words."""
    if not reapproved:
        return ""
    if send_after is None:
        return "with the campaign's next send a person asks for (it is not scheduled)"
    if campaign.at_best_hour:
        return "each at its customer's next best hour, sent by the due-check"
    if send_after <= utcnow():
        return "at the next due-check (the campaign's scheduled moment has passed)"
    return "at the campaign's scheduled moment, sent by the due-check"
