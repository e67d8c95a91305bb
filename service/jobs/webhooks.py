"""Tells a marketing tool when a job ends, instead of it polling GET /jobs/{id}: with `TAILOR_WEBHOOK_URL` set,
every job that ends (succeeded, failed or cancelled) is POSTed there as JSON.

The body is `{"event": "job.ended", "job": {...}}`, the job as GET /jobs/{id} shows it. With
`TAILOR_WEBHOOK_SECRET`, the header `X-Tailor-Signature: sha256=<hex>` is the HMAC-SHA256 of the body under that
secret, so the receiver can tell the call came from Tailor. A delivery that fails (no answer, or a 5xx) is tried
again twice, after 1 and 2 seconds; one that still fails is logged, and the job keeps its own outcome.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine

from service.db.models import Job
from service.db.session import session_scope
from service.schemas import JobOut

log = logging.getLogger("tailor.jobs")
ATTEMPTS = 3


class WebhookSettings(BaseSettings):
    """Where ended jobs are announced (`TAILOR_WEBHOOK_URL`; unset: nowhere) and the secret that signs them."""

    model_config = SettingsConfigDict(env_prefix="TAILOR_WEBHOOK_")

    url: str | None = None
    secret: SecretStr | None = None
    timeout_seconds: float = Field(default=5.0, gt=0)
    retry_seconds: float = Field(default=1.0, ge=0)


def job_payload(job: Job) -> dict[str, Any]:
    """The announcement: the job as GET /jobs/{id} shows it (``JobOut``)."""
    return {"event": "job.ended", "job": JobOut.model_validate(job, from_attributes=True).model_dump(mode="json")}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def announce_job(engine: Engine, job_id: str, settings: WebhookSettings | None = None) -> bool | None:
    """POST the ended job to the webhook; True when delivered, False when every try failed, None when no webhook
    is set."""
    settings = settings or WebhookSettings()
    if not settings.url:
        return None
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        body = json.dumps(job_payload(job)).encode()
    headers = {"Content-Type": "application/json", "X-Tailor-Event": "job.ended"}
    if settings.secret is not None:
        headers["X-Tailor-Signature"] = signature(settings.secret.get_secret_value(), body)
    for attempt in range(ATTEMPTS):
        problem = _post(settings.url, body, headers, settings.timeout_seconds)
        if problem is None:
            return True
        if problem.startswith("HTTP 4") and problem not in ("HTTP 408", "HTTP 429"):  # refused, and would be again
            break  # (a timeout or a rate limit passes: tried again like a 5xx)
        if attempt + 1 < ATTEMPTS:
            time.sleep(settings.retry_seconds * 2**attempt)
    log.warning("webhook not delivered", extra={"job_id": job_id, "url": settings.url, "error": problem})
    return False


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> str | None:
    """None when the receiver answered 2xx, else what went wrong."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310 (an operator-configured URL)
            return None
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"{type(error).__name__}: {getattr(error, 'reason', error)}"
