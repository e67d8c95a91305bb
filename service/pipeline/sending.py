"""Sends a campaign's approved drafts through SMTP and records each send, so its events can be tracked.

A draft with a send time (``send_after``, each customer's best hour) waits for it: ``send_campaign`` sends
only what is due, and ``send_due_drafts``, run on a schedule by the API process, sends the rest as it falls due.
So does a draft whose address the server refused for now (``retry_after``, ``send_outcomes.RETRY_MINUTES``).

Each draft is sent by one sender, however many run at once (the due-checks of two servers on one database, two sends of
a campaign asked at once): before its SMTP call a sender claims it, approved → "sending" by a conditional UPDATE that
only one can win, and commits the claim; a draft has one send at most (a unique index, should anything else race). The
send is recorded, and committed, before the SMTP call, as its id is what the email's unsubscribe link signs; the call is
made with no transaction open (on SQLite a transaction that writes holds the database's one write lock: every approval
and unsubscribe waited while a slow relay took each email), and the "delivered" event and the draft's "sent" are written
once the server has answered. A mail server that refuses the email, or an email that cannot be written, deletes its send
(or, for a draft mailed again, puts the earlier email back) and gives the claim back (approved, or skipped). One that
may have taken it (the connection lost while it was handed over, or the process stopped then) keeps the send, so that
the link the customer may have unsubscribes them and no one else, and leaves the draft "sending" rather than approved to
be mailed again: the send puts it back to review, flagged as perhaps sent, as the next start on this host or the next
send of its campaign does for drafts of processes that no longer run (service.jobs.recovery); so does any send or
due-check once a claim is an hour old, whichever host made it. A person who approves it again sends it on that same
send, under a claim of its own: each claim carries a token (not only its process's name), and a sender that went on
after its claim was taken back writes nothing on the draft it no longer holds (send_outcomes.held), and the "sent" it
records once the server took the email is not written over by the send that claimed the draft since: the transaction
that records the send reads the draft under the database's write lock (SQLite) or its row's (PostgreSQL: its
customer's rows locked first, as an erasure locks them before it deletes their drafts), and begins with the contact
policy's look again (another server may have mailed the address meanwhile); the send's commit, before the SMTP call,
gives the lock back. Before each draft is claimed, the unsubscribes kept on disk while the database was busy
(service.kept_unsubscribes) are written, so that the look at whether its customer may be mailed sees them.

A send may keep several connections to the mail server (``TAILOR_SMTP_CONNECTIONS``), one thread each, that take
the drafts an address at a time from one queue (a campaign mails an address once, and each connection knows what it
mailed); a connection the server will not open (a relay that takes fewer at once) takes none, and the others mail
them all, the send's result warning how many it took. The job's thread reports their progress, and one that fails,
or a cancellation, stops the others after the email in hand: the claims above keep each draft to one of them as they
keep it to one of two servers. A server refusing every address or every email alike is told by the refusals of all
of them (_Tally), and a failure, once all have stopped, counts what each sent.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import smtplib
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from generation.brands import load_brand
from scoring.experiments import HOLDOUT
from service.addresses import address_key, households
from service.campaigns import get_campaign, hold_campaign
from service.clock import utcnow
from service.db.batches import batches
from service.db.models import Campaign, Customer, Draft, Send, Variant
from service.db.session import session_scope, take_the_write_lock
from service.drafts import failed_checks, selected_variant
from service.errors import Conflict, InvalidEnvironment, JobCancelled, MailServerUnavailable, NotFound, TailorError
from service.experiments import ArmOutcomes, no_reader_signal
from service.jobs.recovery import flag_interrupted_sends
from service.kept_unsubscribes import apply_kept
from service.logs import IN_RESULT
from service.outcome_reports import unseen_in_batch
from service.pipeline.contact_policy import defer_if_mailed_meanwhile, hold_draft_household
from service.pipeline.due_drafts import drafts_to_mail, due_campaigns, due_draft_ids
from service.pipeline.freshness import HeldBack
from service.pipeline.mail import (
    AddressNotDeliverable,
    EmailRefused,
    EmailRefusedByPolicy,
    MailServer,
    NotReopened,
    build_message,
    envelope_sender,
    offers_smtputf8,
    sender_of,
    smtp_address,
)
from service.pipeline.model_store import ModelStore
from service.pipeline.send_outcomes import (
    claim,
    flag_perhaps_sent,
    for_its_own_reasons,
    forget_send,
    held,
    left_approved,
    mark_sent,
    not_theirs,
    note_unmailable,
    nothing_taken,
    record_delivered,
    refuse,
    refused_email,
    release,
    send_of,
    sent_before,
    skip,
    skip_mailed_address,
    unwritable,
    without_address,
)
from service.pipeline.unsubscribe_links import links_unanswered, unreachable_links
from service.planned_scores import PlannedMoments, rescore
from service.send_times import schedule_at_best_hours, schedule_campaign, waiting_drafts
from service.settings import (
    ExperimentSettings,
    SendScheduleSettings,
    SmtpSettings,
    TrackingSettings,
    home_settings,
    on_this_machine,
)
from service.signed_links import TrackingLinks, UnsubscribeLinks
from service.state import model_store
from service.tracking import tracked_html
from service.unseen_copy import unseen_in
from service.wording import counted

log = logging.getLogger("tailor.sending")
PROGRESS_SECONDS = 1.0  # how often a send over several connections reports how far it got
# A relay that refuses the first addresses of a send for its own reasons (554 5.7.1 Relay access denied: it wants a
# login) refuses every other alike: the send stops after this many in a row with none sent, rather than asking for
# each of a campaign's 100,000 and ending "succeeded, sent 0". Few, as each asks a server that will not carry the
# mail; not one, as a relay's policy may refuse a few recipients and carry the others. Those of one domain (a
# domain it will not mail) are no sign of the rest: the run must span two domains, or the send stopped at the same
# addresses every time and never mailed the campaign's others.
REFUSALS_TO_STOP = 5


def _variant_for(draft: Draft, arm: str | None) -> Variant | None:
    """The variant of the draft's experiment arm, else the selected one: with no experiment or arm (a draft its
    reviewer pinned), no such label, or when the arm's variant failed a guardrail check for this customer (only
    the approved variant may be sent despite a failed check, and only after a person overrode it) or holds a
    character its reader does not see (service.unseen_copy: the selected one is held back for it before)."""
    chosen = next(
        (
            v
            for v in draft.variants
            if arm is not None and v.label == arm and not failed_checks(v) and not unseen_in(v, draft.recommendations)
        ),
        None,
    )
    return chosen or selected_variant(draft)


def send_campaign(
    progress, engine: Engine, campaign_id: int, settings: SmtpSettings | None = None, limit: int | None = None,
    at_best_hour: bool = False, at: datetime | None = None, due_check: bool = False, links_must_answer: bool = False,
    models: ModelStore | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Job: send the approved, not yet sent drafts that are due (with ``limit``, ``limit`` emails: see
    due_drafts.drafts_to_mail); customers who unsubscribed (or whose address bounced) meanwhile are skipped, as is a
    draft to an address the campaign mailed under another customer id (flagged, naming that customer), and drafts whose
    products changed price or went out of stock since they were written go back to review (the result says how many, for
    each reason, and lists the first with why: freshness.HeldBack; a send that fails after holding drafts back says the
    same in its failed job's result). A request to send (not the due-check) first decides when every approved draft goes
    (service.send_times.schedule_campaign): now, or at ``at``; with ``at_best_hour``, at its customer's best hour from
    then on, and those not yet due wait for it. In an experiment, held-out customers are sent nothing and the others get
    the variant of the arm Thompson sampling allots them (service.experiments), except a draft whose reviewer chose its
    variant (``pinned``: sent that variant, in no arm; counted in the result). A customer mailed less than the contact
    policy's days ago waits (``deferred``: the draft stays approved, its send time moved to when they may be mailed
    again). With ``at`` (the campaign scheduled, or rescheduled), the approved drafts, whatever time an earlier request
    gave them, and drafts approved later get that moment (with ``at_best_hour``, each customer's best hour from then on)
    and wait for it; without it, a scheduled campaign is unscheduled and sent now. The drafts whose planned moment
    that, the contact policy or a hold-back moved are scored again for it (service.planned_scores; ``models``: the
    server's store, else the current engagement model is read for the job). With ``links_must_answer`` (a send
    with no server of its own: the command line's), nothing is sent while Tailor does not answer where the emails'
    unsubscribe links lead."""
    settings = settings or SmtpSettings()
    models = models if models is not None else model_store(home_settings().models_dir)  # read once, as needed
    now = utcnow()
    with session_scope(engine) as session:
        # NotFound, saying when, for a campaign deleted while this job waited, or (PostgreSQL) one being deleted now,
        # whose deletion read the jobs before this one was queued: held until this transaction ends (it went on,
        # sending nothing, and succeeded)
        if hold_campaign(session, campaign_id).status == "generating":  # it came while this job was queued
            raise Conflict(
                f"Campaign {campaign_id} is being generated: send it once it is ready (its approved drafts stay)."
            )
        flag_interrupted_sends(session, campaign_id)  # drafts a stopped sender left "sending": back to review
        moments = PlannedMoments.read(session, Draft.campaign_id == campaign_id)
        if not due_check:  # a request to send: schedules, reschedules or unschedules; the due-check only sends
            scheduled = at if at is not None and at > now else None
            schedule_campaign(session, session.get(Campaign, campaign_id), scheduled, at_best_hour=at_best_hour)
            if at_best_hour:
                schedule_at_best_hours(session, campaign_id, scheduled or now)
        campaign = session.get(Campaign, campaign_id)
        created_at = campaign.created_at  # what tells this database's campaign from another's (links_unanswered)
        outcomes = ArmOutcomes(campaign_id)  # an experiment's: read for its allocation, if it allocates any
        draft_ids, held_back, deferred, arms = drafts_to_mail(session, campaign, now, limit, due_check, outcomes)
        # scheduled, at best hours, deferred by the contact policy or held back: scored for the moments they now go at
        moments.follow(session, models)
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
    if draft_ids and links_must_answer and (silent := links_unanswered(links, campaign_id, created_at)):
        with _held_back_told(held_back):
            raise InvalidEnvironment(silent.refusal(links.base_url))
    outbox = _Outbox(
        engine=engine, campaign_id=campaign_id, settings=settings, arms=arms, experiment=experiment, mailed=mailed,
        schedule=schedule, window=window, sharing=sharing, brand=brand, sender=sender, links=links, now=now,
        total=len(draft_ids), tracking=TrackingSettings(), tracking_links=TrackingLinks(links.key, links.base_url),
        models=models,
    )  # fmt: skip
    tally = _Tally(deferred=deferred)
    # No connection when nothing is due now: a campaign scheduled for later was reported failed with the server down.
    with _held_back_told(held_back):
        several = settings.connections > 1 and len(draft_ids) > 1
        address_groups = _address_groups(engine, draft_ids) if several else []
        fewer_connections = None
        try:
            if min(settings.connections, len(address_groups)) > 1:
                fewer_connections = _send_over_connections(outbox, tally, address_groups, progress)
            elif draft_ids:  # in this thread, reporting each email
                report = lambda: progress(*tally.progress(outbox.total))  # noqa: E731
                with MailServer(settings) as server:
                    _send_over_one_connection(outbox, tally, server, draft_ids, report)
        except (JobCancelled, KeyboardInterrupt) as stopped:  # the cancelled job's result: what went before, as a
            stopped.done_before = tally.so_far()  # failed one's says it (it said nothing: the refused were lost)
            raise
        except TailorError as failure:
            if tally.relay_stopped:  # every connection's, the emails in hand when it stopped too
                not_theirs(engine, tally.refused_in_a_row)
            if isinstance(failure, MailServerUnavailable) and failure.done_before is not None and failure.__cause__:
                # told again once every connection stopped: what each sent, and cut off, with the email in hand
                answered = getattr(failure, "answered_draft", None)
                raise _failed_after(settings, tally, outbox.total, failure.__cause__, answered) from failure.__cause__
            raise
    refused = tally.refused
    mark_sent(engine, campaign_id, tally.sent)
    with session_scope(engine) as session:
        # CampaignNotFound for one deleted since the send began (its drafts went with it: none was claimed)
        later = waiting_drafts(session, get_campaign(session, campaign_id), now)
        if limit is not None:  # a batch: how many due drafts it left for the next (nothing said so)
            left = due_draft_ids(campaign_id, now, due_check).subquery()
            later["still_due"] = session.scalar(select(func.count()).select_from(left))
        went = draft_ids or tally.deferred or held_back.count or held_out
        nothing_went = None if went else _nothing_to_send(session, campaign_id, later, asked=not due_check)
    if nothing_went is None:  # what became of each, not its last "sent N"
        done = f"done: {_sends_words(tally, held_back.count, held_out)}"
        progress(tally.done or 1, outbox.total or 1, f"{done}; {fewer_connections}" if fewer_connections else done)
    else:  # the job's message says why nothing went, rather than nothing
        progress(1, 1, nothing_went)
    result: dict[str, Any] = {
        "sent": tally.sent, "skipped": tally.skipped, "deferred": tally.deferred, **later, **held_back.told(),
        "refused": refused,
    }  # fmt: skip
    warnings = [fewer_connections] if fewer_connections else []
    if tally.sent and (unreachable := unreachable_links(links.base_url)):
        warnings.append(unreachable)
        log.warning(
            "unsubscribe links recipients cannot reach",
            extra={"campaign_id": campaign_id, "sent": tally.sent, **IN_RESULT},
        )
    if experiment and (unseen := _allocation_unseen(engine, outbox, sum(tally.sent_by_arm.values()))):
        warnings.append(unseen)
        log.warning("an experiment's sends cannot report its allocation outcome",
                    extra={"campaign_id": campaign_id, "sent": tally.sent, **IN_RESULT})  # fmt: skip
    elif experiment and (unread := _no_reader_signal(engine, outcomes, sum(tally.sent_by_arm.values()))):
        warnings.append(unread)
        log.warning("an experiment's batch was split with no reader's outcome recorded",
                    extra={"campaign_id": campaign_id, "sent": tally.sent, **IN_RESULT})  # fmt: skip
    if warnings:
        result["warnings"] = warnings
    if experiment:
        result.update(held_out=held_out, sent_by_arm=tally.sent_by_arm, pinned=tally.pinned)
    return result


