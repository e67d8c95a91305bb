"""Idempotency keys: a client that sent a POST and got no answer (a timeout, a dropped connection) cannot know whether
it arrived. Sent again with the same `Idempotency-Key` header, it gets the first answer again instead of a second
campaign, send job or training.

For a POST to the API (not the review page, whose forms carry revisions, nor a file upload to /imports, whose body
can be gigabytes) with the header and a body of a stated size: the first request with a key records it, with a hash
of the request (method, path, query, body: a JSON body as read, whatever its keys' order and spacing) and of who
sent it (the API key, or the review session of a page's script), and keeps its answer if it succeeded (2xx). A
request whose key or session is not valid (none, unknown, revoked, ended) is left to the API's 401: nothing is
recorded or answered again for it. The same key and request again get that answer, marked `Idempotent-Replayed:
true`; the same key with another request is a 422; the same key while the first is still being answered is a 409. An
answer that was not a success is not kept, so the request can be tried again with its key. Keys are kept `KEPT` (24
hours).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.auth import verify_key, verify_session
from service.clock import utcnow
from service.db.models import IdempotencyKey
from service.db.session import session_scope, wait_for_locks_bounded
from service.deps import REVIEW_COOKIE
from service.errors import Unauthorized
from service.paths import route_path
from service.request_size import MAX_REQUEST_BYTES, content_too_large, replaying, whole_body

HEADER = "idempotency-key"
KEY_MAX = 200  # characters of a key: a UUID is 36
KEPT = timedelta(hours=24)
_NOT_KEYED = ("/review", "/imports/", "/unsubscribe/")


def honours(method: str, path: str) -> bool:
    """Whether a request of ``method`` to ``path`` (the route's, without a proxy's prefix) may carry a key: the
    middleware's rule, and the OpenAPI document's (``service.routes.responses.document``)."""
    return method == "POST" and not path.startswith(_NOT_KEYED)


# What the OpenAPI document says of the header, on each operation that honours it.
PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": KEY_MAX},
    "description": "Any text (a UUID, say), new for each new request and the same for each retry of it: a retry "
    "gets the first answer again, marked `Idempotent-Replayed: true`, instead of doing the work twice. The same key "
    "with another request is a 422, and while the first is still being answered a 409 (`Retry-After: 1`); an answer "
    "that was not a success is not kept, so the request may be tried again with its key. Keys are each API key's "
    "own and kept 24 hours.",
}
STILL_ANSWERED = (
    "With an `Idempotency-Key`: the first request with that key is still being answered; send it again after "
    "`Retry-After` seconds (1)."
)
REPLAYED = {
    "description": "`true` when this is the stored answer to an earlier request with the same `Idempotency-Key`",
    "schema": {"type": "string", "enum": ["true"]},
}


def _refused(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    problems = [{"field": "Idempotency-Key", "message": message}] if status == 422 else []
    return JSONResponse({"error": error, "message": message, "problems": problems}, status, headers=headers)


class IdempotencyKeys:
    """ASGI middleware giving a POST sent again with the same `Idempotency-Key` the first answer (module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not honours(scope["method"], path := route_path(scope)):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "0")
        if (
            HEADER not in headers
            or not declared.isdigit()
            or int(declared) > MAX_REQUEST_BYTES  # left to the size limit's 413
        ):
            await self.app(scope, receive, send)
            return
        key = headers[HEADER].strip()
        if not 0 < len(key) <= KEY_MAX:
            message = f"give a key of 1 to {KEY_MAX} characters (a UUID, say), the same for each retry of a request"
            await _refused(422, "InvalidRequest", message)(scope, receive, send)
            return
        engine = scope["app"].state.tailor.engine
        # the answer given is kept as long as a recording waits (deps.get_recording_session): a key let go of
        # unanswered would tell its retries "still being answered" until it is forgotten
        settle_wait = round(scope["app"].state.tailor.recording_wait_seconds * 1000)
        try:
            sender = await run_in_threadpool(request_sender, engine, headers)
            if sender is None:  # the API answers 401; a replay would hand a stored answer to anyone
                await self.app(scope, receive, send)
                return
            try:
                body = await whole_body(receive)
            except HTTPException as too_large:  # a body sent in chunks, past the size limit: its 413
                await content_too_large(str(too_large.detail))(scope, receive, send)
                return
            key_hash = hashlib.sha256(f"{sender}\0{key}".encode()).hexdigest()
            query = scope.get("query_string", b"")
            request = hashlib.sha256(b"\0".join([path.encode(), query, _as_read(body)])).hexdigest()
            stored = await run_in_threadpool(_claim, engine, key_hash, request)
        except OperationalError:
            message = "The database is busy; nothing was done. Try again in a moment."
            await _refused(503, "DatabaseBusy", message, {"Retry-After": "2"})(scope, receive, send)
            return
        if stored is not None:
            await _answer_again(stored, request)(scope, receive, send)
            return

        answer: dict = {"status": 500, "content_type": None, "body": b""}
        settled = False

        async def keep(message: Message) -> None:
            nonlocal settled
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["content_type"] = Headers(raw=message.get("headers", [])).get("content-type")
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
                # Kept before its last part goes: a client that sent the request again as soon as it had the answer
                # was told the first was still being answered (409).
                if not message.get("more_body", False):
                    with contextlib.suppress(OperationalError):  # tried again below, once the answer is sent
                        await run_in_threadpool(_settle, engine, key_hash, answer, settle_wait)
                        settled = True
            await send(message)

        try:
            await self.app(scope, replaying(body, receive), keep)
        finally:
            if not settled:
                await run_in_threadpool(_settle, engine, key_hash, answer, settle_wait)


