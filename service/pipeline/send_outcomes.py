"""What a send writes of each draft it takes up, as the mail server answers: the claim that keeps it to one sender,
the send recorded before the SMTP call (its id is what the unsubscribe link signs), then "sent", or skipped, refused,
tried again later, back to review, or approved again; and the notes that say why. service.pipeline.sending decides
when each is written.

Each claim carries a token of its own (service.jobs.recovery.new_send_claim), and what a sender writes of the mail
server's answer it writes only while the draft is still "sending" under that claim (``held``): a sender that stalled
past ``STALE_AFTER`` has had its claim taken back, and the draft may be claimed again meanwhile, by another process
or by this one. Only the server's "delivered" is written whoever holds the draft: the email went, and the notes that
said it might not have (recovery's, a second sender's skip) are taken back. Each locks the draft's customer before
the draft, as an erasure does (``_customer_first``)."""

from __future__ import annotations

import logging
import re
import smtplib
import time
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Engine, bindparam, delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload

from generation.locales import writing_locale
from generation.render import html_locale
from service.addresses import address_key, mark_bounced
from service.clock import as_text, utcnow
from service.db.clock import database_now
from service.db.models import Campaign, Customer, Draft, EarlierMessageId, Event, Send, Variant
from service.db.session import session_scope, take_the_write_lock
from service.erasures import ERASED_TEXT
from service.experiments import record_send
from service.forecasts import mark_stale
from service.jobs.recovery import SEND_INTERRUPTED, back_to_review, new_send_claim
from service.pipeline.contact_policy import without_deferrals
from service.pipeline.generate import email_features
from service.pipeline.mail import (
    ADDRESS_SUBJECTS,
    AddressNotDeliverable,
    EmailRefused,
    answer_text,
    enhanced_status,
    new_message_id,
    smtp_address,
)
from service.segments import segment_named

log = logging.getLogger("tailor.sending")
RECORD_TRIES = 3  # recording a sent email, while the database is busy
# Why a draft went back to review after the connection was lost while its email was handed over.
SEND_CUT_OFF = (
    "Sending was cut off: the connection to the mail server was lost while it was taking this email ({error}), "
    "so the customer may have it already. Approve it again to send it, or reject it"
)
# How long a draft waits before its address is asked for again, after the mail server refused it for now (4xx:
# greylisting, a full mailbox, a relay's rate limit) the 1st, 2nd, ... time: greylisting lets a sender in after
# minutes, a full mailbox may take hours. Refused once more after the last wait (about 16 hours of tries), the draft
# goes back to a person. Without a wait, a send of one email at a time stopped at it, first in the audience's order,
# and a scheduled campaign's due-check asked for it every five minutes without end.
RETRY_MINUTES = (15, 30, 60, 120, 240, 480)


# How each note on a draft skipped at sending opens (``skip_note`` finds it for the draft's page).
NOT_SENT = "Not sent:"


def skip_note(flag_reasons: list[str], status: str, flagged: bool) -> str | None:
    """Why a draft skipped at sending, with nothing left for a person to do (not flagged), was not sent; None for
    any other draft (one skipped for a shared address is flagged, and its note is among what it is flagged for)."""
    if status != "skipped" or flagged or not flag_reasons or not flag_reasons[-1].startswith(NOT_SENT):
        return None
    return flag_reasons[-1]


def note_unmailable(draft: Draft, why: str) -> None:
    """Say on a draft skipped as its customer could not be mailed why, and when: ``cannot_mail`` says only why they
    cannot be mailed now, nothing once they can again (a new address after a bounce). Not flagged: nothing is left
    for a person to do."""
    reason = f"{NOT_SENT} the customer could not be mailed when it was due ({utcnow():%Y-%m-%d %H:%M} UTC): {why}"
    draft.flag_reasons = [*draft.flag_reasons, reason]


def skip_mailed_address(draft: Draft, other: str) -> None:
    """Skip a draft whose address this campaign mailed under another customer id, flagged with which."""
    draft.status, draft.flagged, draft.claimed_by = "skipped", True, None
    reason = (
        f"{NOT_SENT} customer {other} has the same address ({draft.customer.email}) and was mailed in this "
        "campaign; an address is mailed once per campaign"
    )
    draft.flag_reasons = [*draft.flag_reasons, reason]


