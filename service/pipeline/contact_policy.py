"""The contact policy: at least `TAILOR_SEND_MIN_DAYS_BETWEEN` days between two marketing emails to one customer.

A customer mailed more recently (by any campaign, Tailor's own sends or the history imported with the shop; under
their id, or at their address under another id, as a household's customers share one) does not get the email now:
the draft stays approved with its send time moved to when the customer may be mailed again (at the time of day it
was meant for, when it had one: its customer's best hour), and the server's due-check sends it then. Several
campaigns approved the same week thus reach a customer a few days apart instead of on one morning. A customer held
out by another campaign's experiment is not mailed until its conversion window
(`TAILOR_EXPERIMENT_CONVERSION_WINDOW_DAYS`) ends, so that the holdout stays a group that received nothing. A
send looks again as each email goes (``defer_if_mailed_meanwhile``): another server on the database may have
mailed the customer meanwhile. A draft's own send does not hold it back: a draft whose email's answer was lost keeps
the send its link names (service.pipeline.sending), and approved again it goes now, as its flag says. Any other
email perhaps sent (``Send.perhaps_sent``: its answer lost) counts as sent here, unlike in the figures: its customer
may have it, and must not be mailed twice.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, null, select
from sqlalchemy.orm import Session, aliased, object_session, selectinload

from service.addresses import address_key, hold_household
from service.clock import at_time_of_day, on_the_clock, wall_clock
from service.db.batches import batches
from service.db.models import Assignment, Customer, Draft, Send
from service.db.session import take_the_write_lock
from service.errors import NotReady
from service.pipeline.policy_conditions import held_out_since, not_their_own
from service.send_times import best_hours


def defer_recently_mailed(
    session: Session, draft_ids: list[int], now: datetime, min_days: float, holdout_days: float = 0,
    timezone: str = "UTC",
) -> tuple[list[int], int]:  # fmt: skip
    """The drafts whose customer may be mailed now, in their order, and how many were deferred: those whose
    customer got an email less than ``min_days`` ago get ``send_after`` = that email's time + ``min_days``, or, for
    a draft that had a send time (its customer's best hour, the campaign's scheduled moment), the first moment
    after that with the same time of day on the customer's clock (their zone, else the shop's: ``timezone``); one
    deferred to a wait's end before (``Draft.at_wait_end``) to the new wait's end, as it has no time of day. With
    ``holdout_days``, a customer held out by another campaign's experiment in the last ``holdout_days`` days (its
    conversion window) waits until that window ends too: mailed by another campaign meanwhile, they stopped being a
    group that received nothing."""
    if (min_days <= 0 and holdout_days <= 0) or not draft_ids:
        return draft_ids, 0
    gap, window = timedelta(days=min_days), timedelta(days=holdout_days)
    deferred = 0
    kept: set[int] = set(draft_ids)
    for batch in batches(draft_ids):
        until: dict[int, Wait] = {}
        if min_days > 0:
            mailed = session.execute(
                select(Draft.id, func.max(Send.sent_at))
                .join(Send, Send.customer_id == Draft.customer_id)
                .where(Draft.id.in_(batch), Send.sent_at > now - gap, not_their_own(Draft.id))
                .group_by(Draft.id)
            ).all()
            for draft_id, last_sent in [*mailed, *_mailed_at_address(session, batch, now - gap).items()]:
                until[draft_id] = max(until.get(draft_id, _EARLIEST), _mailed_wait(last_sent, min_days))
        if holdout_days > 0:
            for draft_id, held_out in session.execute(
                select(Draft.id, func.max(Assignment.assigned_at))
                .join(Assignment, Assignment.customer_id == Draft.customer_id)
                .where(Draft.id.in_(batch), Assignment.campaign_id != Draft.campaign_id)
                .where(held_out_since(now - window))
                .group_by(Draft.id)
            ):
                until[draft_id] = max(until.get(draft_id, _EARLIEST), _held_out_wait(held_out, holdout_days))
        if not until:
            continue
        deferring = select(Draft).where(Draft.id.in_(list(until))).options(selectinload(Draft.customer))
        for draft in session.scalars(deferring):
            _defer(draft, until[draft.id], timezone)
        kept -= set(until)
        deferred += len(until)
    return [draft_id for draft_id in draft_ids if draft_id in kept], deferred


def defer_if_mailed_meanwhile(
    session: Session, draft: Draft, now: datetime, min_days: float, holdout_days: float, timezone: str,
    households: dict[str, list[int]],
) -> bool:  # fmt: skip
    """``defer_recently_mailed``'s second look at one draft, as its email goes: whether another process (a second
    server on the database) mailed its customer (under their id, or another id with their address: ``households``,
    ``service.addresses.households`` as the send began), or held them out of another campaign's experiment, since
    the send chose its drafts (``now``); the draft's send time is then moved as ``defer_recently_mailed`` moves it.
    The rows of the customer and of every id sharing their address are locked first, in id order, so that of two
    senders mailing the address (under one id or two) the second sees the first's email: locking the customer's row
    alone let two servers mailing two ids of one address both send. On SQLite, which has no row locks, the look
    takes the database's write lock instead (``take_the_write_lock``), which the caller's commit of the email's send
    releases before the mail server is called: two processes on one file both read "not mailed" and both sent. Sends
    and assignments are read by customer, through their indexes: the look costs the same at the 100,000th email as
    at the first."""
    if min_days <= 0 and holdout_days <= 0:
        return False
    household = _household(draft.customer_id, draft.customer.email, households)
    if not take_the_write_lock(session):  # SQLite: the database's write lock, held until the send is recorded
        hold_household(session, household)  # held already by a sender (hold_draft_household): no wait
    gap, window = timedelta(days=min_days), timedelta(days=holdout_days)
    last, held_out = session.execute(
        _second_look(min_days > 0, holdout_days > 0),
        {
            "household": household, "mailed_since": now - gap, "draft_id": draft.id,
            "customer_id": draft.customer_id, "campaign_id": draft.campaign_id, "held_out_since": now - window,
        },
    ).one()  # fmt: skip
    until: list[Wait] = []
    until += [_mailed_wait(last, min_days)] if last is not None else []
    until += [_held_out_wait(held_out, holdout_days)] if held_out is not None else []
    if not until:
        return False
    _defer(draft, max(until), timezone)
    return True


@lru_cache(maxsize=4)
def _second_look(mailed: bool, held_out: bool) -> Select:
    """``defer_if_mailed_meanwhile``'s statement, built once for the send's every email (building it anew took longer
    than the database took to run it), its values bound as it runs: both latest times in one statement, one round
    trip inside the locked window, not two; the household's latest email (``mailed``, else null), and its customer's
    latest holdout of another campaign (``held_out``, else null)."""
    last_mailed = select(func.max(Send.sent_at)).where(
        Send.customer_id.in_(bindparam("household", expanding=True)), Send.sent_at > bindparam("mailed_since"),
        not_their_own(bindparam("draft_id")),
    )  # fmt: skip
    last_held_out = select(func.max(Assignment.assigned_at)).where(
        Assignment.customer_id == bindparam("customer_id"), Assignment.campaign_id != bindparam("campaign_id"),
        held_out_since(bindparam("held_out_since")),
    )  # fmt: skip
    return select(
        last_mailed.scalar_subquery() if mailed else null(), last_held_out.scalar_subquery() if held_out else null()
    )


def hold_draft_household(session: Session, draft_id: int, households: dict[str, list[int]]) -> None:
    """On PostgreSQL, lock the rows of the draft's customer and of every id sharing their address (``households``,
    as in ``defer_if_mailed_meanwhile``) before the draft's own row is: a customer's erasure
    (service.customers.erase_customer) and an unsubscribe (service.events) lock the customer first, then the drafts
    they write. A send that locked the draft first, then waited for the customer's row an erasure held while the
    erasure waited for the draft, was a deadlock, and PostgreSQL failed one: the erasure (503), or the whole send job.
    Nothing for a draft gone (erased since its claim), nor on SQLite, whose one write lock is the database's: there
    the customer is not even read (a statement per email for nothing)."""
    if session.get_bind().dialect.name == "sqlite":
        return
    customer = session.execute(
        select(Customer.id, Customer.email).join(Draft, Draft.customer_id == Customer.id).where(Draft.id == draft_id)
    ).one_or_none()
    if customer is not None:
        hold_household(session, _household(*customer, households))


def _household(customer_id: int, email: str, households: dict[str, list[int]]) -> list[int]:
    """The row ids of the customer and of every other id at their address, in id order, as they are locked."""
    return sorted({customer_id, *households.get(address_key(email), ())})


class Wait(NamedTuple):
    """Until when the contact policy holds a customer's email back, and why, as the draft's reasons say it."""

    until: datetime
    why: str


_EARLIEST = Wait(datetime.min, "")
# How a draft's reasons begin the contact policy's note: a later deferral replaces the earlier one.
DEFERRED = "Deferred by the contact policy"


def _mailed_wait(last_sent: datetime, min_days: float) -> Wait:
    return Wait(
        last_sent + timedelta(days=min_days),
        f"the customer was mailed {last_sent:%Y-%m-%d %H:%M} UTC, and {min_days:g} days must pass between two emails "
        "(TAILOR_SEND_MIN_DAYS_BETWEEN)",
    )


def _held_out_wait(held_out: datetime, holdout_days: float) -> Wait:
    return Wait(
        held_out + timedelta(days=holdout_days),
        f"the customer was held out of another campaign's experiment on {held_out:%Y-%m-%d}, and is not mailed "
        f"until its {holdout_days:g}-day conversion window ends",
    )


def current_deferral(
    flag_reasons: list[str], status: str, send_after: datetime | None, own_zone: str | None = None
) -> str | None:
    """The contact policy's note on an approved draft when it still holds: its moment is the draft's send time (a
    draft put back to review and approved again has a send time of its own, and the note only history). The note
    keeps its moment in UTC; it is said on the customer's clock (``own_zone``, their zone: else the shop's), as
    the campaign's page says when the draft sends: a New Yorker's email deferred to 09:00 there read "to ... 14:00
    UTC"."""
    from service.send_times import on_customer_clock  # service.send_times reads the policy's conditions from here

    if status != "approved" or send_after is None:
        return None
    moment = f"{DEFERRED} to {send_after:%Y-%m-%d %H:%M} UTC:"
    note = next((r for r in reversed(flag_reasons) if r.startswith(moment)), None)
    if note is None:
        return None
    return f"{DEFERRED} to {on_customer_clock(send_after, '%Y-%m-%d %H:%M', own_zone)}:{note.removeprefix(moment)}"


