"""Sends a campaign's approved drafts through SMTP and records each send, so its events can be tracked.

A draft with a send time (``send_after``, each customer's best hour) waits for it: ``send_campaign`` sends
only what is due, and ``send_due_drafts``, run on a schedule by the API process, sends the rest as it falls due.
So does a draft whose address the server refused for now (``retry_after``, ``RETRY_MINUTES``).

Each draft is sent by one sender, however many run at once (the due-checks of two servers on one database, two sends of
a campaign asked at once): before its SMTP call a sender claims it, approved → "sending" by a conditional UPDATE that
only one can win, and commits the claim; a draft has one send at most (a unique index, should anything else race). The
send is recorded, and committed, before the SMTP call, as its id is what the email's unsubscribe link signs; the call is
made with no transaction open (on SQLite a transaction that writes holds the database's one write lock: every approval
and unsubscribe waited while a slow relay took each email), and the "delivered" event and the draft's "sent" are written
once the server has answered. A mail server that refuses the email, or an email that cannot be written, deletes its send
(not an earlier email's, that a draft approved again went on) and gives the claim back (approved, or skipped). One that
may have taken it (the connection lost while it was handed over, or the process stopped then) keeps the send, so that
the link the customer may have unsubscribes them and no one else, and leaves the draft "sending" rather than approved to
be mailed again: the send puts it back to review, flagged as perhaps sent, as the next start on this host or the next
send of its campaign does for drafts of processes that no longer run (service.jobs.recovery); so does any send or
due-check once a claim is an hour old, whichever host made it. A person who approves it again sends it on that same
send.

A send may keep several connections to the mail server (``TAILOR_SMTP_CONNECTIONS``), one thread each, with the
drafts split between them by address (a campaign mails an address once, and each connection knows what it mailed);
the job's thread reports their progress, and one that fails, or a cancellation, stops the others after the email in
hand: the claims above keep each draft to one of them as they keep it to one of two servers. A server refusing every
address or every email alike is told by the refusals of all of them (_Tally), and a failure, once all have stopped,
counts what each sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import smtplib
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, selectinload

from generation.brands import load_brand
from generation.locales import writing_locale
from generation.render import html_locale
from scoring.experiments import HOLDOUT
from service.addresses import address_key, households, stop_shared_addresses
from service.campaigns import get_campaign
from service.clock import as_text, utcnow
from service.db.batches import batches
from service.db.clock import database_now
from service.db.models import Campaign, Customer, Draft, Event, Send, Variant, left_to_the_due_check
from service.db.session import session_scope
from service.drafts import AUDIENCE_ORDER, failed_checks, selected_variant
from service.erasures import ERASED_TEXT
from service.errors import Conflict, InvalidEnvironment, MailServerUnavailable, NotFound, TailorError
from service.experiments import plan_arms, record_send
from service.jobs.recovery import back_to_review, flag_interrupted_sends, worker_name
from service.pipeline.contact_policy import defer_if_mailed_meanwhile, defer_recently_mailed
from service.pipeline.freshness import HeldBack, hold_back_late, hold_back_stale
from service.pipeline.generate import email_features
from service.pipeline.mail import (
    AddressNotDeliverable,
    EmailRefused,
    EmailRefusedByPolicy,
    MailServer,
    answer_text,
    build_message,
    enhanced_status,
    envelope_sender,
    new_message_id,
    offers_smtputf8,
    sender_of,
    smtp_address,
)
from service.pipeline.unsubscribe_links import links_unanswered, unreachable_links
from service.segments import segment_named
from service.send_times import schedule_at_best_hours, schedule_campaign, waiting_drafts
from service.settings import ExperimentSettings, SendScheduleSettings, SmtpSettings, on_this_machine
from service.unsubscribe import UnsubscribeLinks

log = logging.getLogger("tailor.sending")
RECORD_TRIES = 3  # recording a sent email, while the database is busy
PROGRESS_SECONDS = 1.0  # how often a send over several connections reports how far it got
# A relay that refuses the first addresses of a send for its own reasons (554 5.7.1 Relay access denied: it wants a
# login) refuses every other alike: the send stops after this many in a row with none sent, rather than asking for
# each of a campaign's 100,000 and ending "succeeded, sent 0". Few, as each asks a server that will not carry the
# mail; not one, as a relay's policy may refuse a few recipients and carry the others. Those of one domain (a
# domain it will not mail) are no sign of the rest: the run must span two domains, or the send stopped at the same
# addresses every time and never mailed the campaign's others.
REFUSALS_TO_STOP = 5
# How long a draft waits before its address is asked for again, after the mail server refused it for now (4xx:
# greylisting, a full mailbox, a relay's rate limit) the 1st, 2nd, ... time: greylisting lets a sender in after
# minutes, a full mailbox may take hours. Refused once more after the last wait (about 16 hours of tries), the draft
# goes back to a person. Without a wait, a send of one email at a time stopped at it, first in the audience's order,
# and a scheduled campaign's due-check asked for it every five minutes without end.
RETRY_MINUTES = (15, 30, 60, 120, 240, 480)
# Why a draft went back to review after the connection was lost while its email was handed over.
SEND_CUT_OFF = (
    "Sending was cut off: the connection to the mail server was lost while it was taking this email ({error}), "
    "so the customer may have it already. Approve it again to send it, or reject it"
)


def _hold_out(session: Session, campaign: Campaign, draft_ids: list[int]) -> dict[int, str]:
    """An experiment's arm for each draft of this batch that takes part in it (service.experiments.plan_arms);
    held-out drafts get the status ``holdout``."""
    drafts = [
        draft
        for batch in batches(draft_ids)
        for draft in session.scalars(select(Draft).where(Draft.id.in_(batch)).options(selectinload(Draft.customer)))
    ]
    arms = plan_arms(session, campaign, drafts)
    for draft in drafts:
        if arms.get(draft.id) == HOLDOUT:
            draft.status = "holdout"
    return arms


def _variant_for(draft: Draft, arm: str | None) -> Variant | None:
    """The variant of the draft's experiment arm, else the selected one: with no experiment or arm (a draft its
    reviewer pinned), no such label, or when the arm's variant failed a guardrail check for this customer (only
    the approved variant may be sent despite a failed check, and only after a person overrode it)."""
    chosen = next((v for v in draft.variants if arm is not None and v.label == arm and not failed_checks(v)), None)
    return chosen or selected_variant(draft)


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


def _due(campaign_id: int, now: datetime, due_check: bool):
    return select(Draft.id).where(Draft.campaign_id == campaign_id, *_due_now(now, due_check)).order_by(*AUDIENCE_ORDER)


def _to_mail(
    session: Session, campaign: Campaign, now: datetime, limit: int | None, due_check: bool = False
) -> tuple[list[int], HeldBack, int, dict[int, str]]:
    """The due drafts to mail now, with those held back (``hold_back_stale``; for the due-check, ``hold_back_late``
    first), how many were deferred (the contact policy) and each experiment draft's arm (held-out drafts are not
    mailed). With
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
        statement = _due(campaign.id, now, due_check)
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
        unmailable = _unmailable(session, fresh)
        mailable, later = defer_recently_mailed(
            session, [draft_id for draft_id in fresh if draft_id not in unmailable], now, schedule.min_days_between,
            holdout_days=conversion_window, timezone=schedule.timezone,
        )  # fmt: skip
        going = unmailable | set(mailable)
        fresh = [draft_id for draft_id in fresh if draft_id in going]
        deferred += later
        if campaign.holdout_share is not None and fresh:
            arms |= _hold_out(session, campaign, fresh)
        added = [draft_id for draft_id in fresh if arms.get(draft_id) != HOLDOUT]
        to_mail, to_skip = to_mail + added, to_skip + len(unmailable.intersection(added))
        if limit is None:
            break
    return to_mail, held_back, deferred, arms


