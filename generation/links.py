"""The one form in which two spellings of a web address compare: a product's link as an email carried it, and the
address an email service reports a click on, which is often not byte for byte the link it followed.

What a report may do to a link (those of SendGrid, Mailgun, Postmark, Brevo, Mailchimp/Mandrill and Amazon SES, and
the shop's own redirects before them): campaign parameters are appended (Google Analytics' utm_* by SendGrid's,
Brevo's and Mailchimp's "Google Analytics tracking"; Mailchimp's mc_cid/mc_eid; an ad network's click id where the
shop's site bounced the visitor through one), the query's parameters come back in another order, a link's `&` is
reported as the HTML's `&amp;` it was written in, characters are percent-encoded otherwise (`é` or `%C3%A9`,
`%c3%a9`, a space as `+` or `%20`), the scheme and host in capitals, `http` for `https`, `www.` added or dropped, a
trailing slash added or dropped, and a `#fragment` kept or lost; and a host in another script (`bücher.example`)
spelt as the catalog wrote it, in its ASCII form as DNS knows it (`xn--bcher-kva.example`), or percent-encoded
(`b%C3%BCcher.example`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit

import idna

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
# A reserved character percent-encoded (RFC 3986's gen-delims and sub-delims): not the same address as the character
# itself (section 6.2.2.2), as `/p/a%3Bb` is one segment to the shop's server and `/p/a;b` a segment and its parameter.
_ENCODED_RESERVED = re.compile(r"(%(?:2[1346-9A-Ca-cFf]|3[ABDFabdf]|40|5[BDbd]))")
# What a host's name keeps unencoded: RFC 3986's unreserved characters and sub-delimiters (a decoded `/`, `:` or `@`
# is no path's, port's or user's).
_HOST_SAFE = "!$&'()*+,;="
_BYTES_KEPT = "surrogateescape"
_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = (80, 443)


def link_key(url: str) -> str:
    """``url`` in the form links are compared in: two spellings of one page give one key, two pages two keys.

    Ignored, because a report changes them while the page stays the page: tracking parameters (``TRACKING_PREFIXES``,
    ``TRACKING_PARAMETERS``, named in any case), the order of the query's parameters (the order of one name's
    values is kept), `&amp;` for `&`, how a character is percent-encoded (or not; but for the path's reserved
    characters), `+` or `%20` for a space in the query, the scheme (`http` or `https`) and the case of the host, a
    leading `www.`, the default port, a trailing slash, the path's `.` and `..` segments (RFC 3986's dot segments,
    which a browser resolves before asking), a trailing dot of the host, the host's spelling in another script
    (Unicode, IDNA's ASCII form, or percent-encoded: mapped by UTS #46 as browsers map it, so that `straße` stays no
    `strasse`), and a fragment (which never reaches the shop's server). Kept, because they tell pages apart: every
    other query parameter (`?id=12`, `?variant=3`), the path's case, a reserved character of the path percent-encoded
    or not as the shop wrote it (`%3B` is no `;`, nor `%2F` a `/`, RFC 3986 6.2.2.2: to the shop's server `/p/a%3Bb`
    is one segment and `/p/a;b` a segment and its parameter), and a fragment that is a single-page shop's route
    (`#/p/12`, `#!/p/12`). An address that is no web address (http or https) is compared as it is, less surrounding
    spaces."""
    return _key(url, reserved_as_written=True)


def index_key(url: str) -> str:
    """``link_key`` but for the reserved characters of the path, read decoded (`%3B` as `;`, but `%2F`): what a
    product's address is found by in the catalog (service.db.link_keys), a key two addresses ``link_key`` tells apart
    may share, as the keys of the rules before it did."""
    return _key(url, reserved_as_written=False)


def _key(url: str, reserved_as_written: bool) -> str:
    """``link_key``, reading the path's reserved characters as they are written (``reserved_as_written``) or
    decoded."""
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
    host = _host_key(parts)
    if port is not None and port not in _DEFAULT_PORTS:
        host = f"{host}:{port}"
    path = _path_key(parts.path, reserved_as_written)
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


def _host_key(parts: SplitResult) -> str:
    """The host of ``parts`` as keys hold it: an IP address as it is, any other name by ``_domain_key``."""
    if parts.netloc.rpartition("@")[2].startswith("["):  # an IPv6 address, its brackets kept to tell its port apart
        return f"[{parts.hostname}]"
    return _domain_key(parts.netloc.rpartition("@")[2].partition(":")[0])


@lru_cache(maxsize=1024)  # a catalog's addresses are of a few hosts
def _domain_key(name: str) -> str:
    """A host's name in ASCII (IDNA's form, as DNS knows it), in lower case, without its trailing dot or `www.`.

    Percent-decoded first (RFC 3986 allows a name's UTF-8 so), then each label in another script mapped by UTS #46 as
    browsers map a name (WHATWG URL: non-transitional, no check of what a registry would refuse) and spelt in
    Punycode. A name no mapping takes (bytes that are no UTF-8) is kept as it was, less the case of its letters."""
    decoded = unquote(name, errors=_BYTES_KEPT)
    if not decoded.isascii():
        try:
            mapped = idna.uts46_remap(decoded, std3_rules=False, transitional=False)
            decoded = ".".join(
                label if label.isascii() else "xn--" + label.encode("punycode").decode("ascii")
                for label in mapped.split(".")
            )
        except UnicodeError:  # idna.IDNAError is one: a code point UTS #46 disallows
            pass
    host = decoded.lower().rstrip(".").removeprefix("www.")
    return quote(host, safe=_HOST_SAFE, errors=_BYTES_KEPT)


def _path_key(path: str, reserved_as_written: bool) -> str:
    """``path`` as keys hold it: each segment percent-encoded one way, but for a reserved character percent-encoded,
    kept so (its hex digits in capitals) when ``reserved_as_written``; its dot segments resolved (RFC 3986, 5.2.4),
    without a trailing slash.

    Bytes that are no UTF-8 (`%E9`, Latin-1's é) decode to stand-ins that encode back to themselves: two such paths
    are not made one."""
    kept: list[str] = []
    for segment in path.split("/"):
        name = _segment_key(segment, reserved_as_written)
        if name == "..":
            if len(kept) > 1:  # the segment before goes, never the root
                kept.pop()
        elif name != ".":
            kept.append(name)
    return "/".join(kept).rstrip("/")


def _segment_key(segment: str, reserved_as_written: bool) -> str:
    """One segment of a path as keys hold it (``_path_key``)."""
    pieces = _ENCODED_RESERVED.split(segment) if reserved_as_written else [segment]
    return "".join(  # the split's odd pieces are the reserved characters encoded, kept so
        piece.upper() if index % 2 else quote(unquote(piece, errors=_BYTES_KEPT), _SEGMENT_SAFE, errors=_BYTES_KEPT)
        for index, piece in enumerate(pieces)
    )  # fmt: skip