def _nothing_to_send(session: Session, campaign_id: int, later: dict[str, Any], asked: bool) -> str:
    """Why a send mailed nothing, for its job's message: approved drafts waiting for their send time and, for a send
    a person asked for (not the due-check), the drafts still waiting for review (``awaiting_review`` in ``later``,
    the result), which no send mails before their approval, or a campaign without drafts (never generated). It
    said only that no approved draft was due, to someone who had not approved any."""
    waiting = f"; {later['waiting']:,} approved wait for their send time" if later["waiting"] else ""
    if asked:
        reviewable, drafts = session.execute(
            select(func.count().filter(Draft.status.in_(("pending", "flagged"))), func.count()).where(
                Draft.campaign_id == campaign_id
            )
        ).one()
        later["awaiting_review"] = reviewable
        if not drafts:
            return f"nothing to send: campaign {campaign_id} has no drafts; generate it first"
        if reviewable:
            waiting += f"; {counted(reviewable, 'draft waits', 'drafts wait')} for review: approve them first"
    return f"nothing to send now: no approved draft is due{waiting}"


def _sends_words(tally: _Tally, held_back: int, held_out: int) -> str:
    """What a send did with each draft it looked at, for its job's message: sent, skipped (its customer may not be
    mailed, or their address was mailed already) and deferred (the contact policy), and, where there are any, those
    held back for review, refused by the mail server and held out of an experiment."""
    words = f"sent {counted(tally.sent, 'email', 'emails')}, skipped {tally.skipped:,}, deferred {tally.deferred:,}"
    others = {"back to review": held_back, "refused by the mail server": len(tally.refused), "held out": held_out}
    return words + "".join(f", {what} {count:,}" for what, count in others.items() if count)