def _unmailable(session: Session, draft_ids: list[int]) -> set[int]:
    """Of these drafts, those whose customer may not be mailed now (unsubscribed, no consent, a bounced address)."""
    unmailable = set()
    for batch in batches(draft_ids):
        rows = session.execute(select(Draft.id, Customer).join(Customer).where(Draft.id.in_(batch)))
        unmailable |= {draft_id for draft_id, customer in rows if not customer.mailable}
    return unmailable


def send_campaign(
    progress, engine: Engine, campaign_id: int, settings: SmtpSettings | None = None, limit: int | None = None,
    at_best_hour: bool = False, at: datetime | None = None, due_check: bool = False, links_must_answer: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Job: send the approved, not yet sent drafts that are due (with ``limit``, ``limit`` emails: see _to_mail);
    customers who unsubscribed (or whose address bounced) meanwhile are skipped, as is a draft to an address the
    campaign mailed under another customer id (flagged, naming that customer), and drafts whose products
    changed price or went out of stock since they were written go back to review (the result says how many, for
    each reason, and lists the first with why: freshness.HeldBack; a send that fails after holding drafts back says
    the same in its failed job's result). A request to send (not the due-check) first decides when every approved
    draft goes (service.send_times.schedule_campaign): now, or at ``at``; with ``at_best_hour``, at its customer's
    best hour from then on, and those not yet due wait for it. In an experiment, held-out customers are sent nothing
    and the others get the variant of the arm Thompson sampling allots them (service.experiments), except a draft whose
    reviewer chose its variant (``pinned``: sent that variant, in no arm; counted in the result). A customer mailed
    less than the contact policy's days ago waits (``deferred``: the draft stays approved, its send time moved
    to when they may be mailed again). With ``at`` (the campaign scheduled, or rescheduled), the approved drafts,
    whatever time an earlier request gave them, and drafts approved later get that moment (with ``at_best_hour``,
    each customer's best hour from then on) and wait for it; without it, a scheduled campaign is unscheduled and
    sent now. With ``links_must_answer`` (a send with no server of its own: the command line's), nothing is sent
    while Tailor does not answer where the emails' unsubscribe links lead."""
    settings = settings or SmtpSettings()
    now = utcnow()
    with session_scope(engine) as session:
        # NotFound, saying when, for a campaign deleted while this job waited
        if get_campaign(session, campaign_id).status == "generating":  # it came while this job was queued
            raise Conflict(
                f"Campaign {campaign_id} is being generated: send it once it is ready (its approved drafts stay)."
            )
        flag_interrupted_sends(session, campaign_id)  # drafts a stopped sender left "sending": back to review
        if not due_check:  # a request to send: schedules, reschedules or unschedules; the due-check only sends
            scheduled = at if at is not None and at > now else None
            schedule_campaign(session, session.get(Campaign, campaign_id), scheduled, at_best_hour=at_best_hour)
            if at_best_hour:
                schedule_at_best_hours(session, campaign_id, scheduled or now)
        campaign = session.get(Campaign, campaign_id)
        draft_ids, held_back, deferred, arms = _to_mail(session, campaign, now, limit, due_check)
        brand = load_brand(campaign.brand.slug)  # once: the loop below writes each send's locale with it
        sender = sender_of(brand.slug, settings)
        experiment = campaign.holdout_share is not None
        mailed = _mailed_addresses(session, campaign_id)
        schedule, window = SendScheduleSettings(), ExperimentSettings().conversion_window_days
        # For the contact policy's second look, as each email goes (only its wait between emails reads addresses).
        sharing = households(session) if draft_ids and schedule.min_days_between > 0 else {}
    held_out = sum(arm == HOLDOUT for arm in arms.values())
    links = UnsubscribeLinks.configured()
    if draft_ids and not on_this_machine(settings.host) and on_this_machine(urlsplit(links.base_url).hostname or ""):
        with _held_back_told(held_back):  # mail going out to the world with links only this machine reaches
            raise InvalidEnvironment(
                f"Nothing was sent: the emails' unsubscribe links would start with {links.base_url}, which only this "
                f"machine reaches, and the mail goes out through {settings.host}. Set TAILOR_PUBLIC_URL to the "
                "address people reach Tailor at (https://...): recipients must be able to unsubscribe, as the law "
                "requires."
            )
    if draft_ids and links_must_answer and (silent := links_unanswered(links.base_url)):
        with _held_back_told(held_back):
            raise InvalidEnvironment(
                f"Nothing was sent: the emails' unsubscribe links would lead to {links.base_url}, and {silent}, so "
                "recipients could not unsubscribe, as the law requires. Start `tailor serve` where TAILOR_PUBLIC_URL "
                "points (or set it to where Tailor runs); if Tailor answers there for recipients but not for this "
                "machine, send with --unchecked-links."
            )
    outbox = _Outbox(
        engine=engine, campaign_id=campaign_id, settings=settings, arms=arms, experiment=experiment, mailed=mailed,
        schedule=schedule, window=window, sharing=sharing, brand=brand, sender=sender, links=links, now=now,
        total=len(draft_ids),
    )  # fmt: skip
    tally = _Tally(deferred=deferred)
    # No connection when nothing is due now: a campaign scheduled for later was reported failed with the server down.
    with _held_back_told(held_back):
        connections = _split_by_address(engine, draft_ids, settings.connections)
        try:
            if len(connections) == 1:  # in this thread, reporting each email
                report = lambda: progress(*tally.progress(outbox.total))  # noqa: E731
                _send_over_one_connection(outbox, tally, connections[0], report)
            elif connections:
                _send_over_connections(outbox, tally, connections, progress)
        except TailorError as failure:
            if tally.relay_stopped:  # every connection's, the emails in hand when it stopped too
                _not_theirs(engine, tally.refused_in_a_row)
            if failure is tally.not_opened and tally.sent:
                raise _not_opened_beside(settings, tally, outbox.total, failure) from failure
            if isinstance(failure, MailServerUnavailable) and failure.done_before is not None and failure.__cause__:
                # told again once every connection stopped: what each sent, and cut off, with the email in hand
                raise _failed_after(settings, tally, outbox.total, failure.__cause__) from failure.__cause__
            raise
    refused = tally.refused
    _mark_sent(engine, campaign_id, tally.sent)
    with session_scope(engine) as session:
        later = waiting_drafts(session, session.get(Campaign, campaign_id), now)
    if not draft_ids:  # the job's message says why nothing went, rather than nothing
        waiting = f"; {later['waiting']:,} approved wait for their send time" if later["waiting"] else ""
        progress(1, 1, f"nothing to send now: no approved draft is due{waiting}")
    result: dict[str, Any] = {
        "sent": tally.sent, "skipped": tally.skipped, "deferred": tally.deferred, **later, **held_back.told(),
        "refused": refused,
    }  # fmt: skip
    if tally.sent and (unreachable := unreachable_links(links.base_url)):
        result["warnings"] = [unreachable]
        log.warning("unsubscribe links recipients cannot reach", extra={"campaign_id": campaign_id, "sent": tally.sent})
    if experiment:
        result.update(held_out=held_out, sent_by_arm=tally.sent_by_arm, pinned=tally.pinned)
    return result


@dataclass(frozen=True)
class _Outbox:
    """What every connection of one send reads: the campaign, its settings and the state shared between them
    (``mailed``: each connection has its own addresses, see _split_by_address; ``stop``: set when one fails)."""

    engine: Engine
    campaign_id: int
    settings: SmtpSettings
    arms: dict[int, str]
    experiment: bool
    mailed: dict[str, str]
    schedule: SendScheduleSettings
    window: float
    sharing: dict[str, list[int]]
    brand: Any
    sender: str
    links: UnsubscribeLinks
    now: datetime
    total: int
    stop: threading.Event = field(default_factory=threading.Event)


@dataclass
class _Tally:
    """What a send did so far, over all its connections: each updates it under ``lock``."""

    deferred: int = 0
    sent: int = 0
    skipped: int = 0
    pinned: int = 0
    done: int = 0
    sent_by_arm: dict[str, int] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)
    # The drafts whose addresses the server refused one after another for its own reasons, over every connection,
    # and their domains; ``relay_stopped`` once they stopped the send (see _refused_in_a_row).
    refused_in_a_row: list[int] = field(default_factory=list)
    refused_domains: set[str] = field(default_factory=set)
    relay_stopped: bool = False
    refused_by_policy: int = 0  # emails refused by policy, over every connection, while none was sent
    cut_off: list[int] = field(default_factory=list)  # drafts whose email was handed over when a connection was lost
    not_opened: MailServerUnavailable | None = None  # the first connection the server would not open (_opened)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)

    def refuse(self, told: dict[str, Any]) -> None:
        with self.lock:
            self.refused.append(told)

    def add_arm(self, label: str) -> None:
        with self.lock:
            self.sent_by_arm[label] = self.sent_by_arm.get(label, 0) + 1

    def refused_in_a_row_stop(self, draft_id: int, domain: str, own_reasons: bool) -> bool:
        """Count a refused address in the run of those the server refused for its own reasons (one refused for
        another reason ends the run); whether the run stops the send: ``REFUSALS_TO_STOP`` at two domains or more,
        none sent. Over every connection, as the server refuses them all alike: the run of one stopped the send and
        left the others' drafts waiting as if refused for now."""
        with self.lock:
            if not own_reasons:
                self.refused_in_a_row, self.refused_domains = [], set()
                return False
            self.refused_in_a_row.append(draft_id)
            self.refused_domains.add(domain)
            stop = not self.sent and len(self.refused_in_a_row) >= REFUSALS_TO_STOP and len(self.refused_domains) > 1
            self.relay_stopped = self.relay_stopped or stop
            return stop

    def refused_by_policy_stop(self) -> int:
        """Count an email refused by policy with none sent yet; how many were, once they are enough to stop the send
        (``REFUSALS_TO_STOP``), else 0. Over every connection: counted on each alone, a send over several of a small
        campaign refused alike ended "succeeded, sent 0"."""
        with self.lock:
            self.refused_by_policy += 1
            enough = not self.sent and self.refused_by_policy >= REFUSALS_TO_STOP
            return self.refused_by_policy if enough else 0

    def add_cut_off(self, draft_id: int) -> None:
        with self.lock:
            self.cut_off.append(draft_id)

    def progress(self, total: int) -> tuple[int, int, str]:
        return self.done, total, f"sent {self.sent}"

    def so_far(self) -> dict[str, Any]:
        """A failed send's result: what went before, as a finished send's result counts it."""
        with self.lock:
            return {"sent": self.sent, "skipped": self.skipped, "deferred": self.deferred, "refused": self.refused}


def _split_by_address(engine: Engine, draft_ids: list[int], connections: int) -> list[list[int]]:
    """The drafts, in their order, split between at most ``connections`` connections to the mail server, every
    draft to one address on the same one: a campaign mails an address once, and each connection knows only what it
    mailed itself since the send began."""
    if connections <= 1 or len(draft_ids) <= 1:
        return [draft_ids] if draft_ids else []
    addresses: dict[int, str] = {}
    with session_scope(engine) as session:
        for batch in batches(draft_ids):
            rows = session.execute(
                select(Draft.id, Customer.email)
                .join(Customer, Customer.id == Draft.customer_id)
                .where(Draft.id.in_(batch))
            )
            addresses |= {draft_id: address_key(email) for draft_id, email in rows}
    split: list[list[int]] = [[] for _ in range(connections)]
    for draft_id in draft_ids:
        key = addresses.get(draft_id) or str(draft_id)  # erased since: alone
        split[zlib.crc32(key.encode()) % connections].append(draft_id)
    return [part for part in split if part]


def _send_over_connections(outbox: _Outbox, tally: _Tally, connections: list[list[int]], progress) -> None:
    """Send each part of the drafts over a connection of its own, each in a thread; this one reports progress (a
    cancellation it raises stops every connection after the email in hand) and raises the first failure, once every
    connection has stopped (set ``outbox.stop``: the others send no further email)."""
    failures: list[BaseException] = []

    def run(part: list[int]) -> None:
        try:
            _send_over_one_connection(outbox, tally, part, lambda: None)
        except BaseException as error:  # handed to this thread, which raises it
            failures.append(error)
            outbox.stop.set()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run, part), name=f"smtp-{n}")  # the job's logs
        for n, part in enumerate(connections)
    ]
    for thread in threads:
        thread.start()
    try:
        while alive := [thread for thread in threads if thread.is_alive()]:
            alive[0].join(PROGRESS_SECONDS)
            progress(*tally.progress(outbox.total))
    finally:
        outbox.stop.set()  # a cancellation progress raised: each connection stops after the email in hand
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]


