"""The docs pages' routes are made once a process and included in every app (service.docs_pages): each app's pages
still name its own title, OpenAPI document and scripts, under the path prefix it was started with."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient


def test_each_app_serves_the_docs_pages_of_its_own_title_and_root_path(engine, monkeypatch):
    from service.app import create_app
    from service.docs_pages import add_docs_pages

    with TestClient(create_app(engine)) as tailor:
        swagger, redoc = tailor.get("/docs").text, tailor.get("/redoc").text
    assert "<title>Tailor - Swagger UI</title>" in swagger and "url: '/openapi.json'" in swagger
    assert 'src="/static/docs/swagger-ui-bundle.js"' in swagger
    assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in swagger
    assert "<title>Tailor - ReDoc</title>" in redoc and 'spec-url="/openapi.json"' in redoc

    monkeypatch.setenv("TAILOR_API_ROOT_PATH", "/mail")
    with TestClient(create_app(engine)) as under_mail:
        swagger, redoc = under_mail.get("/mail/docs").text, under_mail.get("/redoc").text
        assert under_mail.get("/mail/docs/oauth2-redirect").status_code == 200
    assert "url: '/mail/openapi.json'" in swagger and 'src="/mail/static/docs/swagger-ui-bundle.js"' in swagger
    assert 'spec-url="/mail/openapi.json"' in redoc and 'src="/mail/static/docs/redoc.standalone.js"' in redoc

    other = FastAPI(title="Other", docs_url=None, redoc_url=None, openapi_url="/schema.json")
    add_docs_pages(other)
    with TestClient(other) as client:
        swagger, redoc = client.get("/docs").text, client.get("/redoc").text
    assert "<title>Other - Swagger UI</title>" in swagger and "url: '/schema.json'" in swagger
    assert "<title>Other - ReDoc</title>" in redoc and 'spec-url="/schema.json"' in redoc


def test_an_app_with_its_own_redirect_address_serves_it(engine):
    """The OAuth2 redirect page is at the address the app names, and the Swagger UI page points there."""
    from service.docs_pages import add_docs_pages

    app = FastAPI(docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url="/docs/back")
    add_docs_pages(app)
    with TestClient(app) as client:
        assert client.get("/docs/back").status_code == 200
        assert client.get("/docs/oauth2-redirect").status_code == 404
        assert "oauth2RedirectUrl: window.location.origin + '/docs/back'" in client.get("/docs").text