def _allocation_unseen(engine: Engine, outbox: _Outbox, sent_in_arms: int) -> str | None:
    """The warning of an experiment's batch none of whose emails can report the outcome it allocates by
    (service.outcome_reports.unseen_in_batch): an experiment that cannot learn splits every batch evenly."""
    outcome = ExperimentSettings().allocation_outcome
    with session_scope(engine) as session:
        return unseen_in_batch(session, outcome, sent_in_arms, outbox.tracking.carried())


def _no_reader_signal(engine: Engine, allocated_from: ArmOutcomes, sent_in_arms: int) -> str | None:
    """The warning of an experiment's batch split with no reader's outcome recorded, only machines'
    (service.experiments.no_reader_signal): its even split is no result."""
    if not sent_in_arms:
        return None
    with session_scope(engine) as session:
        return no_reader_signal(session, allocated_from.campaign_id, sent_in_arms, allocated_from)


@dataclass(frozen=True)
class _Outbox:
    """What every connection of one send reads: the campaign, its settings and the state shared between them
    (``mailed``: each connection has its own addresses, see _address_groups; ``stop``: set when one fails)."""

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
    tracking: TrackingSettings  # whether the emails tell Tailor of opens and clicks
    tracking_links: TrackingLinks
    models: ModelStore  # what a draft deferred at the second look is scored again with (send_campaign's)
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