def _send_over_one_connection(outbox: _Outbox, tally: _Tally, draft_ids: list[int], report) -> None:
    """Send the drafts, in their order, over one connection to the mail server; ``report()`` after each one."""
    engine, campaign_id, arms, mailed = outbox.engine, outbox.campaign_id, outbox.arms, outbox.mailed
    schedule, window, sharing, sender = outbox.schedule, outbox.window, outbox.sharing, outbox.sender
    settings, links, now = outbox.settings, outbox.links, outbox.now
    undecided: list[tuple[int, EmailRefusedByPolicy]] = []  # emails refused by policy, none sent yet: approved
    with _opened(settings, tally) as server:
        smtputf8 = offers_smtputf8(server.smtp)
        from_address = envelope_sender(sender, smtputf8, f"{settings.host}:{settings.port}")
        for draft_id in draft_ids:
            if outbox.stop.is_set():  # another connection failed, or the send was cancelled
                break
            tally.add(done=1)  # here, as a draft skipped or deferred below is done too
            if not _claim(engine, draft_id):  # another sender has it, or review took it back since the send began
                continue
            handed_to_smtp = False
            try:
                with session_scope(engine) as session:
                    draft = session.scalar(
                        select(Draft)
                        .where(Draft.id == draft_id)
                        .options(selectinload(Draft.variants), selectinload(Draft.customer))
                    )
                    if draft is None:  # erased with its customer since it was claimed: nothing to send
                        continue
                    customer = draft.customer
                    variant = _variant_for(draft, arms.get(draft_id))
                    if variant is None or not customer.mailable:
                        draft.status, draft.claimed_by = "skipped", None
                        if not customer.mailable:
                            _note_unmailable(draft, customer.why_not_mailable)
                        tally.add(skipped=1)
                        continue
                    if (other := mailed.get(address_key(customer.email), customer.external_id)) != customer.external_id:
                        _skip_mailed_address(draft, other)
                        tally.add(skipped=1)
                        continue
                    if defer_if_mailed_meanwhile(
                        session, draft, now, schedule.min_days_between, window, schedule.timezone, sharing
                    ):
                        draft.status, draft.claimed_by = "approved", None  # its send time moved on
                        tally.add(deferred=1)
                        continue
                    to_address = smtp_address(customer.email, smtputf8)  # AddressNotDeliverable: this one skipped
                    now = utcnow()
                    campaign = session.get(Campaign, campaign_id)
                    if _sent_before(draft):  # recorded by a send that mailed it (a race, or a restored copy)
                        draft.status, draft.claimed_by = "sent", None
                        continue
                    # an earlier email's send, kept as its link may be out there: kept whatever becomes of this one
                    sends_again = draft.send is not None
                    send = _send_of(session, draft, customer, variant, campaign, outbox.brand, sender, now)
                    session.flush()  # the send's id is what the message's unsubscribe link signs
                    message = build_message(
                        sender=sender, to=to_address, subject=variant.subject, text=variant.text,
                        html=variant.html, message_id=send.message_id, unsubscribe_url=links.url(send.id),
                        language=send.locale,
                    )  # fmt: skip
                    send_id, label = send.id, variant.label
                # The send is committed before the mail server is asked: no write lock is held while it takes the
                # email (on SQLite, the database's only one: every approval and unsubscribe waited for it), and
                # the id its link signs is this customer's for good, whatever becomes of the email.
                handed_to_smtp = True  # a connection closed since the last email, or full, is opened again
                try:
                    server.send(message, from_addr=from_address, to_addrs=[to_address])  # not the headers'
                except BaseException as error:
                    if _nothing_taken(error) and not sends_again:
                        _forget_send(engine, send_id)
                    raise  # an email perhaps taken keeps its send, so that its link unsubscribes its customer
                recorded = _record_delivered(outbox, draft_id, send_id, label, now)
                tally.add(sent=1)
                if recorded is not None:  # None: its customer erased while the server took it
                    if recorded.arm is not None:
                        tally.add_arm(recorded.arm)
                    tally.add(pinned=int(recorded.pinned))
                    mailed[recorded.address] = recorded.external_id
                for held, why in undecided:  # emails refused by policy before this one went: for their content
                    if _claim(engine, held):  # not if another sender, or review, took it since: theirs now
                        tally.refuse(_refused_email(engine, held, why))
                undecided = []
            except smtplib.SMTPRecipientsRefused as error:  # this address only: the others still go
                tally.refuse(told := _refuse(engine, draft_id, error))
                domain = to_address.rpartition("@")[2].lower()
                if tally.refused_in_a_row_stop(draft_id, domain, _for_its_own_reasons(error)):
                    raise MailServerUnavailable(  # its refusals taken back once every connection stopped
                        f"The SMTP server at {settings.host}:{settings.port} refused {len(tally.refused_in_a_row)} "
                        f"addresses in a row, at {len(tally.refused_domains)} domains, for its own reasons, not theirs "
                        f"({told['answer']}), and would refuse the rest "
                        "alike: a relay that wants a login refuses to carry mail without one. Check "
                        "TAILOR_SMTP_USERNAME and TAILOR_SMTP_PASSWORD; nothing was sent, and the drafts stay "
                        "approved: send the campaign again to go on."
                    ) from error
            except EmailRefusedByPolicy as error:  # a filter's verdict on this email, or one on every email alike
                if tally.sent:  # the server carries the others: this one's content
                    tally.refuse(_refused_email(engine, draft_id, error))
                    continue
                _release(engine, draft_id)  # undecided until an email goes, or the next ones are refused alike
                undecided.append((draft_id, error))
                if first_refused := tally.refused_by_policy_stop():
                    raise MailServerUnavailable(
                        f"The SMTP server at {settings.host}:{settings.port} refused the first {first_refused} "
                        f"emails by its policy ({_without_address(str(error), '')}), and would refuse the rest "
                        "alike: check that the sender's domain passes SPF, DKIM and DMARC for this server, and its "
                        "reputation with it; nothing was sent, and the drafts stay approved: send the campaign again "
                        "to go on."
                    ) from error
            except EmailRefused as error:  # this email's content or size: the others still go
                tally.refuse(_refused_email(engine, draft_id, error))
            except AddressNotDeliverable as error:  # not this server's fault, nor the address's: not a bounce
                tally.refuse(_skip(engine, draft_id, "The mail server cannot take the address", str(error)))
            except ValueError as error:  # this email cannot be written (a header the mail library refuses)
                tally.refuse(_unwritable(engine, draft_id, error))
            except (smtplib.SMTPException, OSError) as error:
                # A refusal the server answered (a response code) took nothing; a connection lost while the email
                # was handed over may have lost only the server's answer: not mailed again without a person.
                perhaps_sent = handed_to_smtp and not isinstance(error, smtplib.SMTPResponseException)
                if perhaps_sent:
                    _flag_perhaps_sent(engine, draft_id, error)
                    tally.add_cut_off(draft_id)
                else:
                    _release(engine, draft_id)
                _mark_sent(engine, campaign_id, tally.sent)
                raise _failed_after(settings, tally, outbox.total, error) from error
            except IntegrityError:
                if handed_to_smtp:  # mailed, but not recorded: the draft stays "sending", as after a crash
                    raise
                _release(engine, draft_id, "sent")  # its send is recorded already: sent before, by another
            except BaseException:
                if not handed_to_smtp:  # not mailed: approved again, for the next send
                    _release(engine, draft_id)
                raise
            report()
    # refused by policy with no email sent after them to tell their content from the server's: approved still
    left = [_left_approved(engine, held, str(why)) for held, why in undecided]
    with tally.lock:
        tally.refused += left
    report()  # the last, should the last draft have been skipped or deferred


