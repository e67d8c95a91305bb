"""Tells a marketing tool when a job ends, instead of it polling GET /jobs/{id}: with `TAILOR_WEBHOOK_URL` set,
every job that ends (succeeded, failed or cancelled) is POSTed there as JSON, by the server: a job failed as
interrupted (its process stopped: the server announces it when it starts again, or its sweep finds it) too.

The body is `{"event": "job.ended", "job": {...}}`, the job as GET /jobs/{id} shows it. A job taken for
interrupted while it still ran (its process stalled, or the database was away, past its missed beats) is announced
failed by whoever failed it, and again when it ends, with its own ending, which wins: that second body says so
with `"corrects": {"status": ..., "error": ...}`, the ending it replaces. With
`TAILOR_WEBHOOK_SECRET`, the header `X-Tailor-Signature: sha256=<hex>` is the HMAC-SHA256 of the body under that
secret, so the receiver can tell the call came from Tailor. A user and password in the URL
(`https://user:pw@host/hook`) are sent as HTTP Basic authentication, and the log names the URL without them or its
query (which may carry a token). Each announcement is tried once when its job ends (the try waits
`TAILOR_WEBHOOK_TIMEOUT_SECONDS` at most); one not delivered (no answer, a 5xx, a refusal, an answer that is not
HTTP, the job unreadable; in a command, a URL with no scheme, which a server refuses at its start) is logged as a
warning ("webhook not delivered", with the URL so shown, the event, the job's id, its tries so far and why), and the
job keeps its own outcome. The server's delivery thread tried three times, 1 and 2 seconds apart: against a receiver
that took the connection and never answered, about 18 s a job, and every ending after it waited in line.

An announcement is owed from the moment its job's ending is written, in the same transaction (``owe``; nothing is
owed while no webhook is set): on the job's row, since when, its tries, its next try, the ending it corrects. It
was kept there only once a try had failed, and a process killed before or during its first try (SIGKILL, a power
cut) left nothing saying it was owed. The process that wrote the ending makes the first try (the server on its
delivery thread, a command before it returns), claimed on the row first, its next try put off past that try's time:
another process's sweep leaves it alone meanwhile, and takes it once that time is past, if the process that owed it
died. A command makes one try for all its announcements within one try's timeout, and says on stderr that it waits
once it does more than a moment (``announce_briefly``); the server's delivery thread, once a try is not delivered,
lets the endings queued behind it go to the sweep untried (``let_go``), so that a burst of endings against a silent
receiver waits one timeout, not one each. What is not delivered stays owed, and is tried again, the same
body, by the server's sweep and by the next command whose announcement gets through (``deliver_pending``), the waits
doubling from ``TAILOR_WEBHOOK_RETRY_SECONDS`` up to an hour, and given up, logged ("webhook given up"), after
``TAILOR_WEBHOOK_GIVE_UP_AFTER_TRIES`` tries (a try counts from its claim: one its process died during too). Each try
is claimed on the row, so that two processes do not both make it; delivery is still at least once (a receiver that
answered past the timeout, or a process killed after the receiver took it, before it was noted), and a receiver
should drop one it already had.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy import DateTime, Engine, func, literal, null, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from generation.settings import EnvironmentSettings
from service.db.clock import now_in_database
from service.db.models import Job
from service.db.session import session_scope
from service.schemas import JobOut
from service.settings import is_web_address

log = logging.getLogger("tailor.jobs")
EVENT = "job.ended"
# How long a command waits for the webhook before it says so on stderr.
WAIT_TOLD_AFTER_SECONDS = 1.0
# The least time left within a command's wait (or a sweep's deadline) for which a try is made: a try with less
# counted toward the give-up, and cut off a receiver answering in its usual half second.
SHORTEST_TRY_SECONDS = 1.0
# The longest wait before a kept announcement is tried again (the waits double from TAILOR_WEBHOOK_RETRY_SECONDS).
MOST_SECONDS_BETWEEN_TRIES = 3600.0
NONE_PENDING: dict[str, Any] = {
    "announcement_pending_since": None, "announcement_tries": 0, "announcement_next_at": None,
    "announcement_corrects": null(),
}  # fmt: skip


class WebhookSettings(EnvironmentSettings):
    """Where ended jobs are announced (`TAILOR_WEBHOOK_URL`; unset: nowhere) and the secret that signs them."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_WEBHOOK_")

    url: str | None = None
    secret: SecretStr | None = None
    # Not inf: a command's announcement ended in an OverflowError traceback, its owed try's moment beyond dates.
    timeout_seconds: float = Field(default=5.0, gt=0, allow_inf_nan=False)
    retry_seconds: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    give_up_after_tries: int = Field(default=36, ge=1)

    @field_validator("url")
    @classmethod
    def _http_address(cls, value: str | None) -> str | None:
        """An address the announcements can be POSTed to: without ``http://`` or ``https://`` every job's ending was
        logged as not delivered, and a ``user:pw@`` before the host was logged whole (read as a scheme)."""
        if not value:
            return None
        if not is_web_address(value.strip()):
            raise ValueError("is not an http:// or https:// address (e.g. https://crm.example/hooks/tailor)")
        return value.strip()


