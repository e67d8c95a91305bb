"""Each HTTP request's id, so that every log line of one request can be found together: a refusal's or a fault's
line beside the web server's access line. A client's ``X-Request-ID`` is kept when it is a short token (a marketing
tool's own id for the call), else one is made here; the answer carries it back in ``X-Request-ID``, and
``service.logs`` writes it on each line logged while the request is served."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import REQUEST_ID

HEADER = "X-Request-ID"
# A client's id is logged and sent back as given: letters, digits and a few marks only, no longer than this.
_GIVEN = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RequestIds:
    """ASGI middleware around the whole app, the fault handler's answer included (``service.app`` puts it outside
    Starlette's own outermost middleware): the request's id in ``service.logs.REQUEST_ID`` while it is served, and in
    the answer.

    While the answer's last part is sent the id is unset: the web server may read the connection's next request
    within that send (uvicorn's h11 does), and its lines about that request (a malformed one, say) carried this id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(HEADER, "")
        request_id = given if _GIVEN.fullmatch(given) else uuid.uuid4().hex
        REQUEST_ID.set(request_id)

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = request_id
            if message["type"] != "http.response.body" or message.get("more_body", False):
                await send(message)
                return
            REQUEST_ID.set(None)
            try:
                await send(message)
            finally:
                REQUEST_ID.set(request_id)  # for what runs after the answer (background tasks)

        await self.app(scope, receive, answer)  # not unset after: service.faults logs a fault with it