def moved_deferral(flag_reasons: list[str], send_after: datetime, moment: datetime) -> list[str]:
    """A draft's reasons with the contact policy's note on its send time (``send_after``; none: as they are) said
    at ``moment`` instead, where its send time moved with its customer to another zone (service.zone_moves)."""
    held = f"{DEFERRED} to {send_after:%Y-%m-%d %H:%M} UTC:"
    moved = f"{DEFERRED} to {moment:%Y-%m-%d %H:%M} UTC:"
    return [moved + reason.removeprefix(held) if reason.startswith(held) else reason for reason in flag_reasons]


def without_deferrals(flag_reasons: list[str]) -> list[str]:
    """A draft's reasons but the contact policy's notes: what a person is asked to look at, when it is flagged."""
    return [reason for reason in flag_reasons if not reason.startswith(DEFERRED)]


def _defer(draft: Draft, wait: Wait, timezone: str) -> None:
    """Move the draft's send time past ``wait`` and say why in its reasons (not flagged: the due-check sends it), at
    its time of day on its customer's clock: their zone, else the shop's (``timezone``)."""
    zone = ZoneInfo(draft.customer.timezone or timezone)
    meant = _time_of_day_meant(draft, zone)
    draft.send_after = wait.until if meant is None else at_time_of_day(wait.until, meant, zone)
    draft.at_wait_end = meant is None
    note = f"{DEFERRED} to {draft.send_after:%Y-%m-%d %H:%M} UTC: {wait.why}"
    draft.flag_reasons = [*without_deferrals(draft.flag_reasons), note]


