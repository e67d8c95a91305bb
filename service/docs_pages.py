"""The API's documentation pages (/docs, Swagger UI; /redoc) served with their scripts from this process.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, and a shop's server that reaches no CDN (as this
project's machines reach only package registries) showed a blank page. The files come from the
``fastapi-offline`` package (Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI writes) and are
mounted at ``/static/docs``; the pages are FastAPI's own, pointed at them.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_STATIC = "/static/docs"


def _assets() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("the fastapi-offline package (the docs pages' scripts) is not installed")
    return Path(spec.origin).parent / "static"


def add_docs_pages(app: FastAPI) -> None:
    """/docs, its OAuth2 redirect and /redoc on ``app``, which must be made with docs_url and redoc_url None."""
    app.mount(DOCS_STATIC, StaticFiles(directory=_assets()), name="docs-assets")
    redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        assets = f"{root}{DOCS_STATIC}"
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI", oauth2_redirect_url=redirect,
            swagger_js_url=f"{assets}/swagger-ui-bundle.js", swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
        )  # fmt: skip

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        assets = f"{root}{DOCS_STATIC}"
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{assets}/redoc.standalone.js", redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )  # fmt: skip