def _address_groups(engine: Engine, draft_ids: list[int]) -> list[list[int]]:
    """The drafts, in their order, in groups of one address each (as ``address_key`` spells it), the groups in the
    order of their first draft: a connection mails a whole group, as a campaign mails an address once and each
    connection knows only what it mailed itself since the send began."""
    groups: dict[str, list[int]] = {}
    with session_scope(engine) as session:
        addresses: dict[int, str] = {}
        for batch in batches(draft_ids):
            rows = session.execute(
                select(Draft.id, Customer.email)
                .join(Customer, Customer.id == Draft.customer_id)
                .where(Draft.id.in_(batch))
            )
            addresses |= {draft_id: address_key(email) for draft_id, email in rows}
    for draft_id in draft_ids:
        groups.setdefault(addresses.get(draft_id) or f"#{draft_id}", []).append(draft_id)  # erased since: alone
    return list(groups.values())


class _AddressQueue:
    """The address groups of a send over several connections, which each open connection takes one at a time: a
    connection the server would not open takes none, and those it opened mail them all, each group on one."""

    def __init__(self, groups: list[list[int]]) -> None:
        self._groups = deque(groups)

    def drafts(self) -> Iterator[int]:
        """The drafts one connection mails, a group after another until none is left (taken whole: popleft is
        atomic, so no two connections take one group)."""
        while True:
            try:
                group = self._groups.popleft()
            except IndexError:
                return
            yield from group


