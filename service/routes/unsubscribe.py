"""The unsubscribe link in sent email, the one page besides /health that needs no API key: GET shows a
confirmation button (mail scanners that open links must not unsubscribe anyone), POST unsubscribes, and is
also what mail clients send for one-click unsubscribe (List-Unsubscribe-Post, RFC 8058). Beside them, the probe a
sender asks before it mails links that lead here (service.pipeline.unsubscribe_links), which unsubscribes nobody."""

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates

from generation.templates import strings
from service import unsubscribe as unsubscribe_ops
from service.deps import RecordingSessionDep, SessionDep, StateDep
from service.review import TEMPLATES_DIR
from service.routes.responses import REFUSES_NO_INPUT, errors

NOT_A_LINK = {"description": "No email Tailor sent carries this link: a page says so", "content": {"text/html": {}}}
# No key, so no 401; a database that cannot be used is the API's 503, and a link followed after its signing key
# was lost makes a new one (507 when the disk will not take it).
router = APIRouter(prefix="/unsubscribe", tags=["unsubscribe"], responses={404: NOT_A_LINK, **errors(503, 507)})
templates = Jinja2Templates(directory=TEMPLATES_DIR)


# HEAD too, as the page's headers alone: a link checker (an email service's, a mail scanner's) that asks with it
# was answered 405, and read the link as broken. Left out of the OpenAPI document, whose GET says all there is.
@router.head("/{token}", response_class=HTMLResponse, include_in_schema=False)
@router.get("/{token}", response_class=HTMLResponse, openapi_extra=REFUSES_NO_INPUT)
def confirm_page(token: str, request: Request, session: SessionDep) -> HTMLResponse:
    """A page with the button that unsubscribes the recipient of the email the link came in."""
    return _page(request, lambda: unsubscribe_ops.subscription(session, token), token)


# Tailor's own check, before a send with no server of its own mails links that lead here, not an API for clients.
@router.get("/probe/{token}", include_in_schema=False)
def probe(token: str, request: Request, session: SessionDep) -> Response:
    """`{"probe": answer}`: what only a Tailor with the sender's signing key and database answers (null: the
    campaign the probe names is not in this database); a probe not signed with this Tailor's key is answered as a
    link it did not make. Never stored by a cache: each probe's nonce wants its own answer."""
    try:
        answer = unsubscribe_ops.answer_probe(session, token)
    except unsubscribe_ops.LinkNotFound as error:
        return not_a_link_page(request, "unsubscribe", error.message, token=token)
    return JSONResponse({"probe": answer}, headers={"Cache-Control": "no-store"})


@router.post("/{token}", response_class=HTMLResponse, openapi_extra=REFUSES_NO_INPUT)
def unsubscribe(token: str, request: Request, session: RecordingSessionDep, state: StateDep) -> HTMLResponse:
    """Unsubscribe the recipient (recorded as an `unsubscribe` event on the send); the form's body, such as
    `List-Unsubscribe=One-Click`, is not needed. A database too busy to take it now has it kept, and written within
    seconds of being free: the page then says it is recorded and takes effect before any further email is sent, and
    a click again while it is kept keeps nothing more."""

    def unsubscribed() -> unsubscribe_ops.Subscription:
        subscription = unsubscribe_ops.unsubscribe(session, token)
        if subscription.kept_for_later:
            state.kept_unsubscribes.wake()
        return subscription

    return _page(request, unsubscribed, token)


def _page(request: Request, look_up, token: str) -> HTMLResponse:
    try:
        subscription = look_up()
    except unsubscribe_ops.LinkNotFound as error:
        return not_a_link_page(request, "unsubscribe", error.message, token=token)
    context = {"subscription": subscription, "error": None, "token": token}
    return templates.TemplateResponse(request, "unsubscribe.html", context)


def not_a_link_page(request: Request, wording: str, message: Callable[[str], str], **context: str) -> HTMLResponse:
    """The 404 page of a link in sent email that names no email Tailor sent, in the browser's language: its title
    from the ``wording`` of prompts/email/strings.yaml, its ``message`` for that language (the unsubscribe links'
    and the tracking links' alike)."""
    locale = unsubscribe_ops.browser_locale(request.headers.get("accept-language"))
    title = strings(locale)[wording]["title"]
    shown = {"subscription": None, "error": message(locale), "title": title, "lang": locale, **context}
    page = templates.TemplateResponse(request, "unsubscribe.html", shown, status_code=404)
    page.headers["Vary"] = "Accept-Language"  # a cache must not give one reader's language to the next
    return page
