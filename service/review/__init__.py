"""The copywriters' review page and the recipients' unsubscribe page: server-rendered jinja2 templates and
their stylesheet, and the page that shows an error to a person in the browser (the API answers the same errors
in JSON)."""

import re
import secrets
import unicodedata
from html import escape
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audience.rfm import segment_label
from generation.brands import UNSUBSCRIBE_PLACEHOLDER
from generation.guardrails import check_label
from generation.render import html_locale
from generation.schemas import LOCALES
from generation.templates import strings
from service.paths import route_path
from service.send_times import on_customer_clock, on_shop_clock

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/review"


def root_of(request: Request) -> str:
    """The path a proxy serves the app under ("/mail" for ``uvicorn --root-path /mail``; "" at the root)."""
    return request.scope.get("root_path", "").rstrip("/")  # "/mail/" too: "/mail//review" is another page


def address(request: Request, path: str) -> str:
    """A review page's address as the browser must ask for it: ``path`` as the app names it ("/review/drafts/7"),
    under the proxy's root path. Links, forms and redirects use it; ``next`` and carried forms keep app paths."""
    return root_of(request) + path


# Every template gets `root`, written before each address that starts at the server's root (links, forms, the
# stylesheet), so that the page works under a proxy's path prefix as at the root.
templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[lambda request: {"root": root_of(request)}])
# What the preview shows where each recipient's own unsubscribe link goes when the email is sent: the link's words
# in the email's language, with a note for the reviewer.
UNSUBSCRIBE_IN_PREVIEW = '<u title="each recipient gets their own link when the email is sent">{words}</u>'


def as_previewed(html: str) -> str:
    """A variant's email as the review page previews it: the footer's unsubscribe slot shown as a link in the
    email's language, not as the template placeholder the stored email keeps until sending; and its links opening
    in a tab of their own (the preview's sandbox lets them out), as the product links beside it do: followed inside
    the preview, a shop's page was refused framing by the page's policy and the preview became an error picture."""
    locale = html_locale(html)
    words = strings(locale if locale in LOCALES else "en")["unsubscribe"]["link"]
    shown = html.replace(UNSUBSCRIBE_PLACEHOLDER, UNSUBSCRIBE_IN_PREVIEW.format(words=escape(words)))
    return shown.replace("<head>", '<head><base target="_blank">', 1)


templates.env.filters["as_previewed"] = as_previewed
templates.env.filters["written_in"] = html_locale  # an email's language, for the lang of its copy shown on a page
# Names kept as keys (checks, segments, campaign types) as a copywriter reads them: "spam words", not spam_triggers.
CAMPAIGN_TYPE_LABELS = {"win_back": "win-back", "cross_sell": "cross-sell", "vip": "VIP"}
templates.env.filters["check_label"] = check_label


def as_price(value: float | None, currency: str, locale: str) -> str:
    """A product's price on a draft's page as its email writes it (22,99 € for de, €22.99 for en); a dash for none."""
    from generation.render import format_price

    return "–" if value is None else format_price(value, currency, locale)


def as_amount_off(value: float, currency: str, locale: str) -> str:
    """An offer's amount off as its email writes it (generation.render.format_amount_off)."""
    from generation.render import format_amount_off

    return format_amount_off(value, currency, locale)


def as_probability(value: float) -> str:
    """A probability as a percentage a reader does not take for certainty: 0.9996 is '>99%', not '100%'."""
    if value > 0.99:
        return ">99%"
    if value < 0.01:
        return "<1%"
    return f"{value * 100:.0f}%"


def language_name(locale: str | None) -> str:
    """A customer's locale as a person reads it, its code kept: "Norwegian Bokmål (nb)", not "nb"; the code alone for
    one Babel (CLDR) does not know, and nothing for none."""
    from babel import Locale, UnknownLocaleError

    code = (locale or "").strip()
    try:
        return f"{Locale.parse(code.replace('-', '_')).get_display_name('en')} ({code})" if code else ""
    except (UnknownLocaleError, ValueError):
        return code


