"""The API's documentation pages (/docs, Swagger UI; /redoc) served with their scripts from this process.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, and a shop's server that reaches no CDN (as this
project's machines reach only package registries) showed a blank page. The files come from the
``fastapi-offline`` package (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes) and are
mounted at ``/static/docs``; the pages are FastAPI's own, pointed at them. Nor do the pages reach out on their
own: their Content-Security-Policy lets the browser load nothing from elsewhere (ReDoc's "API docs by Redocly"
image from cdn.redoc.ly is left out, as ReDoc does when it fails), and Swagger UI's validator badge, which sends
the address of the API's schema to validator.swagger.io, is turned off.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_STATIC = "/static/docs"
# Both pages start their script inline and style themselves inline; ReDoc searches in a worker made from a blob.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


@lru_cache(maxsize=1)
def _assets() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("the fastapi-offline package (the docs pages' scripts) is not installed")
    return Path(spec.origin).parent / "static"


def add_docs_pages(app: FastAPI) -> None:
    """/docs, its OAuth2 redirect and /redoc on ``app``, which must be made with docs_url and redoc_url None."""
    app.mount(DOCS_STATIC, StaticFiles(directory=_assets()), name="docs-assets")
    app.include_router(_docs_router(app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"))


@lru_cache
def _docs_router(redirect: str) -> APIRouter:
    """The pages' routes, made once a process and included in each app (its tests make one a test): each app gives
    them its own dependencies and responses as it includes them, and the pages read its title and OpenAPI address
    from the request's app."""
    router = APIRouter()

    @router.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        app, root = request.app, request.scope.get("root_path", "")
        assets = f"{root}{DOCS_STATIC}"
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI", oauth2_redirect_url=redirect,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png", swagger_ui_parameters={"validatorUrl": None},
        )  # fmt: skip
        return _kept_in(page)

    @router.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        app, root = request.app, request.scope.get("root_path", "")
        assets = f"{root}{DOCS_STATIC}"
        page = get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js", redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )  # fmt: skip
        return _kept_in(page)

    return router


def _kept_in(page: HTMLResponse) -> HTMLResponse:
    """``page`` with the policy that keeps the browser from loading anything from elsewhere."""
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page