@contextlib.contextmanager
def _opened(settings: SmtpSettings, tally: _Tally) -> Iterator[MailServer]:
    """A connection of the send's to the mail server; one the server will not open is kept in the tally (the first),
    as it may come while other connections have sent emails already."""
    with contextlib.ExitStack() as connection:
        try:
            server = connection.enter_context(MailServer(settings))
        except MailServerUnavailable as error:
            with tally.lock:
                tally.not_opened = tally.not_opened or error
            raise
        yield server


def _failed_after(settings: SmtpSettings, tally: _Tally, total: int, error: BaseException) -> MailServerUnavailable:
    """The failure of a send whose connection to the mail server failed part way, saying how many emails went and
    which drafts were cut off mid-email (over every connection, once all have stopped); its result counts what went
    before, as a finished send's does."""
    with tally.lock:
        sent, cut_off = tally.sent, list(tally.cut_off)
    flagged = ""
    if len(cut_off) == 1:
        flagged = (
            f" The connection was lost while draft {cut_off[0]}'s email was handed over: the customer may have it, so "
            "it is back in review, flagged, rather than approved."
        )
    elif cut_off:
        flagged = (
            f" The connections were lost while the emails of drafts {', '.join(map(str, cut_off))} were handed over: "
            "the customers may have them, so they are back in review, flagged, rather than approved."
        )
    failure = MailServerUnavailable(
        f"The SMTP server at {settings.host}:{settings.port} failed after {sent} of {total} emails "
        f"({type(error).__name__}: {error}).{flagged} Those not sent stay approved: send the campaign again to go on."
    )
    failure.done_before = tally.so_far()
    return failure


