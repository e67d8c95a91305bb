"""A shop's own ids in paths (``{customer_id:external_id}``): any text but none, "/" included, since shops number
customers "2024/0001". Such an id is sent as is (``/customers/2024/0001``) or with its slashes encoded
(``/customers/2024%2F0001``); only the encoded form tells an id that ends in a sub-route's name apart from that
sub-route: ``/customers/a%2Fsends`` is the customer "a/sends", ``/customers/a/sends`` the sends of customer "a".

The web server decodes the path before routing, so `EncodedSlashes` keeps an encoded slash under /customers/ as a
NUL (which no imported id holds: an import refuses it) and `ExternalIdConvertor` turns it back into "/". A NUL the
client sent there or under /products/ (``%00``) is refused at once, as it is anywhere else (``TextHoldsNul``): it
would read as "/"."""

from __future__ import annotations

import re
from urllib.parse import unquote

from starlette.convertors import PathConvertor, register_url_convertor
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.errors import TextHoldsNul, error_body

_ENCODED_SLASH = re.compile(rb"%2f", re.IGNORECASE)
_CLIENT_NUL = re.compile(rb"%00")
_KEPT = "\x00"  # an encoded slash, while the path is routed
_KEPT_ENCODED = b"%00"
_UNDER = (b"/customers/",)  # the routes whose ids may end in a sub-route's name
# The routes of a shop's own ids (``external_id``), where the convertor reads a NUL as "/": /products/A%00 was "A/";
# each with the path parameter its routes name the id, which a refusal names as a route's own validation would.
_NUL_REFUSED_UNDER = {b"/customers/": "path.customer_id", b"/products/": "path.sku"}


class ExternalIdConvertor(PathConvertor):
    """``{name:external_id}``: any text, "/" included. Unlike ``:path`` it takes no empty id, so /customers/ still
    leads to /customers. A route under it (/customers/{id}/sends) must come before the one of the id alone, which
    would take it."""

    regex = ".+"

    def convert(self, value: str) -> str:
        return value.replace(_KEPT, "/")


register_url_convertor("external_id", ExternalIdConvertor())


class EncodedSlashes:
    """ASGI middleware: under /customers/, a slash the client sent encoded (``%2F``) stays part of the id it is in
    instead of separating path segments."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            root = scope.get("root_path", "")  # the web server's raw path starts with it (uvicorn --root-path)
            raw = (scope.get("raw_path") or b"").removeprefix(root.encode("ascii"))
            under = next((field for prefix, field in _NUL_REFUSED_UNDER.items() if raw.startswith(prefix)), None)
            if under is not None and _CLIENT_NUL.search(raw):
                await JSONResponse(error_body(TextHoldsNul(under)), status_code=TextHoldsNul.status_code)(
                    scope, receive, send
                )
                return
            if raw.startswith(_UNDER) and _ENCODED_SLASH.search(raw):
                kept = _ENCODED_SLASH.sub(_KEPT_ENCODED, raw).decode("ascii", errors="replace")
                scope = dict(scope, path=root + unquote(kept))
        await self.app(scope, receive, send)
