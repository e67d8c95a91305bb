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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from service.db.models import Job
from service.db.session import session_scope
from service.schemas import JobOut
from service.settings import is_web_address

log = logging.getLogger("tailor.jobs")
ATTEMPTS = 3
EVENT = "job.ended"


class WebhookSettings(BaseSettings):
    """Where ended jobs are announced (`TAILOR_WEBHOOK_URL`; unset: nowhere) and the secret that signs them."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_WEBHOOK_")

    url: str | None = None
    secret: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0)
    retry_seconds: float = Field(default=1.0, ge=0)

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
    engine: Engine, job_id: str, settings: WebhookSettings | None = None, corrects: dict[str, Any] | None = None
) -> bool | None:
    """POST the ended job to the webhook, saying which ending announced before it ``corrects``, if any; True when
    delivered, False when it was not (logged as a warning: it never raises, as whoever calls it has a job's own
    outcome to keep), None when no webhook is set."""
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
            body = json.dumps(job_payload(session.get(Job, job_id), corrects)).encode()
        for problem in _deliveries(settings, body):
            if problem is None:
                return True
            failed_tries.append(problem)
        why = failed_tries[-1]
    except Exception as error:  # noqa: BLE001 (the job has ended: its announcement failing is logged, not raised)
        why = f"{type(error).__name__}: {error}"
    extra = {"job_id": job_id, "webhook_event": EVENT, "url": shown_url(settings.url), "tries": len(failed_tries)}
    log.warning("webhook not delivered", extra={**extra, "error": _shown_error(why, settings.url)})
    return False


def _deliveries(settings: WebhookSettings, body: bytes) -> Iterator[str | None]:
    """Each try's outcome (None: delivered), ``ATTEMPTS`` at most, waiting before each try again: a refusal (a 4xx
    but a timeout or a rate limit) is the last."""
    headers = {"Content-Type": "application/json", "X-Tailor-Event": EVENT}
    url, credentials = _without_credentials(settings.url)
    # urllib takes "user:pw@" for part of the host name (the call failed as a name not found); the header goes to
    # the configured host alone, not to where it may redirect.
    basic = base64.b64encode(credentials.encode()).decode("ascii")
    private = {"Authorization": f"Basic {basic}"} if credentials else {}
    if settings.secret is not None:
        headers["X-Tailor-Signature"] = signature(settings.secret.get_secret_value(), body)
    for attempt in range(ATTEMPTS):
        problem = _post(url, body, headers, settings.timeout_seconds, private)
        yield problem
        if problem is None:
            return
        if problem.startswith("HTTP 4") and problem not in ("HTTP 408", "HTTP 429"):  # refused, and would be again
            return  # (a timeout or a rate limit passes: tried again like a 5xx)
        if attempt + 1 < ATTEMPTS:
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
