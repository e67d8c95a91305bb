"""The tracking links of sent email (service.tracking), which need no API key, as the unsubscribe links need none:
the image that tells of an open, and the links that record a click and send the browser on. Each answers at once
and leaves its record to the app's EngagementRecorder, so that a database busy with an import never keeps a
recipient, or the server's request threads, waiting."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from generation.templates import strings
from service import tracking
from service.deps import StateDep
from service.routes.responses import REFUSES_NO_INPUT
from service.routes.unsubscribe import not_a_link_page
from service.signed_links import OPEN_EVENT_ID, TrackingLinks, click_event_id

NOT_A_LINK = {"description": "No email Tailor sent carries this link", "content": {"text/html": {}}}
router = APIRouter(prefix="/track", tags=["tracking"], responses={404: NOT_A_LINK})
# Each load of the image asks Tailor again: a cached one would tell of no open, and a shared cache would give it to
# nobody's mail client but the first.
NOT_STORED = {"Cache-Control": "no-store, private"}


@router.head("/open/{token}", include_in_schema=False)
@router.get(
    "/open/{token}", response_class=Response, openapi_extra=REFUSES_NO_INPUT,
    responses={200: {"description": "the image, one pixel", "content": {"image/gif": {}}}},
)  # fmt: skip
def open_image(token: str, request: Request, state: StateDep) -> Response:
    """The image one pixel large at the end of a sent email: loading it records an `open` event on its send (once
    per send)."""
    send_id = TrackingLinks.configured().opened(token)
    if send_id is None:
        return _not_a_link(request)
    if request.method == "GET":
        state.engagement.add(send_id, "open", OPEN_EVENT_ID)
    return Response(tracking.PIXEL, media_type="image/gif", headers=NOT_STORED)


@router.head("/click/{token}", include_in_schema=False)
@router.get(
    "/click/{token}", response_class=RedirectResponse, status_code=302, openapi_extra=REFUSES_NO_INPUT,
    responses={302: {"description": "on to the address the email linked to"}},
)  # fmt: skip
def click(
    token: str, request: Request, state: StateDep,
    # Optional: a link cut short before its address gets the page saying so, not an API's 422 in JSON.
    url: str = Query("", description="the address the email linked to, as its link's signature covers it"),
) -> Response:  # fmt: skip
    """A link of a sent email: records a `click` event on its send (once per link) and sends the browser on to
    the address the email linked to. A link whose address was changed on the way is not followed."""
    send_id = TrackingLinks.configured().clicked(token, url)
    if send_id is None:
        return _not_a_link(request)
    if request.method == "GET":
        state.engagement.add(send_id, "click", click_event_id(url), url)
    return RedirectResponse(url, status_code=302, headers=NOT_STORED)


def _not_a_link(request: Request) -> HTMLResponse:
    """A page, in the browser's language, saying the link is not one Tailor made; its style sheet is the unsubscribe
    page's, two levels up from /track/click/{token}."""
    return not_a_link_page(
        request, "tracked_link", lambda locale: strings(locale)["tracked_link"]["not_valid"], root="../.."
    )
