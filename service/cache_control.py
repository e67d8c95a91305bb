"""No cache keeps the service's answers: a customer's record, a draft's copy, an unsubscribe page's address. The API's
clients send their key as ``X-API-Key``, which a shared cache in front (Varnish as it comes, nginx with
``proxy_cache_valid``) does not take for a credential as it takes ``Authorization``: an answer without
``Cache-Control`` could be stored and given, by its address alone, to a caller with no key. The static files (the
review page's stylesheet, the docs pages' scripts) hold nothing of the shop's and stay cacheable."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.paths import route_path

STATIC_PREFIX = "/static/"


class NotStored:
    """ASGI middleware: ``Cache-Control: no-store`` on every answer but the static files', unless it names its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope).startswith(STATIC_PREFIX):
            await self.app(scope, receive, send)
            return

        async def not_stored(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, not_stored)