def _mailed_at_address(session: Session, draft_ids: list[int], since: datetime) -> dict[int, datetime]:
    """Of these drafts, those whose customer's address got an email after ``since`` under any customer id (the
    addresses compared as service.addresses compares them), with the latest such email's time."""
    addresses = {
        draft_id: address_key(email)
        for draft_id, email in session.execute(
            select(Draft.id, Customer.email)
            .join(Customer, Customer.id == Draft.customer_id)
            .where(Draft.id.in_(draft_ids), Customer.email != "")
        )
    }
    if not addresses:
        return {}
    latest = addresses_mailed_since(session, since, among=set(addresses.values()), besides=list(addresses))
    return {draft_id: latest[key] for draft_id, key in addresses.items() if key in latest}


def addresses_mailed_since(
    session: Session, since: datetime, among: set[str] | None = None, besides: list[int] | None = None
) -> dict[str, datetime]:
    """The addresses (as service.addresses compares them) mailed after ``since``, of ``among`` when given, each with
    its latest email's time, by sends of other drafts than ``besides``. An imported send's address is not known: its
    customer's stands in for it."""
    recipient = aliased(Customer)
    sent_to = func.coalesce(Send.to_email_key, recipient.email_key)
    statement = (
        select(sent_to, func.max(Send.sent_at))
        .join(recipient, recipient.id == Send.customer_id)
        .where(Send.sent_at > since)
        .group_by(sent_to)
    )
    if among is not None:
        statement = statement.where(sent_to.in_(among))
    if besides:
        statement = statement.where(not_their_own(besides))
    return dict(session.execute(statement).all())


