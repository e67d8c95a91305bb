"""Send-time optimization for the API: each customer's best send hour from their past opens.

``scoring.send_time.best_hours_from_counts`` does the work, from sends and opens counted by the database per
hour (a shop's sends are not read one by one): a customer's open rate at each hour is shrunk towards the
shop's rate at that hour, so a customer with little history gets the population's best hour
(``source = population``). Hours are hours of each customer's clock, whatever the server's zone: their own zone
(``Customer.timezone``, a customers file's `timezone`), else the shop's, `TAILOR_SEND_TIMEZONE` (UTC unless set);
customers keep their habits by their own clock, across daylight-saving changes, and the shop's population hours are
learned over everyone's local hours (10:00 in New York and 10:00 in Los Angeles are one hour, 10). The moments
kept (``sends.sent_at``, ``drafts.send_after``) stay UTC, as every moment the service keeps (``service.clock``).
Sends younger than ``TAILOR_SCORING_OUTCOME_DAYS`` are not learned from, since their opens may still come.
``schedule_at_best_hours`` gives approved drafts the moment to send them (``drafts.send_after``), which the
send job and its periodic due-check honour.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, selectinload

from service.clock import as_text, as_utc, utcnow
from service.db.batches import rows_where_in
from service.db.models import Campaign, Customer, Draft, Send, due_moment
from service.draft_orders import AUDIENCE_ORDER
from service.errors import InvalidInput, NotReady, Problem
from service.pipeline import frames
from service.pipeline.policy_conditions import not_their_own
from service.schemas import SendTimeOut
from service.settings import ScoringSettings, SendScheduleSettings


def best_hours(session: Session, customer_ids: list[str]) -> list[SendTimeOut]:
    """The best send hour of each customer, in the order given, from sends old enough for their opens to be in
    (``TAILOR_SCORING_OUTCOME_DAYS``: counted, a campaign sent at 17:00 an hour ago made 17:00 look like the hour
    nobody opens)."""
    from scoring.send_time import best_hours_from_counts

    timezone = SendScheduleSettings().timezone
    population, customers = _history(session, customer_ids, timezone)
    table = best_hours_from_counts(population, customers, customer_ids).reset_index()
    zones = dict(rows_where_in(session, (Customer.external_id, Customer.timezone), Customer.external_id, customer_ids))
    return [SendTimeOut(**row, timezone=zones.get(row["customer_id"]) or timezone) for row in table.to_dict("records")]


def campaign_send_times(
    session: Session, campaign_id: int, limit: int | None = None, offset: int = 0
) -> list[SendTimeOut]:
    """The best send hour of each customer with a draft in the campaign, in the audience's order, the order a send
    mails them in (``limit`` of them from ``offset``; all without it)."""
    customer_ids = list(
        session.scalars(
            select(Customer.external_id)
            .join(Draft, Draft.customer_id == Customer.id)
            .where(Draft.campaign_id == campaign_id)
            .order_by(*AUDIENCE_ORDER)
            .limit(limit)
            .offset(offset)
        )
    )
    return best_hours(session, customer_ids) if customer_ids else []


def require_send_history(session: Session) -> None:
    """Raise NotReady when the past sends old enough to learn send times from are too few, or all at one hour
    (``scoring.send_time.require_history``): a best-hour send is refused with it before it is queued."""
    _history(session, [], SendScheduleSettings().timezone)


def _history(session: Session, customer_ids: list[str], timezone: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sends and opens send times are learned from (``frames.send_open_counts``: per hour of ``timezone``
    over the shop, and per customer of ``customer_ids``), once the shop's are found enough (``_require_history``)."""
    sent_before = ScoringSettings().outcomes_due()
    population, customers = frames.send_open_counts(session, customer_ids, sent_before=sent_before, timezone=timezone)
    _require_history(session, population, _in_utc(session, population, timezone, sent_before))
    return population, customers


def _in_utc(session: Session, population: pd.DataFrame, timezone: str, sent_before: datetime) -> pd.DataFrame:
    """The sends per hour of UTC: a dates-only file's midnights, which a zone's clock can show at two hours (the
    shop's, or a customer's own)."""
    if timezone == "UTC" and not session.scalar(select(exists().where(Customer.timezone.is_not(None)))):
        return population
    return frames.send_open_counts(session, [], sent_before=sent_before, timezone="UTC", own_zones=False)[0]