def _not_opened_beside(
    settings: SmtpSettings, tally: _Tally, total: int, failure: MailServerUnavailable
) -> MailServerUnavailable:
    """The failure of a send one of whose connections the server would not open once others had mailed customers
    (a relay that takes fewer connections at once than TAILOR_SMTP_CONNECTIONS): its own message says that nothing
    was sent."""
    cause = failure.__cause__ or failure
    error = MailServerUnavailable(
        f"The SMTP server at {settings.host}:{settings.port} would not open another connection beside the send's "
        f"others ({type(cause).__name__}: {cause}) after {tally.sent} of {total} emails had gone over them. Those "
        "not sent stay approved: send the campaign again to go on, with fewer TAILOR_SMTP_CONNECTIONS should the "
        "server take no more at once."
    )
    error.done_before = tally.so_far()
    return error


@contextlib.contextmanager
def _held_back_told(held_back: HeldBack) -> Iterator[None]:
    """An error that fails a send once it has held drafts back (put back to review, and committed: the mail server
    down, from the start or part way) says which in the failed job's result, as the result of a send that ends
    says them."""
    try:
        yield
    except TailorError as error:
        if held_back.count:
            error.done_before = (error.done_before or {}) | held_back.told()
        raise


def _mailed_addresses(session: Session, campaign_id: int) -> dict[str, str]:
    """The addresses this campaign has mailed (as ``address_key`` spells them), each with the customer id it went
    to: a campaign mails an address once, however many customer ids share it (service.addresses)."""
    statement = (
        select(Send.to_email, Customer.external_id)
        .join(Draft, Draft.id == Send.draft_id)
        .join(Customer, Customer.id == Send.customer_id)
        .where(Draft.campaign_id == campaign_id, Send.to_email.is_not(None))
        .order_by(Send.id)
    )
    return {address_key(email): external_id for email, external_id in session.execute(statement)}


