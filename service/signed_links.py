"""The links in sent email that Tailor itself answers, each carrying its send's id signed with the shop's key
(TAILOR_UNSUBSCRIBE_SECRET, else a key made in TAILOR_HOME), so that nobody can make one for another send: the
unsubscribe link (service.unsubscribe), and the open image and click links of Tailor's tracking (service.tracking);
and the ids of the events those record. Reading them needs nothing of what they record, so the modules that record
events (service.events) read them too: an email service that relays Tailor's mail reports Tailor's click links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Self
from urllib.parse import parse_qsl, quote, urlsplit

from service.settings import PublicSettings, UnsubscribeSettings, home_settings

KEY_FILE = "unsubscribe.key"
_PURPOSE = b"tailor-unsubscribe:"
# A signed link's token: a send's id and its signature (``signature``).
TOKEN = re.compile(r"(\d{1,18})\.([A-Za-z0-9_-]{24})", re.ASCII)
_PROBE = b"tailor-unsubscribe-probe:"
_PROBE_ANSWER = b"tailor-unsubscribe-probe-answer:"
# A probe's token (``UnsubscribeLinks.probe_url``): a campaign's id, a nonce of the sender's, and its signature.
PROBE_TOKEN = re.compile(r"(\d{1,18})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{24})", re.ASCII)


def signing_key() -> bytes:
    """TAILOR_UNSUBSCRIBE_SECRET, else the key in TAILOR_HOME, made on first use."""
    configured = UnsubscribeSettings().secret
    if configured is not None:
        return configured.get_secret_value().encode()
    path = home_settings().home / KEY_FILE
    if not path.exists():
        _write_new_key(path)
    return path.read_text(encoding="utf-8").strip().encode()


def _write_new_key(path: Path) -> None:
    """Write a random key readable by its owner only; linking a finished file in place means that a process
    starting at the same moment reads either no key file or a whole one, and the first key written wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, draft = tempfile.mkstemp(dir=path.parent, prefix=".unsubscribe-")  # made with mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(secrets.token_hex(32))
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)


@dataclass(frozen=True)
class SignedLinks:
    """Links in sent email that start with Tailor's public address and carry a send's id signed with the key."""

    key: bytes
    base_url: str

    @classmethod
    def configured(cls) -> Self:
        return cls(signing_key(), PublicSettings().base_url())

    def signed_send(self, token: str, message: Callable[[int], bytes]) -> int | None:
        """The send a token (``id.signature``) names when its signature is that of ``message(id)``; None when it is
        malformed or its signature does not match."""
        match = TOKEN.fullmatch(token)
        if match is None:
            return None
        send_id = int(match.group(1))
        return send_id if hmac.compare_digest(match.group(2), signature(self.key, message(send_id))) else None


@dataclass(frozen=True)
class UnsubscribeLinks(SignedLinks):
    """Makes and reads the signed unsubscribe links of one key and public address."""

    def token(self, send_id: int) -> str:
        return f"{send_id}.{signature(self.key, _message(send_id))}"

    def url(self, send_id: int) -> str:
        return f"{self.base_url}/unsubscribe/{self.token(send_id)}"

    def send_id(self, token: str) -> int | None:
        """The send a token was made for; None when it is malformed or its signature does not match."""
        return self.signed_send(token, _message)

    def probe_url(self, campaign_id: int, nonce: str) -> str:
        """Where a sender asks, before it mails campaign ``campaign_id``, whether the Tailor its links lead to is
        this one (service.pipeline.unsubscribe_links): a probe signed with this key, which unsubscribes nobody;
        ``nonce``, 32 hex digits of its own, so that no answer given before (a cache's) serves."""
        token = f"{campaign_id}.{nonce}.{signature(self.key, _probe_message(campaign_id, nonce))}"
        return f"{self.base_url}/unsubscribe/probe/{token}"

    def probed(self, token: str) -> tuple[int, str] | None:
        """The campaign and nonce of a probe signed with this key (``probe_url``); None for any other token."""
        match = PROBE_TOKEN.fullmatch(token)
        if match is None:
            return None
        campaign_id, nonce = int(match.group(1)), match.group(2)
        signed = signature(self.key, _probe_message(campaign_id, nonce))
        return (campaign_id, nonce) if hmac.compare_digest(match.group(3), signed) else None

    def probe_answer(self, campaign_id: int, nonce: str, created_at: datetime) -> str:
        """The answer to a probe that only a Tailor with this key whose database holds the campaign, made at
        ``created_at``, gives: its links are verified with that key, and name sends of that database."""
        return signature(self.key, _PROBE_ANSWER + f"{campaign_id}\n{created_at.isoformat()}\n{nonce}".encode())


