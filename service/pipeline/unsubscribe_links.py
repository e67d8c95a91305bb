"""Whether the unsubscribe links in the email Tailor sends lead anywhere: the law requires that each recipient can
unsubscribe, and a link nothing answers at (no `tailor serve` running, TAILOR_PUBLIC_URL pointing elsewhere), one
that another service or another Tailor answers (which cannot verify it, or has no such send), or one only the sending
machine reaches makes that impossible."""

from __future__ import annotations

import hmac
import http.client
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from service.settings import on_this_machine
from service.signed_links import KEY_FILE, UnsubscribeLinks

# Seconds the command line's send waits for the answer at the links' address before it counts as silent.
ANSWER_TIMEOUT = 5.0


@dataclass(frozen=True)
class Unanswered:
    """Why the links would not be answered where they lead as this Tailor answers them (``why``); ``older``: a Tailor
    from before the probe answers there, on which the links may well work (an upgrade half done), but which cannot
    say so."""

    why: str
    older: bool = False

    def refusal(self, base_url: str) -> str:
        """What a send that mails nothing for it tells the person who sent it: why, and what to do."""
        if self.older:
            return (
                f"Nothing was sent: the emails' unsubscribe links would lead to {base_url}, where {self.why}. Upgrade "
                "the server there to this command's release and restart it (`tailor serve`), then send again; or, if "
                "it runs on this database with this signing key, send with --unchecked-links: it answers the links "
                "themselves."
            )
        return (
            f"Nothing was sent: the emails' unsubscribe links would lead to {base_url}, and {self.why}, so recipients "
            "could not unsubscribe, as the law requires. Start `tailor serve` where TAILOR_PUBLIC_URL points, on this "
            "database and with this signing key (or set it to where that Tailor runs); if Tailor answers there for "
            "recipients but not for this machine, send with --unchecked-links."
        )


def unreachable_links(base_url: str) -> str | None:
    """Why the unsubscribe links that start with ``base_url`` cannot be followed by the people mailed (an address
    only this machine reaches: TAILOR_PUBLIC_URL unset), or why mail clients will not offer them in one click (not
    https), or None."""
    parts = urlsplit(base_url)
    if on_this_machine(parts.hostname or ""):
        return (
            f"the emails' unsubscribe links start with {base_url}, which only this machine reaches: set "
            "TAILOR_PUBLIC_URL to the address people reach Tailor at (https://...), or recipients cannot unsubscribe, "
            "as the law requires"
        )
    if parts.scheme != "https":
        return (
            f"the emails' unsubscribe links start with {base_url}, not https: mail clients offer one-click unsubscribe "
            "only for an https link (RFC 8058); set TAILOR_PUBLIC_URL to the https address people reach Tailor at"
        )
    return None


def links_unanswered(
    links: UnsubscribeLinks, campaign_id: int, created_at: datetime, timeout: float = ANSWER_TIMEOUT
) -> Unanswered | None:
    """Why the unsubscribe links this Tailor makes (``links``: its signing key and their address) would not be
    answered where they lead, or None when they would: a send from the command line has no server of its own to
    answer them. Tailor's /health there (its database usable) is not enough: another service's passed, or another
    Tailor's on another database, whose answer to every link would be "not a link". So the links' own route is asked
    a probe of the campaign about to be sent (``campaign_id``, made at ``created_at``), which only a Tailor with this
    signing key (the links' signatures are checked with it) and this database (the links name its sends) answers
    right. Two requests, one row read there; nobody is unsubscribed, and no API key is needed, as the links need
    none."""
    if silent := _health_unanswered(links.base_url, timeout):
        return Unanswered(silent)
    return _probe_unanswered(links, campaign_id, created_at, timeout)


def _health_unanswered(base_url: str, timeout: float) -> str | None:
    """Why Tailor's ``/health`` at ``base_url`` does not say it serves, or None."""
    health = f"{base_url}/health"
    answer = _get(base_url, health, health, timeout)
    if isinstance(answer, str):
        return answer
    if answer.status == 503 and _database_unavailable(answer.body):  # Tailor, whose database does not answer it
        return _unavailable(health, answer.body)
    if answer.status != 200:
        return f"{health} answers HTTP {answer.status}{answer.server}, not Tailor's health"
    if not isinstance(answer.body, dict) or answer.body.get("status") not in ("ok", "degraded"):
        return f"{health} answers, but not as Tailor does"
    return None