def sent_before(draft: Draft) -> bool:
    """Whether the draft's send is known to have gone out (``not Send.perhaps_sent``: the mail server's "delivered",
    or an open, click or bounce that only an email that went can have): a race, a database restored from before the
    draft's send, or a person approving again an email perhaps sent that its customer has opened meanwhile. Only the
    server's "delivered" counted: the opened email was mailed a second time."""
    return draft.send is not None and not draft.send.perhaps_sent


def send_of(
    session: Session, draft: Draft, customer: Customer, variant: Variant, campaign: Campaign, brand, sender: str,
    now: datetime, tracking: str = "",
) -> tuple[Send, dict[str, Any] | None]:  # fmt: skip
    """The send that records the draft's email, before the mail server has it, and what it wrote over (None for a
    draft's first email). A draft whose earlier email may have gone (its answer lost), approved again by a person,
    keeps that email's send, written over with this one's: the earlier email's link, which its customer may have,
    stays theirs, even should the server refuse this one, and so does its Message-ID (EarlierMessageId), which the
    email service's events of it name; refused, the earlier email is put back (``forget_send``).
    ``tracking``: what the email tells Tailor of (TrackingSettings.carried)."""
    features = email_features((customer.profile or {}).get("churn_risk"), draft.recommendations)
    send = draft.send or Send(customer_id=customer.id, campaign_id=campaign.id, draft_id=draft.id)
    if send.message_id is not None:
        session.add(EarlierMessageId(message_id=send.message_id, send_id=send.id, sent_at=send.sent_at))
    written = {
        "variant_id": variant.id, "subject": variant.subject, "preheader": variant.preheader, "intro": variant.intro,
        "campaign_type": campaign.campaign_type, "segment": segment_named(customer.segment),
        "locale": html_locale(variant.html) or writing_locale(customer.locale, brand)[0],
        "n_products": len(draft.recommendations), "mean_price": features["mean_price"],
        "churn_risk": features["churn_risk"], "rec_score": features["rec_score"],
        "sent_at": now, "message_id": new_message_id(sender), "to_email": customer.email, "tracking": tracking,
    }  # fmt: skip
    earlier = {column: getattr(send, column) for column in written} if send.message_id is not None else None
    for column, value in written.items():
        setattr(send, column, value)
    session.add(send)
    return send, earlier


class Recorded(NamedTuple):
    """A sent email as recorded: the address it went to as addresses are compared, and its customer's id."""

    address: str
    external_id: str


def record_delivered(
    engine: Engine, campaign_id: int, draft_id: int, send_id: int, arm: str | None, now: datetime
) -> Recorded | None:
    """Record that the mail server took the draft's email: its send "delivered", the draft "sent", the campaign
    "sent", an experiment's ``arm`` (None outside one). Tried again a few times while the database is busy (SQLite's
    write lock held past its timeout by a long write): the email went, and a draft left "sending" would go back to
    review as perhaps sent, for a person to mail it twice. None when the customer was erased meanwhile."""
    for attempt in range(1, RECORD_TRIES + 1):
        try:
            with session_scope(engine) as session:
                _customer_first(session, _SENDS_CUSTOMER, {"send_id": send_id})
                # with its first send: a job cancelled or killed after it left "ready"
                session.execute(_CAMPAIGN_SENT, {"campaign_id": campaign_id})
                # The send with its customer, and the draft (None: gone with its customer), in one statement; the
                # event added by its send's id, without reading the send's earlier events.
                sent = session.execute(_SEND_AND_DRAFT, {"send_id": send_id, "draft_id": draft_id}).one_or_none()
                if sent is None:
                    return None
                send, draft = sent
                # Written in the order they were when each read flushed what came before it (PostgreSQL's row locks
                # taken in that order): the event, then the arm's send and assignment, then the draft.
                session.add(Event(send_id=send.id, kind="delivered", occurred_at=now))
                session.flush()
                if arm is not None:
                    record_send(session, campaign_id, send.customer, send, arm, now)
                session.flush()
                if draft is not None:
                    _sent(draft)
                recorded = Recorded(address_key(send.to_email), send.customer.external_id)
            return recorded
        except OperationalError:
            if attempt == RECORD_TRIES:
                raise
            log.warning("recording a sent email waits for the database", extra={"draft_id": draft_id, "try": attempt})
            time.sleep(attempt)
    raise AssertionError("unreachable")