def _message(send_id: int) -> bytes:
    return _PURPOSE + str(send_id).encode()


def _probe_message(campaign_id: int, nonce: str) -> bytes:
    return _PROBE + f"{campaign_id}\n{nonce}".encode()


def signature(key: bytes, message: bytes) -> str:
    """The HMAC-SHA256 of ``message`` under ``key`` as a link carries it: 144 bits, 24 URL-safe characters. Each kind
    of link starts its message with a purpose of its own, so that no link's signature serves as another's."""
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()  # no padding: 18 bytes are 24 characters whole


_OPEN = b"tailor-open:"
_CLICK = b"tailor-click:"
# The event ids of what a link records: an open once per send, a click once per link (its address's digest).
OPEN_EVENT_ID = "tailor-open"
# The event ids of the clicks Tailor's tracked links record (``click_event_id``): the only clicks a sweep
# is looked for among. An email service's report of a reader's click, which its own tracking redirect saw a moment
# before Tailor's did, is no other link's click.
CLICK_EVENT_PREFIX = "tailor-click:"


@dataclass(frozen=True)
class TrackingLinks(SignedLinks):
    """Makes and reads the signed tracking links of one key and public address."""

    def open_url(self, send_id: int) -> str:
        return f"{self.base_url}/track/open/{send_id}.{signature(self.key, _open_message(send_id))}"

    def click_url(self, send_id: int, url: str) -> str:
        token = f"{send_id}.{signature(self.key, _click_message(send_id, url))}"
        return f"{self.base_url}/track/click/{token}?url={quote(url, safe='')}"

    def opened(self, token: str) -> int | None:
        """The send an open link was made for; None when it is malformed or its signature does not match."""
        return self.signed_send(token, _open_message)

    def clicked(self, token: str, url: str) -> int | None:
        """The send a click link to ``url`` was made for; None when it is malformed, or its signature is not that
        of this send and this address (an address changed on the way)."""
        return self.signed_send(token, lambda send_id: _click_message(send_id, url))

    def followed(self, link: str) -> tuple[int, str] | None:
        """The send and the address of a click link this key made (``click_url``), read from ``link`` as an email
        service that relays Tailor's mail and tracks its clicks too reports the link it rewrote: Tailor's, maybe with
        its own parameters appended, at whatever public address Tailor had then. None for any other link."""
        parts = urlsplit(link.strip())
        _, click_link, token = parts.path.rpartition("/track/click/")
        addresses = [value for name, value in parse_qsl(parts.query) if name == "url"]
        if not click_link or len(addresses) != 1:
            return None
        send_id = self.clicked(token, addresses[0])
        return None if send_id is None else (send_id, addresses[0])


def _open_message(send_id: int) -> bytes:
    return _OPEN + str(send_id).encode()


def _click_message(send_id: int, url: str) -> bytes:
    return _CLICK + f"{send_id}\n{url}".encode()


def click_event_id(url: str) -> str:
    """The event id of a click on ``url``: one per link of a send, whatever its length."""
    return CLICK_EVENT_PREFIX + hashlib.sha256(url.encode()).hexdigest()[:32]