def _require_history(session: Session, population: pd.DataFrame, utc_population: pd.DataFrame | None = None) -> None:
    """NotReady, saying what to do, for a shop's sends per hour that no hour can be learned from: import more, or
    wait for the younger sends' opens to come in."""
    from scoring.errors import NotEnoughData
    from scoring.send_time import require_history

    if not population["sends"].sum():
        days = ScoringSettings().outcome_days
        raise NotReady(
            f"There are no sends older than {days:g} days (TAILOR_SCORING_OUTCOME_DAYS: younger ones may still be "
            f"opened) to learn send times from.{_younger_note(session)} Import past sends (`tailor import sends "
            "FILE`), or send without at_best_hour."
        )
    try:
        require_history(population, utc_population)
    except NotEnoughData as error:
        raise NotReady(
            f"{error}{_younger_note(session)} Import more past sends, with their times (`tailor import sends FILE`), "
            "or send without at_best_hour."
        ) from None


def _younger_note(session: Session) -> str:
    """How many sends are too young to learn from yet, which count once their opens are in (empty for none): a
    shop short of history because its sends are recent need only wait."""
    settings = ScoringSettings()
    _, younger = frames.count_sends(session, settings.outcomes_due())
    if not younger:
        return ""
    many = younger != 1
    return (
        f" {younger:,} more {'were' if many else 'was'} sent within {settings.outcome_days:g} days and "
        f"{'count' if many else 'counts'} once {'their' if many else 'its'} opens are in (TAILOR_SCORING_OUTCOME_DAYS)."
    )


def shop_zone() -> ZoneInfo:
    """The shop's clock, ``TAILOR_SEND_TIMEZONE``: read from the settings once for many moments (reading them took
    1.7 ms, 35 s of the due-check that held back 20,000 late drafts)."""
    return ZoneInfo(SendScheduleSettings().timezone)


def on_shop_clock(moment: datetime, pattern: str, zone: ZoneInfo | None = None) -> str:
    """A moment as a person reads it: on the shop's clock (``TAILOR_SEND_TIMEZONE``, on which sends are scheduled
    and best hours kept; ``zone``, read by ``shop_zone``, when told), with its zone's name ("Fri 04 Dec 09:00 CET");
    the review page's times and the reasons it shows. A marketer in Berlin who scheduled a send for 9:00 read
    "08:00 UTC"."""
    local = as_utc(moment).replace(tzinfo=UTC).astimezone(zone or shop_zone())
    return f"{local.strftime(pattern)} {local.tzname()}"


def on_customer_clock(moment: datetime, pattern: str, own_zone: str | None, shop: ZoneInfo | None = None) -> str:
    """A moment as its customer lives it: on their own clock, named by their zone ("Fri 09:00 America/New_York"),
    for a customer with a zone of their own (``Customer.timezone``) other than the shop's; else on the shop's clock
    (``on_shop_clock``; ``shop``, read by ``shop_zone``, when told). A Berlin shop's page said a New Yorker's email
    at their best hour, 09:00, went at 15:00 CET. Named in full: "IST" or "+0545" tell a reader no place."""
    shop = shop or shop_zone()
    if not own_zone or own_zone == shop.key:
        return on_shop_clock(moment, pattern, shop)
    local = as_utc(moment).replace(tzinfo=UTC).astimezone(ZoneInfo(own_zone))
    return f"{local.strftime(pattern)} {own_zone}"


def campaign_zones(session: Session, campaign_id: int) -> list[str]:
    """The zones the campaign's customers (those it has drafts for) live in, by name and in order (the shop's,
    ``TAILOR_SEND_TIMEZONE``, for those without one of their own): a campaign sent to several is not one time of
    day for everyone. Counted by the database, one row a zone: 0.05 s over 100,000 drafts, so not at all for a shop
    none of whose customers has a zone of their own."""
    shop = SendScheduleSettings().timezone
    if not session.scalar(select(exists().where(Customer.timezone.is_not(None)))):
        return [shop]
    zone = func.coalesce(Customer.timezone, shop)
    return list(
        session.scalars(
            select(zone)
            .join(Draft, Draft.customer_id == Customer.id)
            .where(Draft.campaign_id == campaign_id)
            .group_by(zone)
            .order_by(zone)
        )
    )