# How each note on a draft skipped at sending opens (``skip_note`` finds it for the draft's page).
NOT_SENT = "Not sent:"


def skip_note(flag_reasons: list[str], status: str, flagged: bool) -> str | None:
    """Why a draft skipped at sending, with nothing left for a person to do (not flagged), was not sent; None for
    any other draft (one skipped for a shared address is flagged, and its note is among what it is flagged for)."""
    if status != "skipped" or flagged or not flag_reasons or not flag_reasons[-1].startswith(NOT_SENT):
        return None
    return flag_reasons[-1]


def _note_unmailable(draft: Draft, why: str) -> None:
    """Say on a draft skipped as its customer could not be mailed why, and when: ``cannot_mail`` says only why they
    cannot be mailed now, nothing once they can again (a new address after a bounce). Not flagged: nothing is left
    for a person to do."""
    reason = f"{NOT_SENT} the customer could not be mailed when it was due ({utcnow():%Y-%m-%d %H:%M} UTC): {why}"
    draft.flag_reasons = [*draft.flag_reasons, reason]


def _skip_mailed_address(draft: Draft, other: str) -> None:
    """Skip a draft whose address this campaign mailed under another customer id, flagged with which."""
    draft.status, draft.flagged, draft.claimed_by = "skipped", True, None
    reason = (
        f"{NOT_SENT} customer {other} has the same address ({draft.customer.email}) and was mailed in this "
        "campaign; an address is mailed once per campaign"
    )
    draft.flag_reasons = [*draft.flag_reasons, reason]


def _sent_before(draft: Draft) -> bool:
    """Whether the draft's send was recorded by a send the mail server took (its "delivered" event): only a race, or
    a database restored from before the draft's send, brings such a draft to a sender."""
    return draft.send is not None and any(event.kind == "delivered" for event in draft.send.events)


def _send_of(
    session: Session, draft: Draft, customer: Customer, variant: Variant, campaign: Campaign, brand, sender: str,
    now: datetime,
) -> Send:  # fmt: skip
    """The send that records the draft's email, before the mail server has it. A draft whose earlier email may have
    gone (its answer lost), approved again by a person, keeps that email's send, written over with this one's: the
    earlier email's link, which its customer may have, stays theirs, even should the server refuse this one."""
    features = email_features((customer.profile or {}).get("churn_risk"), draft.recommendations)
    send = draft.send or Send(customer_id=customer.id, campaign_id=campaign.id, draft_id=draft.id)
    written = {
        "variant_id": variant.id, "subject": variant.subject, "preheader": variant.preheader, "intro": variant.intro,
        "campaign_type": campaign.campaign_type, "segment": segment_named(customer.segment),
        "locale": html_locale(variant.html) or writing_locale(customer.locale, brand)[0],
        "n_products": len(draft.recommendations), "mean_price": features["mean_price"],
        "churn_risk": features["churn_risk"], "rec_score": features["rec_score"],
        "sent_at": now, "message_id": new_message_id(sender), "to_email": customer.email,
    }  # fmt: skip
    for column, value in written.items():
        setattr(send, column, value)
    session.add(send)
    return send


class _Recorded(NamedTuple):
    """A sent email as recorded: its experiment arm (None outside one, or pinned to its variant by its reviewer), its
    address as addresses are compared and its customer's id."""

    arm: str | None
    pinned: bool
    address: str
    external_id: str


