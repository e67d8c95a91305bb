"""What the apps of one process share: their routes, worked out once, and their OpenAPI document, made once.

FastAPI works out each included route's dependencies and pydantic fields again for each app, on the app's first
request (0.1-0.4 s an app), and its OpenAPI document again for each app too; the apps ``service.app`` makes include
the same routers in the same way, and its tests make one a test. Here an app's included routers are replaced by
those of an earlier app of the process that included the same router with an equal include context (prefix,
dependencies, responses...), and its document is a copy of the one made for an earlier app of the same routes and
title. Nothing of an app's own is shared: its engine, jobs and settings are read from the request's app, and a
shared route's dependency overrides are those of the app serving the request (``SharingApp``), not the first
app's.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from contextvars import ContextVar
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

try:  # FastAPI 0.165's included router, which works out its routes for each app that includes it
    from fastapi.routing import _IncludedRouter
except ImportError:  # another FastAPI: its apps are left as they are
    _IncludedRouter = None

_serving_app: ContextVar[FastAPI | None] = ContextVar("tailor_serving_app", default=None)


class _OverridesOfTheServingApp:
    """Stands for the app in a shared route's include context, where FastAPI reads only ``dependency_overrides``:
    those of the app serving the request at hand."""

    @property
    def dependency_overrides(self) -> dict[Any, Any]:
        app = _serving_app.get()
        return app.dependency_overrides if app is not None else {}


SERVING_APP = _OverridesOfTheServingApp()
# the _IncludedRouter of each distinct include context and routes, with the routes, kept for the process
_shared_routers: list[tuple[Any, tuple]] = []
_documents: dict[tuple, dict[str, Any]] = {}  # the document of each distinct set of routes and title
_lock = threading.Lock()


class SharingApp(FastAPI):
    """An app whose included routers ``share_included_routers`` may share with the process's other apps: while it
    serves a request, the shared routes apply its dependency overrides."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = _serving_app.set(self)
        try:
            await super().__call__(scope, receive, send)
        finally:
            _serving_app.reset(token)


def share_included_routers(app: SharingApp) -> None:
    """Replace each router ``app`` includes by the one an earlier app of this process included with an equal include
    context and the same routes, whose routes are already worked out (or keep it for the later apps)."""
    if _IncludedRouter is None or not isinstance(app, SharingApp):
        return
    routes = app.router.routes
    for index, route in enumerate(routes):
        if not isinstance(route, _IncludedRouter) or route.include_context.dependency_overrides_provider is not app:
            continue
        context = dataclasses.replace(route.include_context, dependency_overrides_provider=SERVING_APP)
        held = _routes_held(route.original_router)
        with _lock:
            shared = next((kept for kept, kept_held in _shared_routers if kept.include_context == context
                           and _same_routes(kept_held, held)), None)  # fmt: skip
            if shared is None:
                shared = _IncludedRouter(original_router=route.original_router, include_context=context)
                _shared_routers.append((shared, held))
        routes[index] = shared


def _routes_held(router: Any) -> tuple:
    """The routes ``router`` holds now, those of the routers it includes too: a router whose list of routes was
    replaced (a test's, without one of them) is not served by the routes worked out from the list before."""
    held = []
    for route in [*router.routes, *getattr(router, "_low_priority_routes", [])]:
        held.append(route)
        if isinstance(route, _IncludedRouter):
            held.extend(_routes_held(route.original_router))
    return tuple(held)


def _same_routes(kept: tuple, held: tuple) -> bool:
    return len(kept) == len(held) and all(one is other for one, other in zip(kept, held, strict=True))


def _document_key(app: FastAPI) -> tuple | None:
    """What ``app``'s OpenAPI document is made of, where all of its API routes are shared ones; else None."""
    if _IncludedRouter is None or app.webhooks.routes:
        return None
    shared = {id(router) for router, _ in _shared_routers}
    routers = []
    for route in app.routes:
        if isinstance(route, _IncludedRouter) and id(route) in shared:
            routers.append(id(route))
        elif isinstance(route, APIRoute) or type(route) not in (Route, Mount):
            return None  # a route of its own, or one the document may hold
    said = (
        app.title, app.version, app.openapi_version, app.summary, app.description, app.terms_of_service, app.contact,
        app.license_info, app.openapi_tags, app.servers, getattr(app, "separate_input_output_schemas", None),
        getattr(app, "openapi_external_docs", None),
    )  # fmt: skip
    return repr(said), tuple(routers), app.router._get_routes_version()


def adopt_kept_document(app: FastAPI) -> bool:
    """Give ``app``, where it has no document made for its routes as they are now, a copy of the one made for an
    earlier app of the same routes and title; whether it did. Where FastAPI works otherwise (no ``_IncludedRouter``),
    each app makes its own, as FastAPI does."""
    if _IncludedRouter is None:
        return False
    routes_version = app.router._get_routes_version()
    if app.openapi_schema and app._openapi_routes_version == routes_version:
        return False
    key = _document_key(app)
    if key is None or (kept := _documents.get(key)) is None:
        return False
    app.openapi_schema, app._openapi_routes_version = copy.deepcopy(kept), routes_version
    return True


def keep_document(app: FastAPI, document: dict[str, Any]) -> None:
    """Keep ``document``, just made for ``app``, for the later apps of the same routes and title."""
    if (key := _document_key(app)) is not None:
        with _lock:
            _documents.setdefault(key, copy.deepcopy(document))