def job_payload(job: Job, corrects: dict[str, Any] | None = None) -> dict[str, Any]:
    """The announcement: the job as GET /jobs/{id} shows it (``JobOut``), and the ending announced before that it
    ``corrects``, if any."""
    payload = {"event": EVENT, "job": JobOut.model_validate(job, from_attributes=True).model_dump(mode="json")}
    return payload | ({"corrects": corrects} if corrects else {})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def owe(session: Session, job_ids: Collection[str], corrects: dict[str, Any] | None = None) -> None:
    """In the transaction that writes the jobs' endings (and so with them or not at all): their announcements are owed,
    a new one over any still owed of an earlier ending (its tries start again), saying which ending it ``corrects``, if
    any. The process writing them holds them until its first try is past (``_held_for``): another's sweep takes them
    only if it died first. Nothing when no webhook is set, or one the settings refuse (its announcement says why)."""
    if (settings := _webhook()) is None or not job_ids:
        return
    now = now_in_database(session)
    since = func.coalesce(Job.announcement_pending_since, literal(now, DateTime()))
    values = {
        "announcement_pending_since": since, "announcement_tries": 0, "announcement_next_at": now + _held_for(settings),
        "announcement_corrects": corrects or Job.announcement_corrects,
    }  # fmt: skip
    session.flush()  # the endings first: their own updated_at is the one the announcement shows
    _set_announcement(session, [Job.id.in_(list(job_ids))], **values)