def field_room(most: int, value: str | None) -> int:
    """The maxlength of a field holding ``value`` whose limit is ``most`` characters as the server counts them (one
    each, as Python and pydantic do). A browser counts maxlength in UTF-16 units, two for a character beyond U+FFFF
    (most emoji): at ``most``, a subject of emoji was cut at half its limit, and one stored could not be sent again.
    Without the page's script the field holds ``value`` and as many characters of one unit as the limit leaves; the
    script makes room for any text within the limit and says one over it (draft.html)."""
    text = value or ""
    return most + len(text.encode("utf-16-le")) // 2 - len(text)


# The bidirectional classes of a character that can turn the order of the words around a text: right-to-left letters
# (Hebrew, Arabic), Arabic digits, and the explicit embeddings, overrides and isolates.
TURNING = frozenset({"R", "AL", "AN", "RLE", "RLO", "RLI", "LRE", "LRO", "LRI", "FSI", "PDF", "PDI"})


def isolated(text: str) -> str:
    """``text`` as plain text beside the page's own words (a title, a label made in Python) shows it: in Unicode's
    first-strong isolate (U+2068 … U+2069), as <bdi> isolates a name in HTML. A campaign named in Hebrew took the
    title's colon and the words after it into its own direction. A text with no character that could do so is left
    as it is: isolated, it reads the same, and a tab's title copied would carry two invisible characters."""
    if any(unicodedata.bidirectional(character) in TURNING for character in text):
        return f"\u2068{text}\u2069"
    return text


templates.env.filters["isolated"] = isolated
templates.env.filters["shop_time"] = on_shop_clock  # "scheduled for Fri 01 Jan 09:00 CET"
templates.env.filters["customer_time"] = on_customer_clock  # "sends Fri 09:00 America/New_York"
templates.env.filters["probability"] = as_probability
templates.env.filters["price"] = as_price
templates.env.filters["amount_off"] = as_amount_off
templates.env.filters["segment_label"] = segment_label
templates.env.filters["language_name"] = language_name
templates.env.filters["campaign_type_label"] = lambda name: CAMPAIGN_TYPE_LABELS.get(name, name.replace("_", " "))
templates.env.globals["field_room"] = field_room

TITLES = {403: "Not allowed", 404: "Not found", 409: "Not done", 422: "Not accepted", 503: "Busy"}


def is_review_page(request: Request) -> bool:
    """Whether the request is for the review page (HTML for a person), not the API."""
    path = route_path(request.scope)
    return path == PREFIX or path.startswith(f"{PREFIX}/")


