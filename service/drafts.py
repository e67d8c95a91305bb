"""Reading and reviewing drafts: approve, reject and edit a variant, each recorded as a review.

The API and the review page call the same functions, so an edit meets the same limits (``VariantEdit``) and an
approval the same rule: a variant that failed a guardrail check is approved only on purpose, with the checks
overridden and the reason recorded with the review. A draft whose email shows a product as the catalog no longer
has it (out of stock, at another price) is not approved either: sending would only hold it back again.

Each change through review adds one to the draft's ``revision`` (and the review records the revision it made). An
edit, approval or rejection may say which revision it is based on (``expected_revision``: the page's forms always
do); one based on an older revision is refused (DraftChanged, naming who changed what since), so that a stale page
neither undoes someone's edit by posting its old copy back nor approves copy its reader never saw.

In an experiment (service.experiments), approving a draft's chosen variant, with no check overridden and no
variant edited, leaves the variant to the test: the customer gets their arm's. An approval that chose another
variant, overrode a check or follows an edit pins the draft (``Draft.pinned``): it is sent exactly the approved
variant and stays out of the arms, whose assignment must be random.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import ColumnElement, and_, false, func, insert, literal, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from generation.guardrails import check_label
from service.addresses import address_key
from service.auth import acting_key
from service.campaigns import get_campaign
from service.clock import utcnow
from service.db.batches import batches
from service.db.clock import now_in_database
from service.db.models import Customer, Draft, ReplacedDraft, Review, Send, Variant
from service.draft_orders import ORDERS, SORT_KEYS, WAITING, SortKey
from service.draft_sorts import DEFAULT_SORT, DraftSort
from service.errors import (
    ChecksFailed,
    Conflict,
    DraftChanged,
    DraftReplaced,
    InvalidInput,
    NotFound,
    NotReady,
    Problem,
    TailorError,
    field_path,
)  # fmt: skip
from service.forecasts import mark_stale
from service.pipeline.model_store import ModelStore
from service.planned_scores import FROZEN, PlannedMoments
from service.schemas import COMMENT_MAX, NOT_ONE_LINE, ONE_LINE, DraftOut, ReviewOut, VariantEdit, VariantOut
from service.segments import segment_named
from service.send_times import approved_send_after, give_approved_best_hours, planned_send_moment
from service.unseen_copy import UNSEEN_HOLDERS, unseen_in, unseen_in_addresses

REVIEWABLE = WAITING
FormBody = TypeVar("FormBody", bound=BaseModel)  # an API body a review page form is read as (form_body)
APPROVE_BATCH = 1_000  # drafts approved at a time by approve_pending
NOT_WITH_THE_OTHERS = "Not approved with the others"  # how approve_pending's flag reasons begin
CHANGES_NAMED = 3  # of the changes a stale action missed, the latest this many are named in its refusal

# What draft_out shows of a draft besides its row, loaded with the drafts rather than one query each.
AS_SHOWN = (
    selectinload(Draft.variants),
    selectinload(Draft.reviews),
    selectinload(Draft.customer),
    selectinload(Draft.send).selectinload(Send.events),  # whether it was perhaps sent
    selectinload(Draft.campaign),  # the moment its figures are for (scored_for): once, not per draft
)


def get_draft(session: Session, draft_id: int) -> Draft:
    draft = session.scalar(select(Draft).where(Draft.id == draft_id).options(*AS_SHOWN))
    if draft is None:
        raise missing_draft(session, draft_id)
    return draft


def missing_draft(session: Session, draft_id: int, otherwise: str = "") -> NotFound:
    """The error for a draft that is not there: one replaced when its campaign was generated again names the draft
    that replaced it (DraftReplaced); any other is said not to exist, with ``otherwise`` after, when given."""
    was = session.get(ReplacedDraft, draft_id)
    if was is None:
        return NotFound(f"Draft {draft_id} does not exist{': ' + otherwise if otherwise else ''}.")
    now = session.scalar(
        select(Draft.id).where(Draft.campaign_id == was.campaign_id, Draft.customer_id == was.customer_id)
    )
    return DraftReplaced(draft_id, was.campaign_id, now)


def list_drafts(
    session: Session, campaign_id: int, status: str | None = None, flagged: bool | None = None,
    limit: int = 100, offset: int = 0, customer: str | None = None, sort: DraftSort = DEFAULT_SORT,
) -> list[Draft]:  # fmt: skip
    """The campaign's drafts in the order ``sort`` names (service.draft_orders: flagged first unless asked),
    optionally only those of the ``customer`` asked for: their id or email, or their first name (several customers
    may share it), each in any case; raises NotFound for a campaign that does not exist (rather than answering with
    no drafts)."""
    get_campaign(session, campaign_id)
    statement = (
        select(Draft)
        .where(_listed(campaign_id, status, flagged, customer))
        .options(*AS_SHOWN)
        .order_by(*ORDERS[sort])
        .limit(limit)
        .offset(offset)
    )
    return list(session.scalars(statement))


def _listed(
    campaign_id: int, status: str | None = None, flagged: bool | None = None, customer: str | None = None
) -> ColumnElement[bool]:
    """Whether a draft is in the campaign's list of drafts of ``status`` (any, if None), ``flagged`` or not, and of
    the ``customer`` searched for (list_drafts)."""
    wanted = [Draft.campaign_id == campaign_id]
    if status:
        wanted.append(Draft.status == status)
    if flagged is not None:
        wanted.append(Draft.flagged == flagged)
    searched = (customer or "").strip().lower()  # a search of only spaces is none: it found no draft at all
    if searched:  # a person types "c00646" for C00646, or the name a customer wrote with
        # composed (NFC) as imports keep text, or decomposed as a Mac's file held it before they did
        forms = {unicodedata.normalize("NFC", searched), unicodedata.normalize("NFD", searched)}
        ids = select(Customer.id).where(
            or_(
                func.lower(Customer.external_id).in_(forms),
                Customer.email_key.in_({address_key(form) for form in forms}),
                func.lower(Customer.first_name).in_(forms),
            )
        )
        wanted.append(Draft.customer_id.in_(ids))
    return and_(*wanted)


class NextToReview(NamedTuple):
    """The draft a draft's page leads on to (None when no other waits), the page of the list it is on, and how many
    drafts of the list wait for review besides the one shown."""

    draft_id: int | None
    page: int
    waiting: int


def next_to_review(
    session: Session, draft: Draft, sort: DraftSort = DEFAULT_SORT, status: str | None = None,
    customer: str | None = None, per_page: int = 100,
) -> NextToReview:  # fmt: skip
    """The next draft waiting for review after ``draft`` in the campaign's list the person came from: its drafts of
    ``status`` and of the ``customer`` searched for, in the order ``sort`` names (flagged first, then the audience's,
    unless asked; ties by id), as list_drafts lists them; past the last one the first. With the page of that list
    (of ``per_page`` drafts) it is on, and how many of the list wait besides ``draft``. (It followed the flagged-first
    order whatever the list: from a list by predicted opens it jumped about the list, and out of a filtered one.
    The first waiting besides ``draft`` led a copywriter who left a draft waiting back to it from the next one, for
    ever.) ``draft`` need not be in the list (approved from the list of pending ones): the walk goes on from its
    place in the order."""
    listed = _listed(draft.campaign_id, status, None, customer)
    # from where the draft stood while it waited: one just approved among the flagged ones leads to the next of them
    shown = session.execute(select(*(key.placed for key in SORT_KEYS[sort])).where(Draft.id == draft.id)).one()
    # Each of the list's drafts with its keys, worked out once a row (OFFSET 0 keeps PostgreSQL from inlining the
    # keys' subqueries into each comparison); then a seek by them rather than a window over the whole list.
    rows = (
        select(Draft.id, Draft.status, *(key.value.label(f"key_{i}") for i, key in enumerate(SORT_KEYS[sort])))
        .where(listed).offset(0).subquery()
    )  # fmt: skip
    keys = tuple(key._replace(value=rows.c[f"key_{i}"]) for i, key in enumerate(SORT_KEYS[sort]))
    waiting = and_(rows.c.status.in_(REVIEWABLE), rows.c.id != draft.id)
    key_columns = [key.value for key in keys]
    first_waiting = select(rows.c.id, *key_columns).where(waiting).order_by(*(k.ordered() for k in keys)).limit(1)
    found = session.execute(first_waiting.where(_past(keys, shown))).first() or session.execute(first_waiting).first()
    if found is None:
        return NextToReview(None, 1, 0)
    before_it, waiting_count = session.execute(
        select(func.count().filter(_past(keys, found[1:], before=True)), func.count().filter(waiting))
    ).one()
    return NextToReview(found[0], before_it // per_page + 1, waiting_count)


def _past(keys: tuple[SortKey, ...], values: Sequence[Any], before: bool = False) -> ColumnElement[bool]:
    """Whether a draft comes after (``before``: before) the one whose ``keys`` hold ``values`` in the order the keys
    make: it is beyond it at a key and ties with it at each key ahead of that one. A null is compared as the order
    places it: after every value at a key whose drafts with none come last."""
    beyond: list[ColumnElement[bool]] = []
    ties: list[ColumnElement[bool]] = []
    for key, value in zip(keys, values, strict=True):
        if value is None:  # nulls come last: no draft is after a null at this key, every value before it
            beyond.append(and_(*ties, key.value.is_not(None)) if before else false())
            ties.append(key.value.is_(None))
            continue
        bound = literal(value, key.value.type)  # a flag too, which SQLAlchemy compares with True only by "="
        later = key.value < bound if key.descending != before else key.value > bound
        if key.nulls_last and not before:
            later = or_(later, key.value.is_(None))
        beyond.append(and_(*ties, later))
        ties.append(key.value == bound)
    return or_(*beyond)


def selected_variant(draft: Draft) -> Variant | None:
    return next((v for v in draft.variants if v.id == draft.selected_variant_id), None)


# A draft whose sending is over: whether its customer may be mailed now says nothing of it (one who unsubscribed
# after their email read as mailed while unsubscribed); a skipped one says why in its flag reasons.
_GONE = ("sent", "skipped")


def draft_out(draft: Draft) -> DraftOut:
    customer: Customer = draft.customer
    return DraftOut(
        id=draft.id,
        campaign_id=draft.campaign_id,
        customer_id=customer.external_id,
        first_name=customer.first_name,
        email=customer.email,
        locale=customer.locale,
        timezone=customer.timezone,
        segment=segment_named(customer.segment),  # as GET /customers and GET /segments name it
        status=draft.status,
        flagged=draft.flagged,
        flag_reasons=draft.flag_reasons,
        audience_reason=draft.audience_reason,
        selected_variant_id=draft.selected_variant_id,
        sent_variant_id=draft.send.variant_id if draft.send is not None else None,
        perhaps_sent=draft.send is not None and draft.send.perhaps_sent,
        sent_to=draft.send.to_email if draft.send is not None else None,
        recommendations=draft.recommendations,
        offer=draft.offer,
        send_after=draft.send_after,
        scored_for=None
        if draft.status in FROZEN
        else planned_send_moment(draft.send_after, draft.campaign.scheduled_at, draft.created_at),
        retry_after=draft.retry_after,
        pinned=draft.pinned,
        cannot_mail=None if draft.status in _GONE else customer.why_not_mailable,
        revision=draft.revision,
        variants=[VariantOut.model_validate(v, from_attributes=True) for v in draft.variants],
        reviews=[ReviewOut.model_validate(r, from_attributes=True) for r in draft.reviews],
    )


def _require_comment(comment: str) -> None:
    """A review's comment within the API's limit, whichever way it came (the review page's forms took any)."""
    if len(comment) > COMMENT_MAX:
        message = f"is {len(comment):,} characters long; at most {COMMENT_MAX:,}"
        raise InvalidInput("review", [Problem(None, "comment", message, "field")])


def require_reviewable(draft: Draft) -> None:
    """Refuse (Conflict) a review of a draft no longer pending or flagged (approved, rejected, sending, sent)."""
    if draft.status not in REVIEWABLE:
        raise Conflict(f"Draft {draft.id} is already {draft.status}; only pending or flagged drafts can be reviewed.")


def require_unchanged_since(session: Session, draft: Draft, expected: int | None) -> None:
    """Refuse (DraftChanged) an action based on revision ``expected`` of a draft that changed since. None: the
    caller did not say (an API client from before revisions); the action is then based on the draft as read now."""
    if expected is not None and expected > draft.revision:  # not one the draft has had: a mistake, not a change
        raise InvalidInput(
            f"draft {draft.id}",
            [
                Problem(
                    None,
                    "expected_revision",
                    f"the draft is at revision {draft.revision}; it never had {expected}",
                    "field",
                )
            ],  # fmt: skip
        )
    if expected is not None and expected != draft.revision:
        raise _changed_since(session, draft.id, expected)


def _changed_since(session: Session, draft_id: int, seen: int) -> DraftChanged:
    """The refusal of an action based on revision ``seen``: it names who changed what since."""
    since = session.scalars(
        select(Review).where(Review.draft_id == draft_id, Review.revision > seen).order_by(Review.id)
    ).all()
    changes = "; ".join(_change_in_words(review) for review in since[-CHANGES_NAMED:])
    if len(since) > CHANGES_NAMED:
        changes = f"{len(since)} changes, the latest: {changes}"
    return DraftChanged(
        f"Draft {draft_id} was changed since you read it{f' ({changes})' if changes else ''}; "
        "nothing was done. Read it as it is now, then try again."
    )


ACTIONS_DONE = {"approve": "approved", "reject": "rejected", "reopen": "reopened"}


def _change_in_words(review: Review) -> str:
    who = review.reviewer or "someone"
    if review.action == "edit":
        return f"{who} edited {review.comment}"  # the comment names the variant and its fields
    if review.action == "refresh":  # service.refreshed_facts: the comment names what changed
        return f"{who} updated it with the catalog's facts ({review.comment})"
    return f"{who} {ACTIONS_DONE.get(review.action, review.action)} it"


def _reviewed_since(session: Session, draft_id: int, seen: int) -> bool:
    """Whether the draft was approved, rejected or reopened since revision ``seen`` (an edit alone moves a draft
    between pending and flagged too, as its copy passes or fails the checks)."""
    reviews = select(Review.id).where(
        Review.draft_id == draft_id, Review.revision > seen, Review.action.in_(tuple(ACTIONS_DONE))
    )
    return session.scalar(reviews.limit(1)) is not None


def _update_as_read(session: Session, draft_id: int, status: str, revision: int, values: dict[str, Any]) -> bool:
    """Write ``values`` to the draft by one UPDATE conditional on its status and revision as they were read;
    whether it was written (not, when another change came first)."""
    return bool(
        session.execute(
            update(Draft)
            .where(Draft.id == draft_id, Draft.status == status, Draft.revision == revision)
            .values(values)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _lost_to_another(session: Session, draft_id: int, status: str, revision: int) -> TailorError:
    """What a change of the draft read at ``status`` and ``revision`` is refused with when another came first:
    NotFound for a draft deleted meanwhile, Conflict for one reviewed meanwhile, else DraftChanged (an edit, which
    may have flagged it)."""
    if (now := session.scalar(select(Draft.status).where(Draft.id == draft_id))) is None:
        return missing_draft(session, draft_id, "its campaign was deleted meanwhile")
    if now != status and _reviewed_since(session, draft_id, revision):
        return Conflict(f"Draft {draft_id} was reviewed meanwhile and is {now} now; reload it before reviewing it.")
    return _changed_since(session, draft_id, revision)


def record_review(session: Session, draft: Draft, review: Review, status: str | None = None) -> None:
    """Record ``review``'s change of the draft (with ``status``, moving it there) by one conditional UPDATE of the
    draft's revision and status as they were read: of two changes of one draft at the same moment (a double
    click, two reviewers) one wins and the other is refused (Conflict if the draft was reviewed meanwhile,
    DraftChanged if it was edited), rather than each writing over the first."""
    values: dict[str, Any] = {"revision": Draft.revision + 1} | ({"status": status} if status else {})
    if not _update_as_read(session, draft.id, draft.status, draft.revision, values):
        raise _lost_to_another(session, draft.id, draft.status, draft.revision)
    set_committed_value(draft, "revision", draft.revision + 1)
    if status:
        set_committed_value(draft, "status", status)
    review.revision = draft.revision
    review.key_prefix, review.key_name = acting_key(session)
    draft.reviews.append(review)


def failed_checks(variant: Variant) -> list[str]:
    """The names of the guardrail checks the variant's copy fails."""
    return failed_of(variant.checks)


def failed_of(checks: list[dict[str, Any]]) -> list[str]:
    """The names of the failed checks among stored check results."""
    return [check["name"] for check in checks if not check["passed"]]


def approve(
    session: Session, draft_id: int, variant_id: int | None, reviewer: str, comment: str,
    override_checks: bool = False, expected_revision: int | None = None, models: ModelStore | None = None,
) -> Draft:  # fmt: skip
    """Approve the draft to send ``variant_id`` (default: its chosen variant). A variant that fails guardrail
    checks is refused (Conflict) unless ``override_checks`` is set with a ``comment`` saying why; the review then
    records the checks it overrode. Choosing another variant than the chosen one, overriding a check, or an
    edited variant pins the draft to the approved variant (see the module's docstring). A draft changed since
    ``expected_revision`` is refused (DraftChanged). A send time the approval gives it moves the moment it is
    planned to go: its figures are scored again for it (service.planned_scores, with ``models``)."""
    draft = get_draft(session, draft_id)
    _require_comment(comment)
    require_unchanged_since(session, draft, expected_revision)  # first: a change since the page was read names who
    require_reviewable(draft)
    if variant_id is not None and all(v.id != variant_id for v in draft.variants):
        # the body's variant_id is at fault, not the path: a 422 naming it, as other bad body fields are
        problem = Problem(None, "variant_id", f"variant {variant_id} is not a variant of draft {draft_id}", "field")
        raise InvalidInput("approval", [problem])
    chosen = selected_variant(draft) if variant_id is None else next(v for v in draft.variants if v.id == variant_id)
    # no override: the send would only hold it back again
    if unseen := unseen_in_addresses(draft.customer.email, draft.recommendations):
        said = "; ".join(f"{where} ({advice})" for where, advice in unseen)
        raise ChecksFailed(f"Draft {draft_id} cannot be approved: {said}.")
    if chosen is not None and (unseen := unseen_in(chosen, draft.recommendations)):
        said = "; ".join(f"{where} ({advice})" for where, advice in unseen)
        raise ChecksFailed(f"Variant {chosen.label} of draft {draft_id} holds a character its reader does not see: "
                           f"{said}.")  # fmt: skip
    failed = failed_checks(chosen) if chosen is not None else []
    named = ", ".join(check_label(name) for name in failed)  # as the page names them: spam words, not spam_triggers
    if failed and not override_checks:
        raise ChecksFailed(
            f"Variant {chosen.label} of draft {draft_id} failed {'a check' if len(failed) == 1 else 'checks'} "
            f"({named}): edit it, choose another variant, or override the checks with a comment saying why."
        )
    if failed and not comment.strip():
        why = f"say why variant {chosen.label} is approved despite failing {named}"
        raise InvalidInput("approval", [Problem(None, "comment", why, "field")])
    _require_fresh_facts(session, draft)
    other = chosen is not None and chosen.id != draft.selected_variant_id
    review = Review(action="approve", reviewer=reviewer, comment=comment.strip(), overridden_checks=failed or None)
    record_review(session, draft, review, "approved")
    _ask_anew(draft)  # a person chose to send it
    draft.pinned = other or bool(failed) or any(v.edited for v in draft.variants)
    if chosen is not None:
        draft.selected_variant_id = chosen.id
    if draft.send_after is None:
        moments = PlannedMoments.read(session, Draft.id == draft.id)
        draft.send_after, draft.at_wait_end = approved_send_after(draft.campaign, utcnow()), False
        give_approved_best_hours(session, draft.campaign, [draft.id], draft.send_after)
        moments.follow(session, models)
    mark_stale(draft.campaign)
    session.flush()
    return draft


def _ask_anew(draft: Draft) -> None:
    """A draft a person approves, or takes back for review, forgets the mail server's refusals for now
    (service.pipeline.send_outcomes.retry_later): approved again, one or all pending at once, its address is asked
    for at the next send, and it goes back to a person only after the whole round of tries. Reopened and approved
    with the others, a draft kept its wait (2 hours after 4 refusals) and went back to review after 3 more tries,
    not 7."""
    draft.refusals_for_now, draft.retry_after = 0, None


def _require_fresh_facts(session: Session, draft: Draft) -> None:
    """Refuse (Conflict) to approve a draft whose email shows products as the catalog no longer has them: the send
    would hold it back for review again (service.pipeline.freshness), and a person would approve it in a loop. The
    draft is flagged with what changed."""
    from service.pipeline.freshness import stale_facts  # it reads the checks through this module

    if stale := stale_facts(session, draft):
        # Flagged with what changed, as approving all pending does: the refused draft stayed pending, unmarked, for
        # the next person to approve and be refused in turn. Kept (committed) though the refusal rolls back the rest.
        if not all(any(change in reason for reason in draft.flag_reasons or []) for change in stale):
            _flag_refused(session, draft, [f"Not approved: {change}." for change in stale])
        raise Conflict(
            f"Draft {draft.id} cannot be approved: its email is out of date with the catalog, so sending would hold it "
            f"back again. {'. '.join(s[0].upper() + s[1:] for s in stale)}."
        )


def _flag_refused(session: Session, draft: Draft, reasons: list[str]) -> None:
    """Flag ``draft`` with ``reasons`` and commit that alone, only as it was read (status and revision, as
    ``record_review`` writes): a draft rejected or edited meanwhile by someone else is left as they left it (the ORM's
    write of the whole row put a rejected draft back to review, and wrote over an edit's reasons), and refused as
    ``record_review`` refuses it. A database too busy to take the flag (an import holding SQLite's lock) does not keep
    the refusal, which says what changed, from being told."""
    draft_id, status, revision, kept = draft.id, draft.status, draft.revision, draft.flag_reasons or []
    flag = {"status": "flagged", "flagged": True, "flag_reasons": [*kept, *(r for r in reasons if r not in kept)]}
    try:  # as read: a rollback reloads the draft as it is now
        if _update_as_read(session, draft_id, status, revision, flag):
            session.commit()
            return
    except OperationalError:
        session.rollback()
        return
    session.rollback()
    raise _lost_to_another(session, draft_id, status, revision)


class PageRead(NamedTuple):
    """Where a campaign stood when a page of it was read: its latest review and its latest draft (0 for none), and
    when, by the database's clock (None from a page that did not say): a change that writes no review, the
    due-check's hold-back of a late draft, is known by its draft's ``updated_at`` after it."""

    review: int
    draft: int
    at: datetime | None = None


def page_read(session: Session, campaign_id: int) -> PageRead:
    """Where the campaign stands as a page of it is read (PageRead). A bulk approval sent from that page leaves
    what changed after it (see approve_pending, late_drafts.reapprove_late)."""
    last_review = session.scalar(
        select(func.max(Review.id)).join(Draft, Draft.id == Review.draft_id).where(Draft.campaign_id == campaign_id)
    )
    last_draft = session.scalar(select(func.max(Draft.id)).where(Draft.campaign_id == campaign_id))
    return PageRead(last_review or 0, last_draft or 0, now_in_database(session))


def approve_pending(
    session: Session, campaign_id: int, reviewer: str, comment: str = "", read_at: PageRead | None = None,
    models: ModelStore | None = None,
) -> dict[str, int]:  # fmt: skip
    """Approve every pending draft of the campaign with its chosen variant: the drafts whose copy passed every
    guardrail check and whose predictions cleared the review floors. Flagged drafts stay for a person (as does a
    pending draft whose chosen variant fails a check, which generation never leaves). A draft with an edited
    variant is pinned, as ``approve`` pins it. Refused (Conflict) while the campaign is being generated: its
    drafts are not all written yet.

    A pending draft whose chosen variant's email the catalog no longer agrees with (``out_of_date``), or that holds
    a character its reader does not see (``unseen_characters``, service.unseen_copy), is flagged for a person with
    what changed or where it is, as ``approve`` refuses it; ``unseen_in`` counts those whose copy, customer's address
    or product link holds one (a draft may hold several).

    Set-based, a batch at a time (``APPROVE_BATCH``, so memory stays bounded): only each draft's chosen variant's
    checks, copy and text body are read (not the variants' HTML: the text holds what it shows, in a fraction of its
    size), and one UPDATE and one multi-row INSERT of reviews approve a batch (each draft's revision moves on, as
    with any review); a draft reviewed meanwhile by someone else is not pending any more and is left as they left
    it.

    ``read_at`` (page_read when the person's page was read): a pending draft reviewed or edited after it (reopened
    by someone who rejected it, edited in another tab) or written after it is not approved: the person confirmed
    the drafts their page counted, not one that someone took back to rewrite meanwhile.

    The drafts whose approval moved the moment they are planned to go (the campaign's moment passed, or a customer's
    best hour) are scored again for it (service.planned_scores, with ``models``)."""
    campaign = get_campaign(session, campaign_id)
    _require_comment(comment)
    if campaign.status == "generating":
        raise Conflict(f"Campaign {campaign_id} is being generated: approve its drafts once it is ready.")
    pending = session.scalars(
        select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "pending").order_by(Draft.id)
    ).all()
    changed_since_read = 0
    if read_at is not None:
        last_review, last_draft = read_at.review, read_at.draft
        touched = set(session.scalars(
            select(Review.draft_id).join(Draft, Draft.id == Review.draft_id)
            .where(Draft.campaign_id == campaign_id, Draft.status == "pending", Review.id > last_review)
        ))  # fmt: skip
        kept = [draft_id for draft_id in pending if draft_id not in touched and draft_id <= last_draft]
        changed_since_read, pending = len(pending) - len(kept), kept
    scheduled = approved_send_after(campaign, utcnow())  # a scheduled campaign's drafts wait for its moment
    moments = PlannedMoments.read(session, Draft.campaign_id == campaign_id) if scheduled is not None else None
    approved = 0
    from service.pipeline.freshness import ADDRESSES, CHOSEN_COPY, flag_out_of_date, flag_unseen  # reads the checks

    out_of_date = unseen = 0
    unseen_in = dict.fromkeys(UNSEEN_HOLDERS, 0)
    for batch in batches(pending, size=APPROVE_BATCH):
        chosen = session.execute(
            select(Draft.id, Variant.checks, Variant.label, *CHOSEN_COPY, *ADDRESSES)
            .join(Customer, Customer.id == Draft.customer_id)
            .join(Variant, Variant.id == Draft.selected_variant_id)
            .where(Draft.id.in_(batch), Variant.draft_id == Draft.id)
        ).all()
        # As approve refuses one whose email holds a character its reader does not see, or the catalog no longer
        # agrees with (a price, the stock): the send would hold it back; here it goes back to a person, flagged with
        # where it is or what changed, and the others are approved.
        hidden = flag_unseen(session, [row for row in chosen if not failed_of(row.checks)], NOT_WITH_THE_OTHERS)
        unseen += len(hidden)
        for holder in (holder for holders in hidden.values() for holder in holders):
            unseen_in[holder] += 1
        passing = [
            (row.id, row.recommendations) for row in chosen if not failed_of(row.checks) and row.id not in hidden
        ]
        stale = set(flag_out_of_date(session, passing, NOT_WITH_THE_OTHERS))
        out_of_date += len(stale)
        passing = [draft_id for draft_id, _ in passing if draft_id not in stale]
        if not passing:
            continue
        # those that get the campaign's moment, which a campaign scheduled at best hours moves on to each's best hour
        unscheduled = (
            set(session.scalars(select(Draft.id).where(Draft.id.in_(passing), Draft.send_after.is_(None))))
            if campaign.at_best_hour and scheduled is not None
            else set()
        )
        done = session.execute(
            update(Draft)
            .where(Draft.id.in_(passing), Draft.status == "pending")
            .values(
                status="approved",
                send_after=func.coalesce(Draft.send_after, scheduled),
                revision=Draft.revision + 1,
                pinned=select(Variant.id).where(Variant.draft_id == Draft.id, Variant.edited).exists(),
            )
            .returning(Draft.id, Draft.revision)
            .execution_options(synchronize_session=False)
        ).all()
        if done:
            record_approvals(session, done, reviewer, comment)
            give_approved_best_hours(session, campaign, [i for i, _ in done if i in unscheduled], scheduled)
        approved += len(done)
    if approved and moments is not None:
        moments.follow(session, models)
    if approved or out_of_date or unseen:
        session.flush()
        session.expire_all()  # drafts loaded earlier in this session must not show the old status
        mark_stale(get_campaign(session, campaign_id))
    flagged = session.scalar(select(func.count()).where(Draft.campaign_id == campaign_id, Draft.status.in_(REVIEWABLE)))
    return {
        "approved": approved, "left_for_review": flagged, "out_of_date": out_of_date,
        "unseen_characters": unseen, "unseen_in": unseen_in, "changed_since_read": changed_since_read,
    }  # fmt: skip


def record_approvals(
    session: Session, done: list[tuple[int, int]], reviewer: str, comment: str,
    overridden: dict[int, list[str] | None] | None = None,
) -> None:  # fmt: skip
    """Record the approval of drafts approved in bulk (``done``: each one's id and the revision its approval made) by
    one multi-row INSERT of reviews, with the acting key; ``overridden``, the checks each one's approval overrides."""
    if not done:
        return
    prefix, name = acting_key(session)
    review = {
        "action": "approve", "reviewer": reviewer, "comment": comment.strip(), "key_prefix": prefix, "key_name": name,
    }  # fmt: skip
    rows = [
        {"draft_id": draft_id, "revision": revision, "overridden_checks": (overridden or {}).get(draft_id), **review}
        for draft_id, revision in done
    ]
    session.execute(insert(Review), rows)


def reject(session: Session, draft_id: int, reviewer: str, comment: str, expected_revision: int | None = None) -> Draft:
    """Reject the draft (it will not be sent); one changed since ``expected_revision`` is refused (DraftChanged)."""
    draft = get_draft(session, draft_id)
    _require_comment(comment)
    require_unchanged_since(session, draft, expected_revision)
    require_reviewable(draft)
    record_review(session, draft, Review(action="reject", reviewer=reviewer, comment=comment.strip()), "rejected")
    mark_stale(draft.campaign)  # a rejected draft is not sent
    session.flush()
    return draft


REOPENABLE = {"approved", "rejected"}


def reopen(
    session: Session, draft_id: int, reviewer: str, comment: str, expected_revision: int | None = None,
    models: ModelStore | None = None,
) -> Draft:  # fmt: skip
    """Take back an approval or a rejection (a slip of the mouse, a change of mind): the draft waits for review
    again, flagged if it was, and loses the send time its approval gave it, its figures scored again for the moment
    it is planned to go without it (service.planned_scores, with ``models``). Conflict for a draft that was sent or
    is being sent, or that was never reviewed; DraftChanged for one changed since ``expected_revision``."""
    draft = get_draft(session, draft_id)
    _require_comment(comment)
    require_unchanged_since(session, draft, expected_revision)
    if draft.status not in REOPENABLE:
        raise Conflict(
            f"Draft {draft.id} is {draft.status}; only an approved draft not yet sent, or a rejected one, can be "
            "taken back for review."
        )
    review = Review(action="reopen", reviewer=reviewer, comment=comment.strip())
    moments = PlannedMoments.read(session, Draft.id == draft.id)
    record_review(session, draft, review, "flagged" if draft.flagged else "pending")
    draft.send_after, draft.at_wait_end, draft.pinned = None, False, False
    moments.follow(session, models)
    _ask_anew(draft)  # not tried again at a time its approval no longer gives
    mark_stale(draft.campaign)
    session.flush()
    return draft


def variant_edit(reviewer: str, **fields: Any) -> VariantEdit:
    """An edit from a form, held to the API's limits (``VariantEdit``): InvalidInput naming each field that breaks
    them (an empty or over-long subject), with the API's own words."""
    return form_body(VariantEdit, "edit", reviewer=reviewer, **fields)


def form_body(body: type[FormBody], what: str, **fields: Any) -> FormBody:
    """A form's fields as the API's ``body``, held to its limits: InvalidInput (about ``what``) naming each field
    that breaks them, in words a copywriter reads."""
    try:
        return body(**fields)
    except ValidationError as error:
        problems = [Problem(None, field_path(e["loc"]), _in_plain_words(e), "field") for e in error.errors()]
        raise InvalidInput(what, problems) from None


def _in_plain_words(error: dict[str, Any]) -> str:
    """A form field's problem as a copywriter reads it ("cannot be empty", not "String should have at least 1
    character")."""
    limits = error.get("ctx") or {}
    if error["type"] == "string_too_short":
        return (
            "cannot be empty" if limits.get("min_length") == 1 else f"needs at least {limits['min_length']} characters"
        )
    if error["type"] == "string_too_long":
        return f"is longer than the {limits['max_length']} characters it may have"
    if error["type"] == "string_pattern_mismatch" and limits.get("pattern") == ONE_LINE:
        return NOT_ONE_LINE
    return error["msg"].removeprefix("Value error, ")  # our own validators' words, as the API's handler says them


def edit_variant(
    session: Session, draft_id: int, variant_id: int, edit: VariantEdit, models: ModelStore | None = None
) -> Draft:
    """Apply a copywriter's edit, re-render the email and re-run the guardrails on the edited copy (the draft's
    flag reasons then name the checks it fails); with ``models``, score the draft's variants again, so that the
    predictions and reasons shown are those of the edited copy (the chosen variant stays: the person editing
    decides). An edit based on a revision older than the draft's (``edit.expected_revision``) is refused
    (DraftChanged): its fields were read from copy that someone has changed since."""
    from service.pipeline.rendering import rerender_variant

    draft = get_draft(session, draft_id)
    require_reviewable(draft)
    require_unchanged_since(session, draft, edit.expected_revision)
    variant = next((v for v in draft.variants if v.id == variant_id), None)
    if variant is None:
        raise NotFound(f"Variant {variant_id} is not a variant of draft {draft_id}.")
    reviewer, changes = edit.reviewer, edit.model_dump(include={"subject", "preheader", "intro", "product_lines"})
    if changes["product_lines"] is not None and len(changes["product_lines"]) != len(variant.product_lines or []):
        raise InvalidInput(
            "edit",
            [Problem(None, "product_lines", f"give one line for each of the email's {len(variant.product_lines or [])} "
                     f"products, not {len(changes['product_lines'])}", "field")],
        )  # fmt: skip
    changed = {k: v for k, v in changes.items() if v is not None and v != getattr(variant, k)}
    if not changed:
        return draft
    review = Review(action="edit", reviewer=reviewer, comment=f"variant {variant.label}: {', '.join(sorted(changed))}")
    record_review(session, draft, review)  # before the copy changes: a concurrent change of the draft refuses this one
    for name, value in changed.items():
        setattr(variant, name, value)
    variant.edited = True
    rerender_variant(session, draft, variant)
    if models is not None:
        score_again([draft], models)
        mark_stale(draft.campaign)
    session.flush()
    return draft


def score_again(drafts: list[Draft], models: ModelStore) -> None:
    """Score the drafts' variants again with the engagement model, in one pass for them all, and their review floors'
    flag reasons with them; nothing before any scoring model is trained."""
    from service.pipeline.flags import refresh_floor_reasons
    from service.pipeline.generate import rescore_drafts

    try:
        engagement = models.get("engagement")
    except NotReady:  # drafts imported or made before any scoring model: nothing to score them with
        return
    rescore_drafts(drafts, engagement)
    for draft in drafts:
        refresh_floor_reasons(draft)
