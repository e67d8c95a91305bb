"""The review page on a slow network: a form clicked twice while its answer is awaited is sent once."""

from __future__ import annotations

import time

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page_audit import _flagged_draft

pytestmark = [pytest.mark.browser]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_rejection_clicked_twice_on_a_slow_network_is_sent_once(client, engine, live_server, api_key, browser):
    """Nothing showed the first click on Reject was under way, so the copywriter clicked again: the draft was rejected,
    and the page they were left on was the second rejection's refusal, "Draft 1 was changed since you read it (Ola
    Copywriter rejected it); nothing was done. … try again"."""
    from playwright.sync_api import expect

    draft_id = _flagged_draft(client, engine)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server}/review/login")
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/review/drafts/{draft_id}")
    page.get_by_label("Why reject?", exact=True).fill("Too pushy")
    page.locator("#reject").scroll_into_view_if_needed()
    box = page.locator("#reject").bounding_box()
    network = context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 2000, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    time.sleep(0.5)  # the first is on its way
    page.mouse.click(box["x"] + 5, box["y"] + 5)
    expect(page.locator("#done")).to_have_text("Rejected.", timeout=20_000)
    expect(page.locator("#error")).to_have_count(0)
    context.close()
    rejections = [r for r in client.get(f"/drafts/{draft_id}").json()["reviews"] if r["action"] == "reject"]
    assert len(rejections) == 1
