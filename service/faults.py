"""Each fault of a request logged once, as one JSON line with its request id, method, path and traceback.

Starlette's outermost middleware answers a fault with the app's 500 (``service.app``'s handler) and then raises it
again "to allow servers to log the error": uvicorn wrote its traceback a second time, as "Exception in ASGI
application\\n" under `uvicorn.error`, beside the app's own line. Here the fault ends: logged once, as
`request failed` under `tailor.api`, and answered 500 in the API's error body where nothing was answered yet (a fault
of a middleware outside Starlette's). A fault after the answer had begun (a streamed one) cannot be answered any
more: uvicorn closes the connection and says so in a line of its own, without the traceback."""

from __future__ import annotations

import logging

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import InternalError, error_body
from service.logs import REQUEST_ID, redacted
from service.paths import route_path

log = logging.getLogger("tailor.api")


def fault_answer(error: Exception) -> InternalError:
    """What the answer to ``error`` says: that the server failed, on what, and the request id its log line has."""
    request_id = REQUEST_ID.get()
    under = f", under request id {request_id}" if request_id else ""
    return InternalError(f"The server failed on this request ({type(error).__name__}); its log says why{under}.")


class LoggedFaults:
    """ASGI middleware outside Starlette's (inside ``service.request_ids.RequestIds``, whose id each line carries):
    logs a request's fault once and keeps it from the web server, which would log it again."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        answered = False

        async def answer(message: Message) -> None:
            nonlocal answered
            answered = answered or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, answer)
        except Exception as error:
            log.error(
                "request failed", exc_info=error,
                extra={"method": scope["method"], "path": redacted(route_path(scope)), "error": type(error).__name__},
            )  # fmt: skip
            if not answered:
                told = fault_answer(error)
                await JSONResponse(error_body(told), status_code=told.status_code)(scope, receive, send)