# record_delivered's statements, built once for a send's every email (building them took longer than running them)
_SENDS_CUSTOMER = select(Send.customer_id).where(Send.id == bindparam("send_id")).scalar_subquery()
_CAMPAIGN_SENT = update(Campaign).where(Campaign.id == bindparam("campaign_id")).values(status="sent")
_SEND_AND_DRAFT = (
    select(Send, Draft)
    .outerjoin(Draft, Draft.id == bindparam("draft_id"))
    .where(Send.id == bindparam("send_id"))
    .options(joinedload(Send.customer))
)


def _customer_first(session: Session, customer_id, params: dict[str, Any] | None = None) -> None:
    """Lock the customer (``customer_id``, a row id or a subquery giving it) before the campaign, send or draft that
    the caller writes, as an erasure locks them (service.customers.erase_customer: the customer, then their
    campaigns' forecasts, sends and drafts): on SQLite the database's write lock; on PostgreSQL the customer's row
    FOR KEY SHARE, which keeps them from being erased until the transaction ends. Written first, a draft or send was
    held while the erasure waited for it, and the writer for the customer's row (a bounce marked, an experiment's
    arm): a deadlock, PostgreSQL failing one. Read before the lock, what an erasure deleted meanwhile was written as
    if there (StaleDataError: the send job failed). ``params``: the values a subquery's parameters are bound to."""
    if not take_the_write_lock(session):
        session.execute(
            select(Customer.id).where(Customer.id == customer_id).with_for_update(read=True, key_share=True), params
        )


def _held_draft(session: Session, draft_id: int) -> Draft | None:
    """The draft, read under the locks its write needs, its customer's first (``_customer_first``); None when it
    went with its customer."""
    _customer_first(session, select(Draft.customer_id).where(Draft.id == draft_id).scalar_subquery())
    return session.get(Draft, draft_id, with_for_update=True)


def _sent(draft: Draft) -> None:
    """Write ``draft`` "sent", its claim given back, and take back the notes its latest reasons hold that the mail
    server's "delivered" answers: that its sending was interrupted before the answer was recorded (recovery's, once
    its claim was an hour old or its process judged stopped: this sender, alive, recorded it since), or that it was
    not sent (a second sender's, which claimed it again meanwhile and skipped it). Left, they told the reviewer of a
    sent draft that the customer might not have its email, and to approve it again."""
    answered = len(draft.flag_reasons)
    while answered and _answered_by_delivery(draft.flag_reasons[answered - 1]):
        answered -= 1
    if answered < len(draft.flag_reasons):
        draft.flag_reasons = draft.flag_reasons[:answered]
        draft.flagged = bool(without_deferrals(draft.flag_reasons))
    draft.status, draft.claimed_by = "sent", None


def _answered_by_delivery(reason: str) -> bool:
    return reason == SEND_INTERRUPTED or reason.startswith(NOT_SENT)


def nothing_taken(error: BaseException) -> bool:
    """Whether the mail server took nothing of the email: it answered a refusal (of the email, its address, its size;
    or would not open a connection again), or the email could not be written. Not so for a connection lost while the
    email was handed over, nor for a stop in the middle: the server may have it."""
    refused = (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException, EmailRefused, ValueError)
    return isinstance(error, refused)


def forget_send(
    engine: Engine, send_id: int, claimed: str, message_id: str, earlier: dict[str, Any] | None = None
) -> None:
    """Take back the send recorded for the email ``message_id``, which the mail server did not take: the draft is
    sent later, or not at all. A draft's first email's send is deleted, but kept once the draft is no longer
    ``claimed`` so: a claim taken back, the draft approved again goes on that send. A draft mailed again has its
    earlier email (``earlier``, what send_of wrote over) put back on its send, Message-ID and all, whoever holds
    the draft now, unless a later email was written over it since: the send showed the refused email's Message-ID
    as its own, and the earlier one, which the customer may have, as if another had gone after it."""
    with session_scope(engine) as session:
        _customer_first(session, select(Send.customer_id).where(Send.id == send_id).scalar_subquery())
        send = session.get(Send, send_id)
        if send is None or send.message_id != message_id:
            return
        if earlier is None:
            if held(session.get(Draft, send.draft_id), claimed):
                session.delete(send)
            return
        for column, value in earlier.items():
            setattr(send, column, value)
        session.execute(
            delete(EarlierMessageId).where(
                EarlierMessageId.send_id == send_id, EarlierMessageId.message_id == earlier["message_id"]
            )
        )


