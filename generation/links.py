"""The one form in which two spellings of a web address compare: a product's link as an email carried it, and the
address an email service reports a click on, which is often not byte for byte the link it followed.

What a report may do to a link (those of SendGrid, Mailgun, Postmark, Brevo, Mailchimp/Mandrill and Amazon SES, and
the shop's own redirects before them): campaign parameters are appended (Google Analytics' utm_* by SendGrid's,
Brevo's and Mailchimp's "Google Analytics tracking"; Mailchimp's mc_cid/mc_eid; an ad network's click id where the
shop's site bounced the visitor through one), the query's parameters come back in another order, a link's `&` is
reported as the HTML's `&amp;` it was written in, characters are percent-encoded otherwise (`é` or `%C3%A9`,
`%c3%a9`, a space as `+` or `%20`), the scheme and host in capitals, `http` for `https`, `www.` added or dropped, a
trailing slash added or dropped, and a `#fragment` kept or lost.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

# Parameters that say where a visit came from, never which page it is: campaign tags (the utm_ family, any name
# starting so), Mailchimp's campaign and member ids, ad networks' click ids, other mailers' and analytics' own.
TRACKING_PREFIXES = ("utm_",)
TRACKING_PARAMETERS = frozenset((
    "mc_cid", "mc_eid", "mc_tc",  # Mailchimp
    "gclid", "gbraid", "wbraid", "dclid", "gclsrc", "_ga", "_gl",  # Google Ads and Analytics
    "fbclid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id", "igshid", "epik",  # other ad networks
    "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp",  # HubSpot
    "mkt_tok", "_kx", "vero_id", "vero_conv", "oly_anon_id", "oly_enc_id",  # other mailers
))  # fmt: skip
# `&` as an email's HTML writes it inside a link, left so by a report that read the link without unescaping it.
_ESCAPED_AMPERSAND = re.compile(r"&(?:amp|#0*38|#x0*26);", re.IGNORECASE)
# What a path segment keeps unencoded: RFC 3986's unreserved characters and sub-delimiters, ':' and '@'.
_SEGMENT_SAFE = "!$&'()*+,;=:@~"
_BYTES_KEPT = "surrogateescape"
_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = (80, 443)


def link_key(url: str) -> str:
    """``url`` in the form links are compared in: two spellings of one page give one key, two pages two keys.

    Ignored, because a report changes them while the page stays the page: tracking parameters (``TRACKING_PREFIXES``,
    ``TRACKING_PARAMETERS``, named in any case), the order of the query's parameters (the order of one name's
    values is kept), `&amp;` for `&`, how a character is percent-encoded (or not), `+` or `%20` for a space in the
    query, the scheme (`http` or `https`) and the case of the host, a leading `www.`, the default port, a trailing
    slash, and a fragment (which never reaches the shop's server). Kept, because they tell pages apart: every other
    query parameter (`?id=12`, `?variant=3`), the path's case, and a fragment that is a single-page shop's route
    (`#/p/12`, `#!/p/12`). An address that is no web address (http or https) is compared as it is, less surrounding
    spaces."""
    text = url.strip()
    while (unescaped := _ESCAPED_AMPERSAND.sub("&", text)) != text:  # `&amp;amp;`, escaped twice
        text = unescaped
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number: no parts to compare by
        return text
    scheme = parts.scheme.lower()
    if scheme not in _WEB_SCHEMES:  # no link an email carries (generation.render.WEB_ADDRESS)
        return text
    host = (parts.hostname or "").rstrip(".").removeprefix("www.")
    if port is not None and port not in _DEFAULT_PORTS:
        host = f"{host}:{port}"
    # Bytes that are no UTF-8 (`%E9`, Latin-1's é) decode to stand-ins that encode back to themselves: two such
    # addresses are not made one.
    path = "/".join(
        quote(unquote(segment, errors=_BYTES_KEPT), safe=_SEGMENT_SAFE, errors=_BYTES_KEPT)
        for segment in parts.path.split("/")
    ).rstrip("/")
    pairs = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True, errors=_BYTES_KEPT)
        if not _is_tracking(name)
    ]
    query = urlencode(sorted(pairs, key=lambda pair: pair[0]), quote_via=quote, errors=_BYTES_KEPT)
    route = parts.fragment if parts.fragment.startswith(("/", "!")) else ""
    return f"//{host}" + path + (f"?{query}" if query else "") + (f"#{route}" if route else "")


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMETERS or lowered.startswith(TRACKING_PREFIXES)
