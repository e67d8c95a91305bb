"""The path a request names inside the app, as the router matches it: without the root path a proxy serves the app
under (``uvicorn --root-path /mail`` writes "/mail" before every path it hands on). What the middlewares and
handlers that look at a path compare (is it the review page, an upload, a customer's), so that they read
``/mail/review/drafts/1`` as the review page it is."""

from __future__ import annotations

from starlette.types import Scope


def route_path(scope: Scope) -> str:
    path, root = scope.get("path", ""), scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