def waiting_drafts(session: Session, campaign: Campaign, now: datetime) -> dict[str, Any]:
    """How many approved drafts of the campaign wait for a later send time (their customer's best hour, the
    campaign's scheduled moment, the contact policy) or to be tried again (an address the mail server refused for
    now), and when the next one falls due (the later of the two times). A draft whose customer may no longer be
    mailed (unsubscribed, bounced, consent withdrawn since its approval) waits for nothing: the send skips it."""
    due_at = due_moment()
    waiting, next_at = session.execute(
        select(func.count(), func.min(due_at))
        .join(Customer, Customer.id == Draft.customer_id)
        .where(Draft.campaign_id == campaign.id, Draft.status == "approved", due_at > now, *frames.MAILABLE)
    ).one()
    told = {"waiting": waiting, "next_send_at": as_text(next_at) if next_at else None}
    if campaign.scheduled_at is not None and campaign.scheduled_at > now:
        told["mailed_recently_by_then"] = _mailed_recently_by(session, campaign.id, campaign.scheduled_at)
    return told


def _mailed_recently_by(session: Session, campaign_id: int, moment: datetime) -> int:
    """How many of the campaign's approved drafts go to customers mailed within the contact policy's days before
    ``moment``, by the emails sent so far (under their own id, or to their address under another: as
    ``service.audiences.mailed_recently`` counts them): sent then, they would wait (a marketer scheduling for Friday
    learns it then, not from the audience preview, which counts from now). At best hours each draft goes at or after
    ``moment``, so this is the most that wait. Counted by the database over the campaign's drafts alone: read into
    Python, every customer mailed within those days shop-wide was on each read of the campaign."""
    days = SendScheduleSettings().min_days_between
    if days <= 0:
        return 0
    cutoff = moment - timedelta(days=days)
    approved = select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "approved")
    others = not_their_own(approved)
    mailed = select(Send.customer_id).where(Send.sent_at > cutoff, others)
    recipient = aliased(Customer)
    addresses = (
        select(func.coalesce(Send.to_email_key, recipient.email_key))
        .join(recipient, recipient.id == Send.customer_id)
        .where(Send.sent_at > cutoff, others)
    )  # as contact_policy.addresses_mailed_since reads them
    return session.scalar(
        select(func.count())
        .select_from(Draft)
        .join(Customer, Customer.id == Draft.customer_id)
        .where(Draft.campaign_id == campaign_id, Draft.status == "approved")
        .where(or_(Customer.id.in_(mailed), and_(Customer.email != "", Customer.email_key.in_(addresses))))
    )


# How far ahead a campaign may be scheduled: further is a mistyped year, and best hours past the calendar's end
# (year 9999) failed the send's job.
SCHEDULE_HORIZON = timedelta(days=365)


def scheduled_moment(at: datetime | None, batch_size: int | None) -> datetime | None:
    """``at`` as the service keeps moments (UTC without a zone; an ``at`` without a zone is UTC already), checked:
    InvalidInput naming `at` for a moment that has passed or lies more than SCHEDULE_HORIZON ahead, or for `at`
    with `batch_size` (a batch is sent now, to learn from)."""
    if at is None:
        return None
    if batch_size is not None:
        problem = "schedule a whole campaign, not a batch: drop batch_size"
        raise InvalidInput("query", [Problem(None, "at", problem, "parameter")])
    # Compared in the moment's own terms (aware with aware): one at the calendar's edge cannot be converted.
    now = datetime.now(UTC) if at.tzinfo is not None else utcnow()
    if at <= now:
        problem = f"{at:%Y-%m-%d %H:%M} has passed: give a moment to come"
        raise InvalidInput("query", [Problem(None, "at", problem, "parameter")])
    if at - now > SCHEDULE_HORIZON:
        problem = f"{at:%Y-%m-%d %H:%M} is more than {SCHEDULE_HORIZON.days} days ahead: give a moment within a year"
        raise InvalidInput("query", [Problem(None, "at", problem, "parameter")])
    return as_utc(at)