def _send_over_connections(outbox: _Outbox, tally: _Tally, groups: list[list[int]], progress) -> str | None:
    """Send the address groups over at most TAILOR_SMTP_CONNECTIONS connections of their own, each in a thread
    taking the next group from one queue; this one reports progress (a cancellation it raises stops every connection
    after the email in hand) and raises the first failure, once every connection has stopped (set ``outbox.stop``:
    the others send no further email). A connection the server would not open leaves the groups to those it opened,
    and the warning saying how many it took is returned; the send fails as over one when it opened none."""
    queue, failures, not_opened = _AddressQueue(groups), [], []

    def run() -> None:
        try:
            with contextlib.ExitStack() as connection:
                try:
                    server = connection.enter_context(MailServer(outbox.settings))
                except MailServerUnavailable as refused:  # the relay takes fewer at once: the others take its share
                    not_opened.append(refused)
                    return
                _send_over_one_connection(outbox, tally, server, queue.drafts(), lambda: None)
        except BaseException as error:  # handed to this thread, which raises it
            failures.append(error)
            outbox.stop.set()

    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(run,), name=f"smtp-{n}")  # the job's logs
        for n in range(min(outbox.settings.connections, len(groups)))
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
    if len(not_opened) == len(threads):  # no connection: nothing was sent, as its message says
        raise not_opened[0]
    return _fewer_connections(outbox, len(threads), not_opened) if not_opened else None


def _fewer_connections(outbox: _Outbox, asked: int, not_opened: list[MailServerUnavailable]) -> str:
    """The warning of a send the server would not open every connection for, but mailed over those it opened; logged
    too, for the operator to lower TAILOR_SMTP_CONNECTIONS."""
    settings, took = outbox.settings, asked - len(not_opened)
    cause = not_opened[0].__cause__ or not_opened[0]
    log.warning(
        "the mail server took fewer connections than the send opened",
        extra={"campaign_id": outbox.campaign_id, "connections": asked, "opened": took, **IN_RESULT},
    )
    return (
        f"The SMTP server at {settings.host}:{settings.port} took {took} of the send's {asked} connections at once "
        f"({type(cause).__name__}: {cause}); the drafts went over those {took}. Set TAILOR_SMTP_CONNECTIONS to {took} "
        "for this server: each connection it refuses is asked for at every send."
    )


