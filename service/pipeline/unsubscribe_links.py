"""Whether the unsubscribe links in the email Tailor sends lead anywhere: the law requires that each recipient can
unsubscribe, and a link nothing answers at (no `tailor serve` running, TAILOR_PUBLIC_URL pointing elsewhere) or one
only the sending machine reaches makes that impossible."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from service.settings import on_this_machine

# Seconds the command line's send waits for Tailor's /health at the links' address before it counts as silent.
ANSWER_TIMEOUT = 5.0


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


def links_unanswered(base_url: str, timeout: float = ANSWER_TIMEOUT) -> str | None:
    """Why Tailor does not answer at ``base_url`` (its ``/health``, which needs no key, as the links need none), or
    None when it does: a send from the command line has no server of its own to answer the links it mails."""
    health = f"{base_url}/health"
    try:
        with _opener_for(base_url).open(health, timeout=timeout) as response:
            body = response.read(64_000)
    except urllib.error.HTTPError as error:
        if error.code == 503 and _database_unavailable(error):  # Tailor, whose database does not answer it
            return f"Tailor answers at {health} that its database is unavailable (HTTP 503), so the links would fail"
        return f"{health} answers HTTP {error.code}, not Tailor's health"
    except (OSError, ValueError) as error:  # refused, timed out, no such host, a malformed address
        return f"nothing answers at {health} ({getattr(error, 'reason', error)})"
    except http.client.HTTPException as error:  # something else listens there: a mail server's greeting, say
        return f"{health} answers, but not in HTTP ({type(error).__name__}: {str(error).strip()})"
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict) or answer.get("status") not in ("ok", "degraded"):
        return f"{health} answers, but not as Tailor does"
    return None


def _database_unavailable(error: urllib.error.HTTPError) -> bool:
    """Whether an error answer is Tailor's own (service.errors.error_body: ``{"error": "DatabaseUnavailable",
    "message": ...}``)."""
    try:
        body = json.loads(error.read(64_000))
    except (OSError, ValueError):
        return False
    return isinstance(body, dict) and body.get("error") == "DatabaseUnavailable"


def _opener_for(base_url: str) -> urllib.request.OpenerDirector:
    """What asks ``base_url``: directly for an address on this machine, which a proxy (http_proxy, https_proxy) cannot
    reach (it answered for 127.0.0.1 with its own error, a local server up); else through the proxy the environment
    names, as this machine reaches the world (no_proxy respected)."""
    on_this_one = on_this_machine(urlsplit(base_url).hostname or "")
    return urllib.request.build_opener(urllib.request.ProxyHandler({} if on_this_one else None))