REVIEW_PAGE_HEADERS = {
    "Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}  # fmt: skip


def content_security_policy(nonce: str) -> str:
    """What a review page may load and run: its own scripts only, those whose tag carries this answer's ``nonce``
    (a draft shows copy a model wrote and product text a shop's file gave, and a script slipped into either by a
    mistake in escaping runs nowhere); its stylesheet and the inline styles of an email's preview; images from
    anywhere, as the email shows them; forms posted to itself only; framed by no page."""
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https: http:; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


class ReviewPageHeaders:
    """ASGI middleware for the review pages' answers: ``Cache-Control: no-store``, so that after Sign out the
    browser's Back button cannot show a draft (a customer's email address, their copy) from its cache; and no
    framing by another page (``X-Frame-Options``, CSP ``frame-ancestors``), which could dress a button click on
    the page as something else; no answer read as another type than it says (``nosniff``), and no address of
    the page told to another site (``Referrer-Policy``): a search for a customer puts their email in it, and a
    product's link in a draft leads to the shop's site; no script but the page's own (``content_security_policy``,
    with a nonce drawn for each answer, which the templates read as ``request.state.csp_nonce``). The API's
    answers pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(f"{PREFIX}/")):
            await self.app(scope, receive, send)
            return

        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(REVIEW_PAGE_HEADERS)
                headers["Content-Security-Policy"] = content_security_policy(nonce)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class SameOriginWrites:
    """ASGI middleware against cross-site request forgery: a request that changes something (POST, PUT, PATCH,
    DELETE) on the review page, or with the review page's login cookie anywhere, is refused (403) when the
    browser says it comes from another page's origin (``Origin``, else ``Referer``): the cookie is
    ``SameSite=Strict``, but a page on another port of the same host, or a sibling subdomain, counts as the same
    site. Our own origin is the request's Host, or ``TAILOR_PUBLIC_URL``'s behind a proxy that rewrites Host.
    Requests that name no origin (the API's clients, curl) pass: only browsers send one, and always on such
    requests from another origin."""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self, app: ASGIApp, cookie: str, public_url: str | None = None) -> None:
        self.app = app
        self.cookie = cookie
        self.public = urlsplit(public_url).netloc.lower() if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in self.UNSAFE:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        path = route_path(scope)
        guarded = path == PREFIX or path.startswith(f"{PREFIX}/") or f"{self.cookie}=" in headers.get("cookie", "")
        claimed = headers.get("origin") or headers.get("referer")
        # A proxy in front may rewrite Host and name the original in X-Forwarded-Host; a page of another origin
        # cannot set that header on a form, and a script asking to would need a CORS preflight, which fails.
        ours = {headers.get("host", "").lower(), headers.get("x-forwarded-host", "").lower(), self.public} - {""}
        origin = urlsplit(claimed).netloc.lower() if claimed and claimed != "null" else ""
        if guarded and claimed and origin not in ours:
            message = (
                f"This request came from a page of another origin ({claimed[:100]}), not from this server's own "
                f"address ({', '.join(sorted(a for a in ours if a))}): it is refused. Behind a proxy that rewrites "
                "the Host header, set TAILOR_PUBLIC_URL to the address people open the review page at."
            )
            request = Request(scope, receive)
            refused = (
                error_page(request, 403, message)  # a person's form: a page, as every review error
                if is_review_page(request)
                else JSONResponse({"error": "Forbidden", "message": message, "problems": []}, status_code=403)
            )
            await refused(scope, receive, send)
            return
        await self.app(scope, receive, send)


REVIEWING_AS = "reviewing_as"  # the field of each review form naming the reviewer its page showed (reviewing_as.html)
SESSION_ENDED = "session-ended"  # the login page's `why` when a form was posted without a valid session
# A form's address on the review page, and the page it is on: /review/drafts/7/variants/9/edit is on /review/drafts/7.
FORM_PAGE = re.compile(rf"^({PREFIX}/(?:drafts|campaigns)/\d+)(?:/|$)")


def login_address(request: Request) -> str:
    """The login page, asked to come back once the person is in to the page they wanted (a GET's path and query)
    or, for a form they posted (a session that ended: signed out in another tab, expired, its key revoked), to the
    page the form was on, with a ``why`` that has the login page say that what they sent was not done. The
    address is the browser's (under the root path); ``next`` names the page as the app does."""
    path = route_path(request.scope)
    if request.method != "GET":
        page = FORM_PAGE.match(path)
        back = {"next": page[1]} if page else {}
        return address(request, f"{PREFIX}/login?{urlencode({**back, 'why': SESSION_ENDED})}")
    if path in (PREFIX, f"{PREFIX}/", f"{PREFIX}/login"):
        return address(request, f"{PREFIX}/login")
    wanted = path + (f"?{request.url.query}" if request.url.query else "")
    return address(request, f"{PREFIX}/login?{urlencode({'next': wanted})}")


def after_login(wanted: str | None) -> str:
    """Where a login goes on to: the review page asked for, if it is one of this site's, else the campaigns."""
    if wanted and wanted.startswith(f"{PREFIX}/") and not wanted.startswith("//") and "\\" not in wanted:
        return wanted
    return PREFIX


def error_page(request: Request, status_code: int, message: str, onward: tuple[str, str] | None = None) -> HTMLResponse:
    """An error as a page: what went wrong, a link back to the review page the person came from, and one to
    the campaigns; ``onward`` (the app's path, words), a link to where the person may have meant to go."""
    referer = urlsplit(request.headers.get("referer", ""))
    own = address(request, PREFIX)
    ours = referer.netloc == request.url.netloc and (referer.path == own or referer.path.startswith(f"{own}/"))
    # the browser's address (under the root path already), with its query: a filtered list comes back filtered
    back = referer.path + (f"?{referer.query}" if referer.query else "") if ours else None
    here = address(request, route_path(request.scope)) + (f"?{request.url.query}" if request.url.query else "")
    context = {
        "title": TITLES.get(status_code, "Something went wrong"), "message": message,
        "back": back if back != here else None,
        "onward": (address(request, onward[0]), onward[1]) if onward else None,
    }  # fmt: skip
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code)