def _time_of_day_meant(draft: Draft, zone: ZoneInfo) -> time | None:
    """The time of day on the customer's clock (``zone``) the draft's send time is at, kept when it is deferred (none
    for a draft without one: it goes as the wait ends): a draft deferred from its customer's best hour went out at
    whatever hour the policy's wait ended, often the night; and one deferred across a daylight-saving change, an hour
    off its customer's habit. A time of day the clock skipped (02:00 the night Berlin enters summer time) was sent
    at the moment after the gap (03:00), which the clock shows for its own time of day too: the campaign's time of
    day says which was meant, else a best hour of 02:00 deferred from that night went at 03:00 on every later day."""
    if draft.send_after is None or draft.at_wait_end:  # a wait's end, deferred again: the new wait's end
        return None
    skipped = _skipped_time_of_day(draft.send_after, zone)
    if skipped is not None and _campaign_time_of_day(draft, zone) == skipped:
        return skipped
    return wall_clock(draft.send_after, zone).time()


def _skipped_time_of_day(moment: datetime, zone: ZoneInfo) -> time | None:
    """The time of day ``zone``'s clock skipped just before ``moment`` which is sent at ``moment`` (at_time_of_day,
    scoring.send_time.next_send_times): 02:30 for 03:30 the night Berlin enters summer time; none for a moment that
    is no such."""
    jump = wall_clock(moment, zone) - wall_clock(moment - timedelta(days=1), zone) - timedelta(days=1)
    skipped = wall_clock(moment, zone) - jump
    if jump <= timedelta(0) or on_the_clock(skipped, zone) != moment:
        return None
    return skipped.time()


def _campaign_time_of_day(draft: Draft, zone: ZoneInfo) -> time | None:
    """The time of day on the customer's clock its campaign's drafts go at: its scheduled moment's, else (scheduled
    at best hours, or sent at them with no moment of its own) the customer's best hour (none where too few sends are
    left to learn it); read only for a send time that may stand for a skipped time of day, once a year in a zone."""
    campaign = draft.campaign
    if campaign.scheduled_at is not None and not campaign.at_best_hour:
        return wall_clock(campaign.scheduled_at, zone).time()
    try:
        (hour,) = best_hours(object_session(draft), [draft.customer.external_id])
    except NotReady:
        return None
    return time(hour.best_hour)
