"""The path a request names inside the app, as the router matches it: without the root path a proxy serves the app
under (``uvicorn --root-path /mail`` writes "/mail" before every path it hands on). What the middlewares and
handlers that look at a path compare (is it the review page, an upload, a customer's), so that they read
``/mail/review/drafts/1`` as the review page it is."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


def route_path(scope: Scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class RootPath:
    """ASGI middleware for TAILOR_API_ROOT_PATH: each request is read as ``uvicorn --root-path`` has it read, its
    root path set and its path under it, whether the proxy in front stripped the prefix or passed it on."""

    def __init__(self, app: ASGIApp, root: str) -> None:
        self.app, self.root = app, root

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.root and scope["type"] in ("http", "websocket"):
            path = scope.get("path", "")
            under = path == self.root or path.startswith(f"{self.root}/")
            scope = {**scope, "root_path": self.root, "path": path if under else self.root + path}
        await self.app(scope, receive, send)
