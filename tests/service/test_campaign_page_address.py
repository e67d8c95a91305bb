"""What a bulk approval did is said once at the top of the campaign's page, from its address; the page's script then
takes those words out of the address, so that a reload (or the address copied) says nothing again. The counts of
drafts flagged for a character no one sees in their copy, address or a product's link stayed in it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_campaign_forms_after_the_session_ended import two_pending_drafts
from tests.service.test_review_page import _logged_in


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_bulk_approval_s_counts_leave_the_address_once_said(client, engine, live_server, api_key, browser):
    from playwright.sync_api import expect

    campaign_id = two_pending_drafts(client, engine)
    said = "approved=1&changed=0&out_of_date=0&unseen=3&unseen_copy=1&unseen_address=1&unseen_link=1"
    page = _logged_in(browser, live_server, api_key)
    page.goto(f"{live_server}/review/campaigns/{campaign_id}?{said}&status=pending")
    expect(page.locator("#done")).to_contain_text("Approved 1 pending draft.")
    assert parse_qs(urlsplit(page.url).query) == {"status": ["pending"]}  # the list kept, the counts gone