# The draft in hand, its row locked, with what its email is written from: built once for a send's every draft
# (building it took longer than running it). Its customer in the same statement, held already (PostgreSQL's row
# locked first, hold_draft_household; SQLite's database).
_DRAFT_TO_SEND = (
    select(Draft)
    .where(Draft.id == bindparam("draft_id"))
    .options(selectinload(Draft.variants), joinedload(Draft.customer), selectinload(Draft.send))
    .with_for_update(of=Draft)
)


def _send_over_one_connection(
    outbox: _Outbox, tally: _Tally, server: MailServer, draft_ids: Iterable[int], report
) -> None:
    """Send the drafts, in their order, over one open connection to the mail server; ``report()`` after each one."""
    engine, campaign_id, arms, mailed = outbox.engine, outbox.campaign_id, outbox.arms, outbox.mailed
    schedule, window, sharing, sender = outbox.schedule, outbox.window, outbox.sharing, outbox.sender
    settings, links, now, experiment = outbox.settings, outbox.links, outbox.now, outbox.experiment
    undecided: list[tuple[int, EmailRefusedByPolicy]] = []  # emails refused by policy, none sent yet: approved
    smtputf8 = offers_smtputf8(server.smtp)
    from_address = envelope_sender(sender, smtputf8, f"{settings.host}:{settings.port}")
    for draft_id in draft_ids:
        if outbox.stop.is_set():  # another connection failed, or the send was cancelled
            break
        tally.add(done=1)  # here, as a draft skipped or deferred below is done too
        apply_kept(engine)  # unsubscribes kept while the database was busy: written before the look below
        claimed = claim(engine, draft_id)  # every write of this send below names it: held while it is this send's
        if claimed is None:  # another sender has it, or review took it back since the send began
            continue
        handed_to_smtp = False
        try:
            with session_scope(engine) as session:
                # What is read below is decided on until the commit: on SQLite under the database's write lock from
                # here, on PostgreSQL the draft's row locked. A sender whose claim on it was taken back (an hour
                # old), its email taken by the mail server meanwhile, records it "sent" whoever holds the draft;
                # written between this send's look at the draft and its commit, it was written over ("skipped",
                # approved again), and the draft said its email had not gone.
                take_the_write_lock(session)
                # Its campaign held until the send is committed, or CampaignNotFound for one deleted since the send
                # began: the due-check's job names no campaign, so a deletion's checks do not see it, and the whole
                # due-check failed reading the campaign gone ("'NoneType' object has no attribute 'id'").
                campaign = hold_campaign(session, campaign_id)
                # Its customer's rows before its own, in the order an erasure and an unsubscribe lock them: taken
                # after it, the send and an erasure each waited for the row the other held (a deadlock).
                hold_draft_household(session, draft_id, sharing)
                draft = session.scalar(_DRAFT_TO_SEND, {"draft_id": draft_id})
                if not held(draft, claimed):  # erased with its customer since it was claimed, or its claim taken back
                    continue
                customer = draft.customer
                variant = _variant_for(draft, arms.get(draft_id))
                if variant is None or not customer.mailable:
                    draft.status, draft.claimed_by = "skipped", None
                    if not customer.mailable:
                        note_unmailable(draft, customer.why_not_mailable)
                    tally.add(skipped=1)
                    continue
                if (other := mailed.get(address_key(customer.email), customer.external_id)) != customer.external_id:
                    skip_mailed_address(draft, other)
                    tally.add(skipped=1)
                    continue
                if defer_if_mailed_meanwhile(
                    session, draft, now, schedule.min_days_between, window, schedule.timezone, sharing
                ):
                    draft.status, draft.claimed_by = "approved", None  # its send time moved on
                    rescore(session, [draft_id], outbox.models)  # for the moment it goes at now, as each move is
                    tally.add(deferred=1)
                    continue
                to_address = smtp_address(customer.email, smtputf8)  # AddressNotDeliverable: this one skipped
                now = utcnow()
                if sent_before(draft):  # it went: a race, a restored copy, or opened since it was perhaps sent
                    draft.status, draft.claimed_by = "sent", None
                    continue
                # an earlier email's send, kept as its link may be out there: kept whatever becomes of this one
                send, earlier = send_of(
                    session, draft, customer, variant, campaign, outbox.brand, sender, now, outbox.tracking.carried()
                )
                session.flush()  # the send's id is what the message's unsubscribe link signs
                email = {
                    "sender": sender, "to": to_address, "subject": variant.subject, "text": variant.text,
                    "html": tracked_html(variant.html, send.id, outbox.tracking_links, outbox.tracking),
                    "message_id": send.message_id, "unsubscribe_url": links.url(send.id),
                    "language": send.locale,
                }  # fmt: skip
                send_id, label = send.id, variant.label
            # The send is committed before the email is written and the mail server asked: no write lock is held
            # while the email's parts are put together (a few milliseconds) or the server takes it (on SQLite, the
            # database's only one: every approval and unsubscribe waited for it), and the id its link signs is this
            # customer's for good, whatever becomes of the email.
            try:
                message = build_message(**email)  # ValueError: a header the mail library refuses, nothing sent
                handed_to_smtp = True  # a connection closed since the last email, or full, is opened again
                server.send(message, from_addr=from_address, to_addrs=[to_address])  # not the headers'
            except BaseException as error:
                if nothing_taken(error):  # its send deleted, or an earlier email's put back on it
                    forget_send(engine, send_id, claimed, email["message_id"], earlier)
                raise  # an email perhaps taken keeps its send, so that its link unsubscribes its customer
            arm = label if draft_id in arms else None
            recorded = record_delivered(engine, campaign_id, draft_id, send_id, arm, now)
            tally.add(sent=1)
            if recorded is not None:  # None: its customer erased while the server took it
                if arm is not None:
                    tally.add_arm(arm)
                elif experiment:
                    tally.add(pinned=1)
                mailed[recorded.address] = recorded.external_id
            for refused_draft, why in undecided:  # emails refused by policy before this one went: for their content
                if claimed_again := claim(engine, refused_draft):  # not if another sender, or review, took it since
                    tally.refuse(refused_email(engine, refused_draft, claimed_again, why))
            undecided = []
        except smtplib.SMTPRecipientsRefused as error:  # this address only: the others still go
            tally.refuse(told := refuse(engine, draft_id, claimed, error))
            domain = to_address.rpartition("@")[2].lower()
            if tally.refused_in_a_row_stop(draft_id, domain, for_its_own_reasons(error)):
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
                tally.refuse(refused_email(engine, draft_id, claimed, error))
                continue
            release(engine, draft_id, claimed)  # undecided until an email goes, or the next ones are refused alike
            undecided.append((draft_id, error))
            if first_refused := tally.refused_by_policy_stop():
                raise MailServerUnavailable(
                    f"The SMTP server at {settings.host}:{settings.port} refused the first {first_refused} "
                    f"emails by its policy ({without_address(str(error), '')}), and would refuse the rest "
                    "alike: check that the sender's domain passes SPF, DKIM and DMARC for this server, and its "
                    "reputation with it; nothing was sent, and the drafts stay approved: send the campaign again "
                    "to go on."
                ) from error
        except EmailRefused as error:  # this email's content or size: the others still go
            tally.refuse(refused_email(engine, draft_id, claimed, error))
        except AddressNotDeliverable as error:  # not this server's fault, nor the address's: not a bounce
            tally.refuse(skip(engine, draft_id, claimed, "The mail server cannot take the address", str(error)))
        except ValueError as error:  # this email cannot be written (a header the mail library refuses)
            tally.refuse(unwritable(engine, draft_id, claimed, error))
        except (smtplib.SMTPException, OSError) as error:
            # A refusal the server answered (a response code) took nothing; a connection lost while the email
            # was handed over may have lost only the server's answer: not mailed again without a person.
            perhaps_sent = handed_to_smtp and not nothing_taken(error)  # as its send was kept, or forgotten
            if perhaps_sent:
                flag_perhaps_sent(engine, draft_id, claimed, error)
                tally.add_cut_off(draft_id)
            else:
                release(engine, draft_id, claimed)
            mark_sent(engine, campaign_id, tally.sent)
            # The server's answer to this email, not a connection lost, one it would not open again, or the sender
            # refused (as in every email): the send is stopped at this draft again while the server answers it so.
            answered = isinstance(error, smtplib.SMTPResponseException) and not isinstance(
                error, NotReopened | smtplib.SMTPSenderRefused
            )
            raise _failed_after(settings, tally, outbox.total, error, draft_id if answered else None) from error
        except IntegrityError:
            if handed_to_smtp:  # mailed, but not recorded: the draft stays "sending", as after a crash
                raise
            release(engine, draft_id, claimed, "sent")  # its send is recorded already: sent before, by another
        except BaseException:
            if not handed_to_smtp:  # not mailed: approved again, for the next send
                release(engine, draft_id, claimed)
            raise
        report()
    # refused by policy with no email sent after them to tell their content from the server's: approved still
    left = [left_approved(engine, refused_draft, str(why)) for refused_draft, why in undecided]
    with tally.lock:
        tally.refused += left
    report()  # the last, should the last draft have been skipped or deferred