def _record_delivered(outbox: _Outbox, draft_id: int, send_id: int, label: str, now: datetime) -> _Recorded | None:
    """Record that the mail server took the draft's email: its send "delivered", the draft "sent", the campaign
    "sent", an experiment's arm. Tried again a few times while the database is busy (SQLite's write lock held past
    its timeout by a long write): the email went, and a draft left "sending" would go back to review as perhaps
    sent, for a person to mail it twice. None when the customer was erased meanwhile."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with session_scope(outbox.engine) as session:
                # with its first send: a job cancelled or killed after it left "ready"
                session.execute(update(Campaign).where(Campaign.id == outbox.campaign_id).values(status="sent"))
                if (send := session.get(Send, send_id)) is None:
                    return None
                send.events.append(Event(kind="delivered", occurred_at=now))
                in_arm = draft_id in outbox.arms
                if in_arm:
                    record_send(session, outbox.campaign_id, send.customer, send, label, now)
                session.execute(update(Draft).where(Draft.id == draft_id).values(status="sent", claimed_by=None))
                recorded = _Recorded(
                    label if in_arm else None, outbox.experiment and not in_arm, address_key(send.to_email),
                    send.customer.external_id,
                )  # fmt: skip
            return recorded
        except OperationalError:
            if attempt == RECORD_TRIES:
                raise
            log.warning("recording a sent email waits for the database", extra={"draft_id": draft_id, "try": attempt})
            time.sleep(attempt)
    raise AssertionError("unreachable")


def _nothing_taken(error: BaseException) -> bool:
    """Whether the mail server took nothing of the email: it answered a refusal (of the email, its address, its size;
    or would not open a connection again), or the email could not be written. Not so for a connection lost while the
    email was handed over, nor for a stop in the middle: the server may have it."""
    refused = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, EmailRefused, ValueError)
    return isinstance(error, refused)


def _forget_send(engine: Engine, send_id: int) -> None:
    """Delete the send recorded for an email the mail server did not take: the draft is sent later, or not at all."""
    with session_scope(engine) as session:
        if (send := session.get(Send, send_id)) is not None:
            session.delete(send)


def _claim(engine: Engine, draft_id: int) -> bool:
    """Claim an approved draft for this process to send, committed before the mail server is called; whether it
    won the draft (False: another sender claimed or sent it, review took it back, or its campaign is being generated
    since the send began: the drafts left stay approved, for the next send)."""
    with session_scope(engine) as session:
        generating = select(Campaign.id).where(Campaign.id == Draft.campaign_id, Campaign.status == "generating")
        claimed = update(Draft).where(Draft.id == draft_id, Draft.status == "approved", ~generating.exists())
        # The claim's time by the database's clock, as recovery judges it (service.jobs.recovery.STALE_AFTER)
        claim = {"status": "sending", "claimed_by": worker_name(), "updated_at": database_now()}
        return bool(session.execute(claimed.values(**claim)).rowcount)


def _release(engine: Engine, draft_id: int, status: str = "approved") -> None:
    """Give back this process's claim on a draft whose email did not go: ``status`` again."""
    with session_scope(engine) as session:
        mine = update(Draft).where(Draft.id == draft_id, Draft.status == "sending", Draft.claimed_by == worker_name())
        session.execute(mine.values(status=status, claimed_by=None))


def _flag_perhaps_sent(engine: Engine, draft_id: int, error: Exception) -> None:
    """Put back to review, flagged, a draft whose email was being handed to the mail server when the connection was
    lost: the server may have taken it and only its answer gone missing, and sending it again would mail the
    customer twice."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None or draft.status != "sending" or draft.claimed_by != worker_name():
            return
        back_to_review(draft, SEND_CUT_OFF.format(error=f"{type(error).__name__}: {error}".rstrip(": ")))


def _refused_email(engine: Engine, draft_id: int, error: EmailRefused) -> dict[str, Any]:
    """A draft whose email the mail server refused for its content or size: back to review, flagged with the
    server's answer, for a person to change it and approve it again (it stopped every send of its campaign, first
    in the audience's order each time); what the job's result lists under ``refused``."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        back_to_review(draft, f"The mail server refused this email: {error}")
        return _told(draft, str(error))


def _mark_sent(engine: Engine, campaign_id: int, sent: int) -> None:
    """A campaign that sent email is `sent`, whether its job ends well or stops part way."""
    if sent:
        with session_scope(engine) as session:
            session.get(Campaign, campaign_id).status = "sent"


def _unwritable(engine: Engine, draft_id: int, error: ValueError) -> dict[str, Any]:
    """A draft whose email cannot be written: skipped and flagged with why, so that the rest still go."""
    return _skip(engine, draft_id, "The email could not be written", str(error))


def _refuse(engine: Engine, draft_id: int, error: smtplib.SMTPRecipientsRefused) -> dict[str, Any]:
    """A draft whose address the mail server refused. For good, for the address itself (5xx: no such mailbox,
    say), skipped, flagged with the server's answer, and the address marked as bounced, so that no later campaign
    mails it; for now (4xx: greylisting, a full mailbox, a relay's rate limit), or for a reason of the server's own
    (5.7.x: relaying denied to a relay that wants a login, the sender's reputation), approved again, to be tried
    again after a wait (``_retry_later``): such an answer comes for every address alike, and each one marked
    bounced stopped the shop's whole list for good."""
    answer = "; ".join(f"{code} {answer_text(reply)}" for code, reply in error.recipients.values())
    if all(int(code) >= 500 and _about_the_address(reply) for code, reply in error.recipients.values()):
        return _skip(engine, draft_id, "The mail server refused the address", answer, bounced=True)
    return _retry_later(engine, draft_id, answer)


