"""The copywriters' review page and the recipients' unsubscribe page: server-rendered jinja2 templates and
their stylesheet, and the page that shows an error to a person in the browser (the API answers the same errors
in JSON)."""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from generation.brands import UNSUBSCRIBE_PLACEHOLDER

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/review"

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters["unquote"] = unquote
# What the preview shows where each recipient's own unsubscribe link goes when the email is sent.
UNSUBSCRIBE_IN_PREVIEW = '<u title="each recipient gets their own link when the email is sent">unsubscribe link</u>'


def as_previewed(html: str) -> str:
    """A variant's email as the review page previews it: the footer's unsubscribe slot shown as a link, not as
    the template placeholder the stored email keeps until sending."""
    return html.replace(UNSUBSCRIBE_PLACEHOLDER, UNSUBSCRIBE_IN_PREVIEW)


templates.env.filters["as_previewed"] = as_previewed

TITLES = {404: "Not found", 409: "Not done", 422: "Not accepted", 503: "Busy"}


def is_review_page(request: Request) -> bool:
    """Whether the request is for the review page (HTML for a person), not the API."""
    path = request.url.path
    return path == PREFIX or path.startswith(f"{PREFIX}/")


def error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    """An error as a page: what went wrong, a link back to the review page the person came from, and one to
    the campaigns."""
    referer = urlsplit(request.headers.get("referer", ""))
    back = referer.path if referer.netloc == request.url.netloc and referer.path.startswith(PREFIX) else None
    context = {
        "title": TITLES.get(status_code, "Something went wrong"), "message": message,
        "back": back if back != request.url.path else None,
    }  # fmt: skip
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code)