def schedule_campaign(session: Session, campaign: Campaign, when: datetime | None, at_best_hour: bool = False) -> int:
    """A request to send decides when each approved draft of the campaign goes: at ``when`` (None: now, the
    campaign unscheduled), whatever send time the draft had (an earlier schedule, an earlier request's best hour,
    the contact policy's wait, which the send applies again); drafts approved later get ``when`` too, or with
    ``at_best_hour`` their customer's best hour from ``when`` on (``approved_send_after``). A postponed campaign
    mailed drafts that kept an earlier best hour days before the moment it was scheduled for. How many drafts
    were moved."""
    campaign.scheduled_at = when
    campaign.at_best_hour = at_best_hour and when is not None
    return session.execute(
        update(Draft)
        .where(Draft.campaign_id == campaign.id, Draft.status == "approved")
        .values(send_after=when, at_wait_end=False)
        .execution_options(synchronize_session=False)
    ).rowcount


def approved_send_after(campaign: Campaign, now: datetime) -> datetime | None:
    """The send time a draft approved now gets: the campaign's scheduled moment while it is to come; once it has
    passed, now, so that the next due-check sends it (a draft approved after a scheduled send was never sent, by
    the due-check or anyone, and counted as waiting nowhere); none for a campaign never scheduled. In a campaign
    scheduled at best hours, ``give_approved_best_hours`` moves it on to the customer's best hour."""
    if campaign.scheduled_at is None:
        return None
    return max(campaign.scheduled_at, now)


def planned_send_moment(send_after: datetime | None, scheduled_at: datetime | None, written_at: datetime) -> datetime:
    """When a draft's email is planned to go, which its scores are for (the engagement model reads the send's hour
    and weekday): its own send time (``send_after``: its customer's best hour, the contact policy's wait, the
    campaign's moment given at approval); else its campaign's scheduled moment, or the moment the draft was written
    (``written_at``) where that came later (it goes once approved, ``approved_send_after``); else the moment it was
    written. A campaign never scheduled goes when a person sends it, which nobody knows yet: the moment of writing,
    kept with the draft, gives the same scores at its generation and at every later edit, preview or refresh, where
    the hour of each scoring moved them with nothing of the email changed. Not the customer's best hour: whether the
    campaign goes at best hours is decided only when it is sent."""
    if send_after is not None:
        return send_after
    return written_at if scheduled_at is None else max(scheduled_at, written_at)


def schedule_at_best_hours(
    session: Session, campaign_id: int, now: datetime, draft_ids: list[int] | None = None
) -> int:
    """Give each approved draft of the campaign (of ``draft_ids`` only, when given) its customer's next best hour
    after ``now`` (a request to send calls it once ``schedule_campaign`` has given every approved draft the
    request's moment; an approval in a campaign scheduled at best hours, for the drafts it approved); returns how
    many."""
    from scoring.send_time import next_send_times

    statement = select(Draft).where(Draft.campaign_id == campaign_id, Draft.status == "approved")
    if draft_ids is not None:
        statement = statement.where(Draft.id.in_(draft_ids))
    drafts = list(session.scalars(statement.options(selectinload(Draft.customer)).order_by(Draft.id)))
    if not drafts:
        return 0
    hours = best_hours(session, [draft.customer.external_id for draft in drafts])
    moments = next_send_times([h.best_hour for h in hours], now, zones=[h.timezone for h in hours])  # each their own
    for draft, when in zip(drafts, moments, strict=True):
        draft.send_after, draft.at_wait_end = when, False
    return len(drafts)


def give_approved_best_hours(
    session: Session, campaign: Campaign, draft_ids: list[int], moment: datetime | None
) -> None:
    """Drafts just approved in a campaign scheduled at best hours wait for their customer's best hour from
    ``moment`` (``approved_send_after``) on, as the drafts approved before the request; where no sends are left
    to learn hours from (erased since), they keep ``moment``."""
    if moment is None or not campaign.at_best_hour or not draft_ids:
        return
    with suppress(NotReady):
        schedule_at_best_hours(session, campaign.id, moment, draft_ids)
