"""The API's documentation pages render in a real browser that reaches nothing but the service: FastAPI's own
loaded Swagger UI and ReDoc from a CDN, and a server that reaches none showed a blank page."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM

pytestmark = [
    pytest.mark.slow, pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)"),
]  # fmt: skip


def test_the_docs_pages_render_with_no_request_leaving_the_service(live_server, browser):
    elsewhere: list[str] = []

    def only_the_service(route):
        if route.request.url.startswith(live_server):
            return route.continue_()
        elsewhere.append(route.request.url)
        return route.abort()

    page = browser.new_page()
    page.route("**/*", only_the_service)
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security" in message.text else None)
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any(re.fullmatch(r"/imports/\{kind\}", path.strip().replace("\u200b", "")) for path in paths), paths
    page.goto(f"{live_server}/redoc")
    page.wait_for_selector("h1", timeout=20_000)
    assert "Tailor" in page.locator("h1").first.inner_text()
    page.fill("input[placeholder='Search...']", "import")  # ReDoc's search runs in a worker the policy allows
    page.wait_for_selector("[data-role='search:results'] li", timeout=20_000)
    page.context.close()  # what it had asked for all answered or refused
    # The pages' policy keeps even ReDoc's "API docs by Redocly" image from being asked of cdn.redoc.ly.
    assert elsewhere == []
    assert [text for text in blocked if "cdn.redoc.ly" not in text] == []


def test_the_docs_pages_let_the_browser_load_nothing_from_elsewhere(client):
    for path in ("/docs", "/redoc"):
        policy = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert '"validatorUrl": null' in client.get("/docs").text  # the badge sent the schema's address to swagger.io