def announce_job(
    engine: Engine,
    job_id: str,
    settings: WebhookSettings | None = None,
    corrects: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> bool | None:
    """The first try of the ended job's announcement, owed by the process that wrote its ending (``owe``), saying which
    ending announced before it ``corrects``, if any (else the one kept on its row): one POST, ``timeout`` at most (else
    the settings'); True when delivered, or when it is no longer this process's to try (another process's sweep took
    it, its time to try past, or delivered it); False when it was not delivered (logged as a warning, and kept owed
    for a later try: see ``deliver_pending``; it never raises, as whoever calls it has a job's own outcome to keep);
    None when no webhook is set."""
    try:
        settings = settings or WebhookSettings()
    except ValidationError as error:  # a command's end: the server refuses to start with it (service.app)
        from service.settings import environment_problem

        log.warning("webhook not delivered", extra={"job_id": job_id, "error": environment_problem(error)})
        return False
    if not settings.url:
        return None
    try:
        claim = _claim_owed(engine, job_id, settings)
    except SQLAlchemyError as error:  # still owed, unclaimed: the sweep or the next command tries it
        why = " ".join(str(error).split())[:300]
        extra = {"job_id": job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": 0, "error": why}
        log.warning("webhook not delivered", extra=extra)
        return False
    if claim is None:
        return True
    return _try(engine, settings, claim, corrects, timeout or settings.timeout_seconds)


def announce_briefly(
    engine: Engine, endings: list[tuple[str, dict[str, Any] | None]], tell: Callable[[str], None] | None = None
) -> None:
    """A command's announcements (the ``endings``: job id and the ending it corrects, if any), then those kept from
    before (``deliver_pending``): one try each, all within one try's timeout, and told (``tell``: stderr) when they
    keep the command waiting more than a moment. What is not delivered stays owed on the job's row, for the server's
    sweep or the next command: a receiver that took the connection and never answered kept every command waiting
    about 18 s at its end, saying nothing, and the announcement was then lost."""
    if not endings:
        return
    try:
        settings = WebhookSettings()
    except ValidationError:  # announce_job logs why, for each
        for job_id, corrects in endings:
            announce_job(engine, job_id, None, corrects)
        return
    if not settings.url:
        return
    deadline = time.monotonic() + settings.timeout_seconds
    said = f"waiting for the webhook {shown_url(settings.url)} (up to {settings.timeout_seconds:g} s)"
    waiting = threading.Timer(WAIT_TOLD_AFTER_SECONDS, tell or _on_stderr, [said])
    waiting.daemon = True
    waiting.start()
    try:
        delivered = True
        for job_id, corrects in endings:
            left = deadline - time.monotonic()
            if delivered and left >= _shortest_try(settings):
                delivered = announce_job(engine, job_id, settings, corrects, timeout=left) is True
            else:  # the receiver did not answer the one before, or too little time is left: not tried, left to the
                let_go(engine, job_id, settings)  # next process at once
                delivered = False
        if delivered:
            deliver_pending(engine, settings, deadline)
    finally:
        waiting.cancel()


def _on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def deliver_pending(engine: Engine, settings: WebhookSettings | None = None, deadline: float | None = None) -> None:
    """Try again the announcements owed on jobs' rows whose wait is over, oldest first, one try each (the server's
    sweep, and a command after its own): those not delivered before, and those whose process died before its first
    try was through. It stops at the first one not delivered (the receiver is down or slow: the others wait for the
    next time, their tries not counted), and once less than a try's least time (``SHORTEST_TRY_SECONDS``) is left
    before ``deadline`` (``time.monotonic()``), if given."""
    try:
        settings = settings or WebhookSettings()
    except ValidationError:  # a server refuses to start with it; a command's own announcement said why
        return
    if not settings.url:
        return
    try:
        while deadline is None or deadline - time.monotonic() >= _shortest_try(settings):
            if (claim := _claim_next(engine, settings)) is None:
                return
            left = settings.timeout_seconds if deadline is None else deadline - time.monotonic()
            if not _try(engine, settings, claim, None, max(min(settings.timeout_seconds, left), 0.1)):
                return
    except SQLAlchemyError as error:  # the database away: the next sweep tries again
        log.warning("webhook announcements kept not tried", extra={"error": " ".join(str(error).split())[:300]})


def _shortest_try(settings: WebhookSettings) -> float:
    """The least time left for which a try is made (``SHORTEST_TRY_SECONDS``, or the whole timeout if shorter)."""
    return min(SHORTEST_TRY_SECONDS, settings.timeout_seconds)


def _webhook() -> WebhookSettings | None:
    """The webhook's settings, where one is set and they are valid."""
    try:
        settings = WebhookSettings()
    except ValidationError:
        return None
    return settings if settings.url else None


def _held_for(settings: WebhookSettings) -> timedelta:
    """How long a claimed try (or, owed, the first) is its process's: past it, another's sweep may take it."""
    return timedelta(seconds=2 * settings.timeout_seconds + 1)


def _set_announcement(session: Session, where: Iterable[ColumnElement[bool]], **values: Any) -> int:
    """Set the announcement's ``values`` on the jobs' rows that ``where`` holds for, their ``updated_at`` (the time
    of the job's own ending, which the announcement shows) left as it is; how many rows were set (0: another process
    changed the row first)."""
    change = update(Job).where(*where).values(**values, updated_at=Job.updated_at)
    return session.execute(change.execution_options(synchronize_session=False)).rowcount


def _untried(job_id: str) -> tuple[ColumnElement[bool], ...]:
    """The row's condition that the job's announcement is owed and no try of it was claimed yet."""
    return (Job.id == job_id, Job.announcement_pending_since.is_not(None), Job.announcement_tries == 0)


@dataclass(frozen=True)
class _Claim:
    """A try of a job's owed announcement, claimed on its row: the ending it announces (the job's ``updated_at``),
    and its next try and tries as the claim wrote them. While they stay so, no other process has claimed it or owed
    a new ending since: the tries of one ending only grow, and a new ending has a moment of its own. Without the
    ending, a claim of a newer ending's first try in the same millisecond (SQLite's clock counts no finer) read as
    the older one's, and the process holding that one noted the newer delivered or kept as its own. (A job failed as
    interrupted that still runs moves its ``updated_at`` with each progress report: the claim no longer holds, and
    the sweep tries the announcement once the claim's time is past.)"""

    job_id: str
    ending_at: datetime
    next_at: datetime
    tries: int

    def still_held(self) -> tuple[ColumnElement[bool], ...]:
        """The row's condition that it is still this claim's."""
        return (
            Job.id == self.job_id, Job.updated_at == self.ending_at, Job.announcement_next_at == self.next_at,
            Job.announcement_tries == self.tries,
        )  # fmt: skip


def _claim_owed(engine: Engine, job_id: str, settings: WebhookSettings) -> _Claim | None:
    """The job's owed announcement, claimed for its first try (by the process that owed it); None when it is not owed
    untried: delivered, or taken by another process's sweep once this one's time to try it was past."""
    with session_scope(engine) as session:
        now = now_in_database(session)
        if (ending_at := session.scalar(select(Job.updated_at).where(*_untried(job_id)))) is None:
            return None
        claim = _Claim(job_id, ending_at, now + _held_for(settings), 1)
        as_read = (*_untried(job_id), Job.updated_at == ending_at)
        taken = _set_announcement(session, as_read, announcement_tries=claim.tries, announcement_next_at=claim.next_at)
        return claim if taken else None


def _claim_next(engine: Engine, settings: WebhookSettings) -> _Claim | None:
    """The oldest announcement owed whose wait is over, claimed: its next try put off past this one, so that another
    process's sweep leaves it alone meanwhile, and counted; None when there is none, or another process claimed it
    first."""
    with session_scope(engine) as session:
        now = now_in_database(session)
        pending = session.execute(
            select(Job.id, Job.updated_at, Job.announcement_next_at, Job.announcement_tries)
            .where(Job.announcement_pending_since.is_not(None), Job.announcement_next_at <= now)
            .order_by(Job.announcement_pending_since)
            .limit(1)
        ).one_or_none()
        if pending is None:
            return None
        claim = _Claim(pending.id, pending.updated_at, now + _held_for(settings), pending.announcement_tries + 1)
        as_read = (
            Job.id == pending.id, Job.updated_at == pending.updated_at,
            Job.announcement_next_at == pending.announcement_next_at,
            Job.announcement_tries == pending.announcement_tries,
        )  # fmt: skip
        taken = _set_announcement(session, as_read, announcement_tries=claim.tries, announcement_next_at=claim.next_at)
        return claim if taken else None


def _try(
    engine: Engine, settings: WebhookSettings, claim: _Claim, corrects: dict[str, Any] | None, timeout: float
) -> bool:
    """One try of the claimed announcement; whether delivered (or its job is gone, or its claim no longer holds). Not
    delivered: logged, and kept for a later try, or given up. The body is the job as read while the claim holds,
    with the ending it corrects as then owed: a newer ending owed since the claim (the job's own, after another
    process failed it as interrupted) was announced here without what it corrects, or not at all by its process."""
    try:
        with session_scope(engine) as session:
            job = session.scalar(select(Job).where(*claim.still_held()))
            if job is None:  # deleted meanwhile, or a newer ending owed, which its process tries: not this claim's
                return True
            body = json.dumps(job_payload(job, corrects or job.announcement_corrects)).encode()
        problem = _deliver(settings, body, timeout)
    except Exception as error:  # noqa: BLE001 (the job has ended: its announcement failing is logged, not raised)
        problem = f"{type(error).__name__}: {error}"
    if problem is None:
        _forget_pending(engine, claim)
        return True
    why = _shown_error(problem, settings.url)
    extra = {"job_id": claim.job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": claim.tries}
    log.warning("webhook not delivered", extra={**extra, "error": why})
    _keep_pending(engine, settings, claim, why)
    return False


def _keep_pending(engine: Engine, settings: WebhookSettings, claim: _Claim, why: str) -> None:
    """Keep owed the claimed announcement not delivered, to be tried again after a wait that doubles with its tries
    (an hour at most); once they reach ``give_up_after_tries``, give it up, logged. A new ending owed meanwhile (its
    claim no longer holds) stays as it is."""
    given_up = claim.tries >= settings.give_up_after_tries
    wait = min(settings.retry_seconds * 2**claim.tries, MOST_SECONDS_BETWEEN_TRIES)
    try:
        with session_scope(engine) as session:
            since = session.scalar(select(Job.announcement_pending_since).where(*claim.still_held()))
            if since is None:  # no such job any more (deleted meanwhile), or a new ending owed over it
                return
            values = (
                NONE_PENDING
                if given_up
                else {"announcement_next_at": now_in_database(session) + timedelta(seconds=wait)}
            )
            _set_announcement(session, claim.still_held(), **values)
    except SQLAlchemyError as error:  # still claimed: tried again once the claim's time is past
        log.error(
            "webhook announcement not kept", extra={"job_id": claim.job_id, "error": " ".join(str(error).split())[:300]}
        )
        return
    about = {"job_id": claim.job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": claim.tries}
    if given_up:
        log.warning("webhook given up", extra={**about, "pending_since": since.isoformat(), "error": why})
    else:
        log.info("webhook announcement kept to try again", extra={**about, "next_try_seconds": round(wait, 2)})


def let_go(engine: Engine, job_id: str, settings: WebhookSettings) -> None:
    """An owed announcement this process will not try (its receiver did not answer the one before, in a command or
    on the server's delivery thread): the sweep or the next command may take it after
    ``TAILOR_WEBHOOK_RETRY_SECONDS``, not once its first try's time is past."""
    try:
        with session_scope(engine) as session:
            next_at = now_in_database(session) + timedelta(seconds=settings.retry_seconds)
            _set_announcement(session, _untried(job_id), announcement_next_at=next_at)
    except SQLAlchemyError:  # owed all the same: taken once its first try's time is past
        return
    extra = {"job_id": job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": 0}
    log.info(
        "webhook announcement kept to try again", extra={**extra, "error": "not tried: the receiver did not answer"}
    )


def _forget_pending(engine: Engine, claim: _Claim) -> None:
    """The claimed announcement is delivered: none is owed any more, unless a new ending was owed meanwhile. Not noted
    (the database away), it is delivered again once the claim's time is past: at least once."""
    try:
        with session_scope(engine) as session:
            _set_announcement(session, claim.still_held(), **NONE_PENDING)
    except SQLAlchemyError as error:
        log.warning(
            "webhook delivered, not noted: it may be delivered again",
            extra={"job_id": claim.job_id, "error": " ".join(str(error).split())[:300]},
        )


def _deliver(settings: WebhookSettings, body: bytes, timeout: float) -> str | None:
    """One try: None when delivered, else what went wrong."""
    headers = {"Content-Type": "application/json", "X-Tailor-Event": EVENT}
    url, credentials = _without_credentials(settings.url)
    # urllib takes "user:pw@" for part of the host name (the call failed as a name not found); the header goes to
    # the configured host alone, not to where it may redirect.
    basic = base64.b64encode(credentials.encode()).decode("ascii")
    private = {"Authorization": f"Basic {basic}"} if credentials else {}
    if settings.secret is not None:
        headers["X-Tailor-Signature"] = signature(settings.secret.get_secret_value(), body)
    return _post(url, body, headers, timeout, private)


def _without_credentials(url: str) -> tuple[str, str]:
    """The URL without its "user:password@", and those ("user:password", percent-decoded; "" when none). A URL
    written without its scheme ("user:password@host/hook", its password read as a path) never gets here: the
    settings refuse it (WebhookSettings.url), and their error shows it without its credentials."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, ""
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), f"{unquote(user)}:{unquote(password)}"


def _shown_error(error: str, url: str) -> str:
    """Why a delivery failed, as a log may show it: an error that quotes the URL (one urllib cannot call) without
    its credentials or query, as ``shown_url``."""
    plain, credentials = _without_credentials(url)
    for quoted in (url, plain):
        error = error.replace(quoted, shown_url(url))
    for secret in (urlsplit(plain).query, credentials):
        error = error.replace(secret, "***") if secret else error
    return error


def shown_url(url: str) -> str:
    """The URL as a log may show it: no credentials, and no query or fragment, which may carry a token."""
    parts = urlsplit(_without_credentials(url)[0])
    return urlunsplit(parts._replace(query="***" if parts.query else "", fragment=""))


def _post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, private: dict[str, str] | None = None
) -> str | None:
    """None when the receiver answered 2xx, else what went wrong. ``private`` headers are not sent on a redirect."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    for name, value in (private or {}).items():
        request.add_unredirected_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 (an operator-configured URL)
            return None
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{type(error).__name__}: {getattr(error, 'reason', error)}"
    except http.client.HTTPException as error:  # an answer that is not HTTP
        return f"{type(error).__name__}: {error}"
