"""The largest request body the service reads: a file for POST /imports up to ``TAILOR_API_MAX_UPLOAD_MB``, any
other request up to 16 MiB (a batch of 10,000 events is about 3 MiB). A bigger body is refused with 413 before
it fills the disk or the memory: at once when its Content-Length says so, else as soon as the bytes read pass
the limit. An upload takes its larger limit only from a caller with a valid API key (or review session): the
body is read, and a file spooled to disk, before the route checks the key, and anyone could otherwise have the
server write gigabytes for a request it then answers 401."""

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.paths import route_path

MIB = 1024 * 1024
MAX_REQUEST_BYTES = 16 * MIB
UPLOAD_PREFIX = "/imports/"


def too_large(limit: int, uploads: bool, keyless_upload: bool = False) -> str:
    """What a refused body is told: the limit, and for an upload the setting that raises it; for an upload without a
    valid key, that the key is what is missing."""
    if uploads:
        return (
            f"The file is larger than the {limit // MIB} MiB an import takes; split it into several files (each "
            "import adds to what is stored), or raise TAILOR_API_MAX_UPLOAD_MB."
        )
    if keyless_upload:
        return (
            f"The request body is larger than the {limit // MIB} MiB a request without a valid API key may send: "
            "send the key as the X-API-Key header or as 'Authorization: Bearer KEY' (create one: `tailor keys "
            "create`)."
        )
    return f"The request body is larger than the {limit // MIB} MiB this endpoint takes."


def content_too_large(message: str) -> JSONResponse:
    """The API's 413 answer, saying ``message`` (``too_large``'s): the connection is closed, the rest of the body
    unread."""
    body = {"error": "ContentTooLarge", "message": message, "problems": []}
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


async def whole_body(receive: Receive) -> bytes:
    """The request's body, read whole by a middleware that must see it before the app does (the idempotency keys, a
    field given twice): the size limit bounds it, raising its 413 HTTPException once a body sent in chunks passes.
    The pieces are joined once at the end: each added to a copy of those before it cost time as the square of their
    number, which a client sending slowly chooses (8 MiB in 1 KiB pieces held the event loop a minute)."""
    pieces, more = [], True
    while more:
        message = await receive()
        pieces.append(message.get("body", b""))
        more = message.get("more_body", False) and message["type"] == "http.request"
    return b"".join(pieces)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the app ``body``, read whole before (``whole_body``), then the client's own stream,
    which says when the client goes away while the app waits."""
    sent_body = False

    async def replay() -> Message:
        nonlocal sent_body
        if sent_body:
            return await receive()
        sent_body = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class RequestSizeLimit:
    """ASGI middleware that refuses (413) a request body over its path's limit."""

    def __init__(self, app: ASGIApp, max_upload_bytes: int, max_request_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_upload_bytes = max_upload_bytes
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        upload_path = route_path(scope).startswith(UPLOAD_PREFIX)
        uploads = upload_path and await run_in_threadpool(_signed_in, scope, headers)
        keyless_upload = upload_path and not uploads
        limit = self.max_upload_bytes if uploads else self.max_request_bytes
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await content_too_large(too_large(limit, uploads, keyless_upload))(scope, receive, send)
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > limit:
                    # Raised inside the request's reading, where the app turns it into its 413 answer.
                    raise HTTPException(413, detail=too_large(limit, uploads, keyless_upload))
            return message

        await self.app(scope, counted, send)


def _signed_in(scope: Scope, headers: Headers) -> bool:
    """Whether the request carries a key or review session the API takes (service.idempotency.request_sender); not
    while the database that tells cannot be read (the route would answer its 503 once the body was read)."""
    from service.idempotency import request_sender  # it imports this module's limit

    try:
        return request_sender(scope["app"].state.tailor.engine, headers) is not None
    except OperationalError:
        return False