def _as_read(body: bytes) -> bytes:
    """A JSON body as the API reads it, whatever its keys' order and spacing: a client that retries a request
    builds its body again, and one that orders a map's keys anew each time was told its retry was another request.
    Any other body as it came."""
    try:
        read = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8: the bytes are the request
        return body
    return json.dumps(read, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_sender(engine, headers: Headers) -> str | None:
    """Who sends the request, as the API will take it: its API key (X-API-Key, or a Bearer token), else the review
    session its cookie opens (each reviewer's login its own); None when that is not valid."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    key = headers.get("x-api-key") or (credentials.strip() if scheme.lower() == "bearer" else None)
    token = cookie_parser(headers.get("cookie", "")).get(REVIEW_COOKIE)
    with session_scope(engine) as session:
        wait_for_locks_bounded(session)  # as every request's session: busy past it, answered 503
        try:
            if key:
                return f"key {verify_key(session, key).id}"
            if token and not headers.get("authorization"):
                return f"session {verify_session(session, token).id}"
        except Unauthorized:
            return None
    return None


def forget_old_answers(engine) -> None:
    """Delete the keys kept longer than ``KEPT``, with their answers, which may hold a customer (an approved draft):
    before each keyed request, and by the server's sweep, so that a client that stops sending the header does not
    leave them for ever. Looked for first with a read, which waits for no writer: most sweeps find none, and a
    delete would wait for a long import's write to take SQLite's write lock."""
    old = IdempotencyKey.created_at < utcnow() - KEPT
    with engine.connect() as connection:
        if connection.scalar(select(IdempotencyKey.key_hash).where(old).limit(1)) is None:
            return
    with session_scope(engine) as session:
        wait_for_locks_bounded(session)
        session.execute(delete(IdempotencyKey).where(old))


def _claim(engine, key_hash: str, request: str) -> IdempotencyKey | None:
    """None when this request is the first with its key (recorded now, as being answered), else the row that was
    there: answered, being answered, or of another request."""
    forget_old_answers(engine)
    try:
        with session_scope(engine) as session:
            wait_for_locks_bounded(session)  # the same key claimed by a transaction not committed yet is waited for
            session.add(IdempotencyKey(key_hash=key_hash, request_hash=request))
        return None
    except IntegrityError:  # there already, or sent a moment ago by the same client
        with session_scope(engine) as session:
            wait_for_locks_bounded(session)
            row = session.scalar(select(IdempotencyKey).where(IdempotencyKey.key_hash == key_hash))
            if row is None:  # it failed and was let go meanwhile: this one is taken as the first
                session.add(IdempotencyKey(key_hash=key_hash, request_hash=request))
                return None
            session.expunge(row)
            return row


def _answer_again(stored: IdempotencyKey, request: str) -> Response:
    if stored.request_hash != request:
        message = (
            "this key was used with another request (another path, query or body): a retry sends the same "
            "request with the same key, and a new request needs a new key"
        )
        return _refused(422, "InvalidRequest", message)
    if stored.status_code is None:
        message = "The first request with this Idempotency-Key is still being answered; ask again in a moment."
        return _refused(409, "Conflict", message, {"Retry-After": "1"})
    return Response(
        stored.body or "", stored.status_code, media_type=stored.content_type, headers={"Idempotent-Replayed": "true"}
    )


def _settle(engine, key_hash: str, answer: dict, wait_ms: int | None = None) -> None:
    """Keep a success's answer for the retries to come; let the key go after anything else, to be tried again. On
    PostgreSQL, another's lock on the key is waited for ``wait_ms`` at most (``wait_for_locks_bounded``)."""
    with session_scope(engine) as session:
        wait_for_locks_bounded(session, wait_ms)
        row = session.get(IdempotencyKey, key_hash)
        if row is None:
            return
        if 200 <= answer["status"] < 300:
            row.status_code, row.content_type = answer["status"], answer["content_type"]
            row.body = answer["body"].decode("utf-8", errors="replace")
        else:
            session.delete(row)