def _failed_after(
    settings: SmtpSettings, tally: _Tally, total: int, error: BaseException, answered_draft: int | None = None
) -> MailServerUnavailable:
    """The failure of a send whose connection to the mail server failed part way, saying how many emails went, which
    drafts were cut off mid-email (over every connection, once all have stopped) and, when the server's answer to
    one draft's email stopped it, ``answered_draft``; its result counts what went before, as a finished send's
    does."""
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
    if isinstance(error, smtplib.SMTPSenderRefused) and error.smtp_code >= 500:  # as it would every email
        flagged += (
            f" It refused the sender {error.sender!r}: the From of the brand kit's `sender`, or TAILOR_SMTP_SENDER "
            "for a kit that names none; give one this server may send from."
        )
    if answered_draft is not None:
        flagged += (
            f" It gave that answer to draft {answered_draft}'s email: should a send stop there again, reject or change "
            "that draft to mail the others."
        )
    failure = MailServerUnavailable(
        f"The SMTP server at {settings.host}:{settings.port} failed after {sent} of {total} emails "
        f"({type(error).__name__}: {error}).{flagged} Those not sent stay approved: send the campaign again to go on."
    )
    failure.done_before, failure.answered_draft = tally.so_far(), answered_draft
    return failure


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
    campaign_ids = due_campaigns(engine, utcnow())
    results: dict[str, Any] = {}
    campaign_id = None
    try:
        for done, campaign_id in enumerate(campaign_ids):
            try:
                results[str(campaign_id)] = send_campaign(
                    lambda *_: None, engine, campaign_id, settings=settings, due_check=True,
                    links_must_answer=links_must_answer,
                )  # fmt: skip
            except (Conflict, NotFound) as not_now:
                results[str(campaign_id)] = {"sent": 0, "not_sent": str(not_now)}
            progress(done + 1, len(campaign_ids), f"campaign {campaign_id}")
    except (TailorError, KeyboardInterrupt) as stopped:
        # the mail server down, a cancel (JobCancelled) or Ctrl-C: what each campaign sent before, the one in
        # hand's too (a stop between campaigns forgot those already mailed)
        in_hand = getattr(stopped, "done_before", None) if str(campaign_id) not in results else None
        told = results | ({str(campaign_id): in_hand} if in_hand else {})
        stopped.done_before = {"campaigns": told} if told else None
        raise
    progress(len(campaign_ids), len(campaign_ids), f"done: {_due_sends_words(results)}")  # not the last one's id
    return {"campaigns": results}


def _due_sends_words(results: dict[str, dict[str, Any]]) -> str:
    """A finished due-check's message: how many emails it sent for how many campaigns, how many drafts it skipped
    and deferred, and the campaigns it left."""
    if not results:
        return "nothing is due"
    sent, skipped, deferred = (
        sum(result.get(count, 0) for result in results.values()) for count in ("sent", "skipped", "deferred")
    )
    left = sum("not_sent" in result for result in results.values())
    later = f"; {counted(left, 'campaign', 'campaigns')} left for the next check" if left else ""
    campaigns = counted(len(results), "campaign", "campaigns")
    return f"sent {counted(sent, 'email', 'emails')} for {campaigns}, skipped {skipped:,}, deferred {deferred:,}{later}"
