"""API keys (created by `tailor keys create`, shown once, stored only as a SHA-256 hash) and the review page's
login sessions opened with one (the browser holds a random session token, never the key)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.db.models import ApiKey, ReviewSession
from service.errors import InvalidInput, NotFound, Problem, Unauthorized

KEY_PREFIX = "tk_"
SESSION_PREFIX = "rs_"
SESSION_HOURS = 12  # a review session ends this long after login: a working day, then the key is asked again
PREFIX_LENGTH = 10  # characters of a key kept in clear, to list and revoke it by


_ACTING_KEY = "tailor.acting_key"  # where a request's database session holds the key it was authorised with


def act_with_key(session: Session, key: ApiKey) -> None:
    """Note on a request's database session the key that authorised it, for the reviews it records."""
    session.info[_ACTING_KEY] = (key.prefix, key.name)


def acting_key(session: Session) -> tuple[str | None, str | None]:
    """(prefix, name) of the key the session's request was authorised with; (None, None) outside a request (the
    CLI, a job)."""
    return session.info.get(_ACTING_KEY, (None, None))


KEY_NAME_MAX = 200  # characters of a key's name, as its column holds them


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str) -> str:
    """A new key for ``name`` (who or what uses it, as `tailor keys list` shows it); the key itself is kept only
    as a hash, so this is the one time it is seen."""
    if not name.strip():
        raise InvalidInput("key", [Problem(None, "name", "say who or what uses the key", "argument")])
    if len(name.strip()) > KEY_NAME_MAX:  # PostgreSQL refused the write with a traceback; SQLite kept it whole
        message = f"is {len(name.strip())} characters long; a key's name takes {KEY_NAME_MAX} at most"
        raise InvalidInput("key", [Problem(None, "name", message, "argument")])
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    session.add(ApiKey(name=name.strip(), prefix=key[:PREFIX_LENGTH], key_hash=_digest(key)))
    session.flush()
    return key


def verify_key(session: Session, key: str | None) -> ApiKey:
    if not key:
        raise Unauthorized(
            "An API key is required: send it as the X-API-Key header or as 'Authorization: Bearer KEY' "
            "(create one: `tailor keys create`)."
        )
    found = session.scalar(select(ApiKey).where(ApiKey.key_hash == _digest(key), ApiKey.revoked_at.is_(None)))
    if found is None:
        raise Unauthorized("This API key is unknown or revoked.")
    return found


def revoke_key(session: Session, key_or_prefix: str) -> int:
    """Revoke the active keys with this prefix (a whole key is taken by its prefix); NotFound when none has it."""
    prefix = key_or_prefix.strip()[:PREFIX_LENGTH]
    if len(prefix) < PREFIX_LENGTH:  # one letter too few could have meant every key
        problem = (
            f"'{prefix}' is shorter than a key's prefix: give its first {PREFIX_LENGTH} characters, "
            "as `tailor keys list` shows them"
        )
        raise InvalidInput(
            "revoke", [Problem(None, "prefix", problem, "argument")], outcome="refused, nothing was revoked"
        )
    keys = session.scalars(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))).all()
    if not keys:
        raise NotFound(f"No active API key starts with '{prefix}'; `tailor keys list` shows the keys.")
    for key in keys:
        key.revoked_at = utcnow()
    return len(keys)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, active or revoked, oldest first: its prefix, name and dates (never the key itself)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def open_session(session: Session, key: ApiKey, reviewer: str) -> str:
    """A new review session for ``reviewer``, signed in with ``key``: the token for the browser's cookie, of which
    only the hash is stored. Sessions that have ended are cleared out on the way."""
    now = utcnow()
    session.execute(delete(ReviewSession).where(ReviewSession.expires_at <= now))
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    expires = now + timedelta(hours=SESSION_HOURS)
    session.add(
        ReviewSession(token_hash=_digest(token), api_key=key, reviewer=reviewer, created_at=now, expires_at=expires)
    )
    session.flush()
    return token


def verify_session(session: Session, token: str) -> ReviewSession:
    """The open session of this token, whose key is still active; Unauthorized, saying to log in again, when it was
    signed out, has run its SESSION_HOURS, or its key was revoked."""
    found = session.scalar(
        select(ReviewSession)
        .join(ApiKey, ReviewSession.api_key_id == ApiKey.id)
        .where(ReviewSession.token_hash == _digest(token), ReviewSession.expires_at > utcnow())
        .where(ApiKey.revoked_at.is_(None))
    )
    if found is None:
        raise Unauthorized(
            f"This review session has ended (signed out, {SESSION_HOURS} hours after login, or its API key was "
            "revoked): log in again."
        )
    return found


def session_of_token(session: Session, token: str | None) -> ReviewSession | None:
    """The stored review session ``token`` opened, ended or not (None when there is none, or no token)."""
    if not token:
        return None
    return session.scalar(select(ReviewSession).where(ReviewSession.token_hash == _digest(token)))


def close_session(session: Session, token: str | None) -> None:
    """End the session of this token, if there is one: its cookie no longer signs anyone in, even if kept."""
    if token:
        session.execute(delete(ReviewSession).where(ReviewSession.token_hash == _digest(token)))
