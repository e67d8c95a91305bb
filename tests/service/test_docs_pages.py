"""The API's documentation pages render in a real browser that reaches nothing but the service: FastAPI's own
loaded Swagger UI and ReDoc from a CDN, and a server that reaches none showed a blank page."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM, CHROMIUM_FLAGS

pytestmark = [
    pytest.mark.slow, pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)"),
]  # fmt: skip


def test_the_docs_pages_render_with_no_request_leaving_the_service(live_server):
    from playwright.sync_api import sync_playwright

    elsewhere: list[str] = []

    def only_the_service(route):
        if route.request.url.startswith(live_server):
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.route("**/*", only_the_service)
        page.goto(f"{live_server}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any(re.fullmatch(r"/imports/\{kind\}", path.strip().replace("\u200b", "")) for path in paths), paths
        page.goto(f"{live_server}/redoc")
        page.wait_for_selector("h1", timeout=20_000)
        assert "Tailor" in page.locator("h1").first.inner_text()
        browser.close()
    # Only ReDoc's "API docs by Redocly" image is fetched from elsewhere; offline it is left out and nothing else.
    assert set(elsewhere) <= {"https://cdn.redoc.ly/redoc/logo-mini.svg"}