def claim(engine: Engine, draft_id: int) -> str | None:
    """Claim an approved draft for this process to send, committed before the mail server is called: the claim
    (service.jobs.recovery.new_send_claim), which every later write of this send names, if it won the draft; None
    when another sender claimed or sent it, review took it back, or its campaign is being generated since the send
    began (the drafts left stay approved, for the next send)."""
    with session_scope(engine) as session:
        claimed = new_send_claim()
        return claimed if session.execute(_CLAIM, {"draft_id": draft_id, "claim": claimed}).rowcount else None


# claim's statement, built once for a send's every draft (building it took longer than the database ran it); the
# claim's time by the database's clock, as recovery judges it (service.jobs.recovery.STALE_AFTER)
_CLAIM = (
    update(Draft)
    .where(
        Draft.id == bindparam("draft_id"), Draft.status == "approved",
        ~select(Campaign.id).where(Campaign.id == Draft.campaign_id, Campaign.status == "generating").exists(),
    )
    .values(status="sending", claimed_by=bindparam("claim"), updated_at=database_now())
)  # fmt: skip


def held(draft: Draft | None, claimed: str) -> bool:
    """Whether ``draft`` is still being sent under the claim ``claimed``: not erased, nor taken back (an hour old),
    nor claimed again since."""
    return draft is not None and draft.status == "sending" and draft.claimed_by == claimed


def release(engine: Engine, draft_id: int, claimed: str, status: str = "approved") -> None:
    """Give back the claim ``claimed`` on a draft whose email did not go: ``status`` again."""
    with session_scope(engine) as session:
        mine = update(Draft).where(Draft.id == draft_id, Draft.status == "sending", Draft.claimed_by == claimed)
        session.execute(mine.values(status=status, claimed_by=None))


def flag_perhaps_sent(engine: Engine, draft_id: int, claimed: str, error: Exception) -> None:
    """Put back to review, flagged, a draft whose email was being handed to the mail server when the connection was
    lost: the server may have taken it and only its answer gone missing, and sending it again would mail the
    customer twice."""
    with session_scope(engine) as session:
        draft = _held_draft(session, draft_id)
        if not held(draft, claimed):
            return
        back_to_review(draft, SEND_CUT_OFF.format(error=f"{type(error).__name__}: {error}".rstrip(": ")))