def _retry_later(engine: Engine, draft_id: int, answer: str) -> dict[str, Any]:
    """Give back this process's claim on a draft whose address the server refused, not for good: approved, not to
    be tried again before the wait its count of such refusals gives (``RETRY_MINUTES``; a send and the due-check
    leave it until then, and the due-check tries it then); refused once more after the last wait, back to review,
    flagged with the server's answer. What the job's result lists under ``refused``."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        told = _told(draft, answer)
        if draft.status != "sending" or draft.claimed_by != worker_name():
            return told | {"approved": draft.status == "approved"}  # review or another sender took it meanwhile
        draft.refusals_for_now += 1
        if draft.refusals_for_now > len(RETRY_MINUTES):
            hours = round(sum(RETRY_MINUTES) / 60)
            back_to_review(
                draft,
                f"The mail server refused the address for now at each of {draft.refusals_for_now} tries over about "
                f"{hours} hours; the last answer: {answer}. Approve it again to try again, or reject it",
            )
            return told
        draft.status, draft.claimed_by = "approved", None
        wait = timedelta(minutes=RETRY_MINUTES[draft.refusals_for_now - 1])
        # to the second, as the API writes it, and not before the wait is over
        draft.retry_after = utcnow().replace(microsecond=0) + timedelta(seconds=1) + wait
        return told | {"approved": True, "retry_after": as_text(draft.retry_after)}


def _not_theirs(engine: Engine, draft_ids: list[int]) -> None:
    """Take back the refusals counted against these drafts' addresses (``_retry_later``), which the server refused
    for a reason of its own that stops the send: the next send, once its login is set, mails them at once."""
    with session_scope(engine) as session:
        session.execute(
            update(Draft)
            .where(Draft.id.in_(draft_ids), Draft.status == "approved", Draft.refusals_for_now > 0)
            .values(refusals_for_now=Draft.refusals_for_now - 1, retry_after=None)
            .execution_options(synchronize_session=False)
        )


def _left_approved(engine: Engine, draft_id: int, answer: str) -> dict[str, Any]:
    """What the job's result lists for a draft the server refused that stays approved, for the next send."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        return _told(draft, answer) | {"approved": True}


def _for_its_own_reasons(error: smtplib.SMTPRecipientsRefused) -> bool:
    """Whether the server refused the address for good for a reason of its own (5.7.1 Relay access denied), which
    every address gets alike, not for the address, nor for now."""
    return all(int(code) >= 500 and not _about_the_address(reply) for code, reply in error.recipients.values())


def _about_the_address(reply: bytes | str) -> bool:
    """Whether a refusal is about the address (its enhanced status code's subject: 1, addressing; 2, the mailbox),
    or names no such code; not one of the server's own policy, system or network (5.7.1 Relay access denied)."""
    status = enhanced_status(reply)
    return status is None or status[1] in {"1", "2"}


def _skip(engine: Engine, draft_id: int, why: str, answer: str, bounced: bool = False) -> dict[str, Any]:
    """Skip one draft of a send, flagged with ``why: answer`` (and its address marked bounced, when it did);
    what the job's result lists under ``refused``."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        draft.status, draft.flagged, draft.claimed_by = "skipped", True, None
        if bounced and draft.customer.email:
            draft.customer.bounced_email = draft.customer.email
            stop_shared_addresses(session, [draft.customer_id])  # the address bounced for every id that has it
        draft.flag_reasons = [*draft.flag_reasons, f"{why}: {answer}"]
        return _told(draft, answer)


def _told(draft: Draft, answer: str) -> dict[str, Any]:
    """What the job's result lists under ``refused`` for a draft the server answered for: the draft, its customer's
    id and the answer without the address it names (the result reaches a webhook's receiver, whom an erasure cannot
    reach; the draft's flag reason, for the reviewer, keeps it)."""
    told = _without_address(answer, draft.customer.email)
    return {"draft_id": draft.id, "customer_id": draft.customer.external_id, "answer": told}


def _erased_meanwhile(draft_id: int) -> dict[str, Any]:
    """What the job's result lists for a draft whose customer was erased while the server answered for their email
    (the draft went with them): neither their id nor the answer, which may name their address. It failed the job."""
    return {"draft_id": draft_id, "customer_id": ERASED_TEXT, "answer": "the customer was erased meanwhile"}


# An address as a mail server's answer writes it: any character an address's local part may hold (O'Neil's too),
# an @ and a domain, in angle brackets or not.
_ADDRESS = re.compile(r"<?[\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+>?")


def _without_address(answer: str, address: str | None) -> str:
    """``answer`` with the customer's ``address`` (as stored, or in the ASCII form sent over SMTP) and anything
    else shaped like an address put as "[address]"."""
    for known in {address or "", *_sent_forms(address)} - {""}:
        answer = re.sub(f"<?{re.escape(known)}>?", "[address]", answer, flags=re.IGNORECASE)
    return _ADDRESS.sub("[address]", answer)


def _sent_forms(address: str | None) -> set[str]:
    try:
        return {smtp_address(address, smtputf8=False)} if address else set()
    except (AddressNotDeliverable, ValueError):
        return set()


def _due_campaigns(engine: Engine, now: datetime) -> list[int]:
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
    return bool(_due_campaigns(engine, utcnow()))


def send_due_drafts(
    progress, engine: Engine, settings: SmtpSettings | None = None, links_must_answer: bool = False
) -> dict[str, Any]:
    """Job (periodic): send every campaign's approved drafts whose send time has come (and put back to review the
    drafts a stopped sender left "sending", service.jobs.recovery). A campaign that became one not to send since
    the list was read (being generated, deleted) is left for the next check, saying why, and the others go. With
    ``links_must_answer`` (the command line's due-check), nothing goes while Tailor does not answer where the
    unsubscribe links lead (send_campaign)."""
    with session_scope(engine) as session:
        flag_interrupted_sends(session)
    campaign_ids = _due_campaigns(engine, utcnow())
    results: dict[str, Any] = {}
    for done, campaign_id in enumerate(campaign_ids):
        try:
            results[str(campaign_id)] = send_campaign(
                lambda *_: None, engine, campaign_id, settings=settings, due_check=True,
                links_must_answer=links_must_answer,
            )  # fmt: skip
        except (Conflict, NotFound) as not_now:
            results[str(campaign_id)] = {"sent": 0, "not_sent": str(not_now)}
        except TailorError as failed:  # the mail server is down: the job fails, telling what was done before
            told = results | ({str(campaign_id): failed.done_before} if failed.done_before else {})
            failed.done_before = {"campaigns": told} if told else None
            raise
        progress(done + 1, len(campaign_ids), f"campaign {campaign_id}")
    return {"campaigns": results}
