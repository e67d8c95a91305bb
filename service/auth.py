"""API keys: created by `tailor keys create`, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import ApiKey
from service.errors import InvalidInput, NotFound, Problem, Unauthorized

KEY_PREFIX = "tk_"
PREFIX_LENGTH = 10  # characters of a key kept in clear, to list and revoke it by


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(session: Session, name: str) -> str:
    """A new key for ``name`` (who or what uses it, as `tailor keys list` shows it); the key itself is kept only
    as a hash, so this is the one time it is seen."""
    if not name.strip():
        raise InvalidInput("key", [Problem(None, "name", "say who or what uses the key", "argument")])
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
        key.revoked_at = datetime.now()
    return len(keys)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, active or revoked, oldest first: its prefix, name and dates (never the key itself)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))