def refused_email(engine: Engine, draft_id: int, claimed: str, error: EmailRefused) -> dict[str, Any]:
    """A draft whose email the mail server refused for its content or size: back to review, flagged with the
    server's answer, for a person to change it and approve it again (it stopped every send of its campaign, first
    in the audience's order each time); what the job's result lists under ``refused``."""
    with session_scope(engine) as session:
        draft = _held_draft(session, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        if held(draft, claimed):  # else review, or another claim, has it now
            back_to_review(draft, f"The mail server refused this email: {error}")
        return _told(draft, str(error))


def mark_sent(engine: Engine, campaign_id: int, sent: int) -> None:
    """A campaign that sent email is `sent`, whether its job ends well or stops part way; its forecast is read again
    (in an experiment, the arms' variants went where it counted the mean of each draft's variants)."""
    if sent:
        with session_scope(engine) as session:
            campaign = session.get(Campaign, campaign_id)
            campaign.status = "sent"
            mark_stale(campaign)


def unwritable(engine: Engine, draft_id: int, claimed: str, error: ValueError) -> dict[str, Any]:
    """A draft whose email cannot be written: skipped and flagged with why, so that the rest still go."""
    return skip(engine, draft_id, claimed, "The email could not be written", str(error))


def refuse(engine: Engine, draft_id: int, claimed: str, error: smtplib.SMTPRecipientsRefused) -> dict[str, Any]:
    """A draft whose address the mail server refused. For good, for the address itself (5xx: no such mailbox,
    say), skipped, flagged with the server's answer, and the address marked as bounced, so that no later campaign
    mails it; for now (4xx: greylisting, a full mailbox, a relay's rate limit), or for a reason of the server's own
    (5.7.x: relaying denied to a relay that wants a login, the sender's reputation), approved again, to be tried
    again after a wait (``retry_later``): such an answer comes for every address alike, and each one marked
    bounced stopped the shop's whole list for good."""
    answer = "; ".join(f"{code} {answer_text(reply)}" for code, reply in error.recipients.values())
    if all(int(code) >= 500 and _about_the_address(reply) for code, reply in error.recipients.values()):
        return skip(engine, draft_id, claimed, "The mail server refused the address", answer, bounced=True)
    return retry_later(engine, draft_id, claimed, answer)


def retry_later(engine: Engine, draft_id: int, claimed: str, answer: str) -> dict[str, Any]:
    """Give back the claim ``claimed`` on a draft whose address the server refused, not for good: approved, not to
    be tried again before the wait its count of such refusals gives (``RETRY_MINUTES``; a send and the due-check
    leave it until then, and the due-check tries it then); refused once more after the last wait, back to review,
    flagged with the server's answer. What the job's result lists under ``refused``."""
    with session_scope(engine) as session:
        draft = _held_draft(session, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        told = _told(draft, answer)
        if not held(draft, claimed):
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


def not_theirs(engine: Engine, draft_ids: list[int]) -> None:
    """Take back the refusals counted against these drafts' addresses (``retry_later``), which the server refused
    for a reason of its own that stops the send: the next send, once its login is set, mails them at once."""
    with session_scope(engine) as session:
        session.execute(
            update(Draft)
            .where(Draft.id.in_(draft_ids), Draft.status == "approved", Draft.refusals_for_now > 0)
            .values(refusals_for_now=Draft.refusals_for_now - 1, retry_after=None)
            .execution_options(synchronize_session=False)
        )


def left_approved(engine: Engine, draft_id: int, answer: str) -> dict[str, Any]:
    """What the job's result lists for a draft the server refused that stays approved, for the next send."""
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        return _told(draft, answer) | {"approved": True}


def for_its_own_reasons(error: smtplib.SMTPRecipientsRefused) -> bool:
    """Whether the server refused the address for good for a reason of its own (5.7.1 Relay access denied), which
    every address gets alike, not for the address, nor for now."""
    return all(int(code) >= 500 and not _about_the_address(reply) for code, reply in error.recipients.values())


def _about_the_address(reply: bytes | str) -> bool:
    """Whether a refusal is about the address (its enhanced status code's subject: 1, addressing; 2, the mailbox),
    or names no such code; not one of the server's own policy, system or network (5.7.1 Relay access denied)."""
    status = enhanced_status(reply)
    return status is None or status[1] in ADDRESS_SUBJECTS


def skip(engine: Engine, draft_id: int, claimed: str, why: str, answer: str, bounced: bool = False) -> dict[str, Any]:
    """Skip one draft of a send, flagged with ``why: answer`` (and its address marked bounced, when it did);
    what the job's result lists under ``refused``. Left as it is once the draft is no longer ``claimed`` so."""
    with session_scope(engine) as session:
        draft = _held_draft(session, draft_id)
        if draft is None:
            return _erased_meanwhile(draft_id)
        if not held(draft, claimed):  # review, or another claim, has it now
            return _told(draft, answer)
        draft.status, draft.flagged, draft.claimed_by = "skipped", True, None
        if bounced:  # the address bounced for every id that has it
            mark_bounced(session, [draft.customer.email_key])
        draft.flag_reasons = [*draft.flag_reasons, f"{why}: {answer}"]
        return _told(draft, answer)


def _told(draft: Draft, answer: str) -> dict[str, Any]:
    """What the job's result lists under ``refused`` for a draft the server answered for: the draft, its customer's
    id and the answer without the address it names (the result reaches a webhook's receiver, whom an erasure cannot
    reach; the draft's flag reason, for the reviewer, keeps it)."""
    told = without_address(answer, draft.customer.email)
    return {"draft_id": draft.id, "customer_id": draft.customer.external_id, "answer": told}


def _erased_meanwhile(draft_id: int) -> dict[str, Any]:
    """What the job's result lists for a draft whose customer was erased while the server answered for their email
    (the draft went with them): neither their id nor the answer, which may name their address. It failed the job."""
    return {"draft_id": draft_id, "customer_id": ERASED_TEXT, "answer": "the customer was erased meanwhile"}


# An address as a mail server's answer writes it: any character an address's local part may hold (O'Neil's too),
# an @ and a domain, in angle brackets or not.
_ADDRESS = re.compile(r"<?[\w.!#$%&'*+/=?^`{|}~-]+@[\w.-]+>?")


def without_address(answer: str, address: str | None) -> str:
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
