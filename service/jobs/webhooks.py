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
query (which may carry a token). A delivery that fails (no answer, or a 5xx) is tried
again twice, after 1 and 2 seconds (each try waits `TAILOR_WEBHOOK_TIMEOUT_SECONDS` at most); one that still fails,
or cannot be made at all (an answer that is not HTTP, the job unreadable; in a command, a URL with no scheme, which
a server refuses at its start), is logged as a warning ("webhook not delivered", with the URL so shown, the event,
the job's id, the tries and why), and the job keeps its own outcome.

A command (whose job ends on its own thread, and which would exit before a delivery thread's tries) makes one try, all
its announcements within one try's timeout, and says on stderr that it waits once it does more than a moment
(``announce_briefly``): three tries to a receiver that took the connection and never answered held each command
about 18 s at its end. An announcement not delivered is not dropped: it is kept on the job's row (since when, its
tries, its next try, the ending it corrects) and tried again, the same body, by the server's sweep and by the next
command whose announcement gets through (``deliver_pending``), the waits doubling from ``TAILOR_WEBHOOK_RETRY_SECONDS``
up to an hour, and given up, logged ("webhook given up"), after ``TAILOR_WEBHOOK_GIVE_UP_AFTER_TRIES`` tries. Each
try again is claimed on the row first, so that two processes do not both deliver it; delivery is still at least once
(a receiver that answered past the timeout had it), and a receiver should drop one it already had.
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
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, null, select, update
from sqlalchemy.exc import SQLAlchemyError

from service.db.clock import now_in_database
from service.db.models import Job
from service.db.session import session_scope
from service.schemas import JobOut
from service.settings import is_web_address

log = logging.getLogger("tailor.jobs")
ATTEMPTS = 3
EVENT = "job.ended"
# How long a command waits for the webhook before it says so on stderr.
WAIT_TOLD_AFTER_SECONDS = 1.0
# The longest wait before a kept announcement is tried again (the waits double from TAILOR_WEBHOOK_RETRY_SECONDS).
MOST_SECONDS_BETWEEN_TRIES = 3600.0
NONE_PENDING: dict[str, Any] = {
    "announcement_pending_since": None, "announcement_tries": 0, "announcement_next_at": None,
    "announcement_corrects": null(),
}  # fmt: skip


class WebhookSettings(BaseSettings):
    """Where ended jobs are announced (`TAILOR_WEBHOOK_URL`; unset: nowhere) and the secret that signs them."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_WEBHOOK_")

    url: str | None = None
    secret: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0)
    retry_seconds: float = Field(default=1.0, ge=0)
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


def announce_job(
    engine: Engine,
    job_id: str,
    settings: WebhookSettings | None = None,
    corrects: dict[str, Any] | None = None,
    attempts: int = ATTEMPTS,
    timeout: float | None = None,
) -> bool | None:
    """POST the ended job to the webhook, saying which ending announced before it ``corrects``, if any, ``attempts``
    tries at most, each ``timeout`` at most (else the settings'); True when delivered, False when it was not (logged
    as a warning, and kept on the job's row for a later try: see ``deliver_pending``; it never raises, as whoever
    calls it has a job's own outcome to keep), None when no webhook is set."""
    try:
        settings = settings or WebhookSettings()
    except ValidationError as error:  # a command's end: the server refuses to start with it (service.app)
        from service.settings import environment_problem

        log.warning("webhook not delivered", extra={"job_id": job_id, "error": environment_problem(error)})
        return False
    if not settings.url:
        return None
    failed_tries: list[str] = []  # why each try failed
    try:
        with session_scope(engine) as session:
            job = session.get(Job, job_id)
            body = json.dumps(job_payload(job, corrects)).encode()
            was_pending = job.announcement_pending_since is not None
        for problem in _deliveries(settings, body, attempts, timeout or settings.timeout_seconds):
            if problem is None:
                if was_pending:
                    _forget_pending(engine, job_id)
                return True
            failed_tries.append(problem)
        why = failed_tries[-1]
    except Exception as error:  # noqa: BLE001 (the job has ended: its announcement failing is logged, not raised)
        why = f"{type(error).__name__}: {error}"
    extra = {"job_id": job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": len(failed_tries)}
    log.warning("webhook not delivered", extra={**extra, "error": _shown_error(why, settings.url)})
    # a try that could not be made counts: else a job whose announcement always fails so was never given up
    _keep_pending(engine, job_id, settings, max(len(failed_tries), 1), corrects, _shown_error(why, settings.url))
    return False


def announce_briefly(
    engine: Engine, endings: list[tuple[str, dict[str, Any] | None]], tell: Callable[[str], None] | None = None
) -> None:
    """A command's announcements (the ``endings``: job id and the ending it corrects, if any), then those kept from
    before (``deliver_pending``): one try each, all within one try's timeout, and told (``tell``: stderr) when they
    keep the command waiting more than a moment. What is not delivered is kept on the job's row, for the server's
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
            if delivered and left > 0:
                delivered = announce_job(engine, job_id, settings, corrects, attempts=1, timeout=left) is True
            else:  # the receiver did not answer the one before: not tried, kept
                _keep_pending(engine, job_id, settings, 0, corrects, "not tried: the receiver did not answer")
                delivered = False
        if delivered:
            deliver_pending(engine, settings, deadline)
    finally:
        waiting.cancel()


def _on_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def deliver_pending(engine: Engine, settings: WebhookSettings | None = None, deadline: float | None = None) -> None:
    """Try again the announcements kept on jobs' rows whose wait is over, oldest first, one try each (the server's
    sweep, and a command after its own): it stops at the first one not delivered (the receiver is down or slow: the
    others wait for the next time, their tries not counted), and at ``deadline`` (``time.monotonic()``) if given."""
    try:
        settings = settings or WebhookSettings()
    except ValidationError:  # a server refuses to start with it; a command's own announcement said why
        return
    if not settings.url:
        return
    try:
        while deadline is None or deadline - time.monotonic() > 0:
            if (claimed := _claim_next(engine, settings)) is None:
                return
            left = settings.timeout_seconds if deadline is None else deadline - time.monotonic()
            job_id, corrects = claimed
            timeout = max(min(settings.timeout_seconds, left), 0.1)
            if announce_job(engine, job_id, settings, corrects, attempts=1, timeout=timeout) is not True:
                return
    except SQLAlchemyError as error:  # the database away: the next sweep tries again
        log.warning("webhook announcements kept not tried", extra={"error": " ".join(str(error).split())[:300]})


def _claim_next(engine: Engine, settings: WebhookSettings) -> tuple[str, dict[str, Any] | None] | None:
    """The oldest announcement kept whose wait is over (its job's id, and the ending it corrects), claimed: its next
    try put off past this one, so that another process's sweep leaves it alone meanwhile; None when there is none,
    or another process claimed it first."""
    with session_scope(engine) as session:
        now = now_in_database(session)
        pending = session.execute(
            select(Job.id, Job.announcement_next_at, Job.announcement_corrects)
            .where(Job.announcement_pending_since.is_not(None), Job.announcement_next_at <= now)
            .order_by(Job.announcement_pending_since)
            .limit(1)
        ).one_or_none()
        if pending is None:
            return None
        after_this_try = now + timedelta(seconds=2 * settings.timeout_seconds + 1)
        claim = update(Job).where(Job.id == pending.id, Job.announcement_next_at == pending.announcement_next_at)
        if not session.execute(claim.values(announcement_next_at=after_this_try, updated_at=Job.updated_at)).rowcount:
            return None
        return pending.id, pending.announcement_corrects


def _keep_pending(
    engine: Engine, job_id: str, settings: WebhookSettings, tries: int, corrects: dict[str, Any] | None, why: str
) -> None:
    """Keep on the job's row its announcement not delivered, ``tries`` more counted, to be tried again after a wait
    that doubles with them (an hour at most); once they reach ``give_up_after_tries``, give it up, logged."""
    try:
        with session_scope(engine) as session:
            kept = session.execute(
                select(Job.announcement_pending_since, Job.announcement_tries, Job.announcement_corrects).where(
                    Job.id == job_id
                )
            ).one_or_none()
            if kept is None:  # no such job (deleted meanwhile): nothing to announce
                return
            now = now_in_database(session)
            since, tries = kept.announcement_pending_since or now, kept.announcement_tries + tries
            given_up = tries >= settings.give_up_after_tries
            wait = min(settings.retry_seconds * 2**tries, MOST_SECONDS_BETWEEN_TRIES)
            values = NONE_PENDING if given_up else {
                "announcement_pending_since": since, "announcement_tries": tries,
                "announcement_next_at": now + timedelta(seconds=wait),
                "announcement_corrects": corrects or kept.announcement_corrects,
            }  # fmt: skip
            session.execute(update(Job).where(Job.id == job_id).values(**values, updated_at=Job.updated_at))
    except SQLAlchemyError as error:
        log.error(
            "webhook announcement not kept", extra={"job_id": job_id, "error": " ".join(str(error).split())[:300]}
        )
        return
    about = {"job_id": job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": tries}
    if given_up:
        log.warning("webhook given up", extra={**about, "pending_since": since.isoformat(), "error": why})
    else:
        log.info("webhook announcement kept to try again", extra={**about, "next_try_seconds": round(wait, 2)})


def _forget_pending(engine: Engine, job_id: str) -> None:
    """The job's kept announcement is delivered: none is pending any more."""
    with session_scope(engine) as session:
        session.execute(update(Job).where(Job.id == job_id).values(**NONE_PENDING, updated_at=Job.updated_at))


def _deliveries(settings: WebhookSettings, body: bytes, attempts: int, timeout: float) -> Iterator[str | None]:
    """Each try's outcome (None: delivered), ``attempts`` at most, waiting before each try again: a refusal (a 4xx
    but a timeout or a rate limit) is the last."""
    headers = {"Content-Type": "application/json", "X-Tailor-Event": EVENT}
    url, credentials = _without_credentials(settings.url)
    # urllib takes "user:pw@" for part of the host name (the call failed as a name not found); the header goes to
    # the configured host alone, not to where it may redirect.
    basic = base64.b64encode(credentials.encode()).decode("ascii")
    private = {"Authorization": f"Basic {basic}"} if credentials else {}
    if settings.secret is not None:
        headers["X-Tailor-Signature"] = signature(settings.secret.get_secret_value(), body)
    for attempt in range(attempts):
        problem = _post(url, body, headers, timeout, private)
        yield problem
        if problem is None:
            return
        if problem.startswith("HTTP 4") and problem not in ("HTTP 408", "HTTP 429"):  # refused, and would be again
            return  # (a timeout or a rate limit passes: tried again like a 5xx)
        if attempt + 1 < attempts:
            time.sleep(settings.retry_seconds * 2**attempt)


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