def _probe_unanswered(
    links: UnsubscribeLinks, campaign_id: int, created_at: datetime, timeout: float
) -> Unanswered | None:
    """Why the Tailor at the links' address is not this one (another signing key, another database), or cannot say
    (a release from before the probe), or None: its answer to a probe of ``campaign_id`` with a nonce of this call's
    own (no answer given before serves) is the one only this Tailor's key and database give
    (``UnsubscribeLinks.probe_answer``)."""
    nonce = secrets.token_hex(16)
    where = f"{links.base_url}/unsubscribe/"
    answer = _get(links.base_url, links.probe_url(campaign_id, nonce), where, timeout)
    if isinstance(answer, str):
        return Unanswered(answer)
    if answer.status == 503 and _database_unavailable(answer.body):
        return Unanswered(_unavailable(where, answer.body))
    if answer.status == 404 and _no_such_route(answer.body):
        return Unanswered(
            "a Tailor older than this command answers: it answered the probe of those links with its own 404 (There "
            "is no /unsubscribe/probe/...), as the releases from before that check do, so it cannot be told to be the "
            "Tailor of this database and signing key",
            older=True,
        )
    if answer.status == 404:
        return Unanswered(
            f"{where} answers HTTP 404{answer.server} where this Tailor answers its links: another service, or a "
            f"Tailor with another signing key (TAILOR_UNSUBSCRIBE_SECRET, else {KEY_FILE} in its TAILOR_HOME), which "
            "takes every link for one it did not make"
        )
    if answer.status != 200 or not isinstance(answer.body, dict) or "probe" not in answer.body:
        return Unanswered(
            f"{where} answers HTTP {answer.status}{answer.server}, but not as Tailor's unsubscribe links do"
        )
    expected = links.probe_answer(campaign_id, nonce, created_at)
    if isinstance(answer.body["probe"], str) and hmac.compare_digest(answer.body["probe"], expected):
        return None
    return Unanswered(
        f"a Tailor with this signing key answers at {where}, but on another database: it holds no campaign "
        f"{campaign_id} as this one does, and would find none of the sends the links name"
    )


@dataclass(frozen=True)
class _Answer:
    """An HTTP answer: its status, what served it as its Server header says (" (server: nginx)", or ""), and its
    body read as JSON (None when it is not)."""

    status: int
    server: str
    body: object


def _get(base_url: str, url: str, shown: str, timeout: float) -> _Answer | str:
    """The answer to a GET of ``url`` (an error status's too), or why none came in HTTP, naming it ``shown``."""
    try:
        with _opener_for(base_url).open(url, timeout=timeout) as response:
            status, headers, body = response.status, response.headers, response.read(64_000)
    except urllib.error.HTTPError as error:
        try:
            status, headers, body = error.code, error.headers, error.read(64_000)
        except OSError:
            status, headers, body = error.code, error.headers, b""
    except (OSError, ValueError) as error:  # refused, timed out, no such host, a malformed address
        return f"nothing answers at {shown} ({getattr(error, 'reason', error)})"
    except http.client.HTTPException as error:  # something else listens there: a mail server's greeting, say
        return f"{shown} answers, but not in HTTP ({type(error).__name__}: {str(error).strip()})"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    server = (headers.get("Server") or "").strip() if headers is not None else ""
    return _Answer(status, f" (server: {server[:60]})" if server else "", parsed)


def _unavailable(where: str, body: dict) -> str:
    """Why Tailor's 503 at ``where`` keeps the links from being answered, in its own words: they say what to do (a
    server whose database a newer release migrated is to be upgraded)."""
    told = body.get("message")
    said = f": {told}" if isinstance(told, str) and told else ""
    return f"Tailor answers at {where} that its database is unavailable (HTTP 503{said}), so the links would fail"


def _no_such_route(body: object) -> bool:
    """Whether a 404 is Tailor's own answer to a path it has no route for (service.app: ``{"error": "NotFound",
    "message": "There is no ..."}``): a Tailor that does not know the probe's route, from before it."""
    return (
        isinstance(body, dict)
        and body.get("error") == "NotFound"
        and str(body.get("message", "")).startswith("There is no /")
    )


def _database_unavailable(body: object) -> bool:
    """Whether an error answer is Tailor's own (service.errors.error_body: ``{"error": "DatabaseUnavailable",
    "message": ...}``)."""
    return isinstance(body, dict) and body.get("error") == "DatabaseUnavailable"


def _opener_for(base_url: str) -> urllib.request.OpenerDirector:
    """What asks ``base_url``: directly for an address on this machine, which a proxy (http_proxy, https_proxy) cannot
    reach (it answered for 127.0.0.1 with its own error, a local server up); else through the proxy the environment
    names, as this machine reaches the world (no_proxy respected)."""
    on_this_one = on_this_machine(urlsplit(base_url).hostname or "")
    return urllib.request.build_opener(urllib.request.ProxyHandler({} if on_this_one else None))
