"""The list of a campaign's drafts shows which status filter is in use, as it tells a screen reader; and a draft's
page keeps the list it was opened from through a refused action and a reload."""

from __future__ import annotations

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page import _logged_in
from tests.service.test_review_page_details import _campaign_of

pytestmark = [pytest.mark.browser]

# how a link looks: its colour, weight and underline
LOOK = "link => { const look = getComputedStyle(link); return [look.color, look.fontWeight, look.textDecorationLine]; }"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_status_filter_in_use_is_shown_apart_from_the_others(client, engine, live_server, api_key, browser):
    """On the flagged drafts, "all 2 · flagged 1 · rejected 1" were three links alike: only the page's title, and a
    screen reader (aria-current), said which list was shown."""
    campaign_id, draft_ids = _campaign_of(client, engine, ["en", "en"])
    client.post(f"/drafts/{draft_ids[1]}/reject", json={"comment": "not for this customer"})
    page = _logged_in(browser, live_server, api_key, landing="/review")
    for status, current in (("flagged", "flagged 1"), (None, "all 2")):
        page.goto(f"{live_server}/review/campaigns/{campaign_id}" + (f"?status={status}" if status else ""))
        links = page.locator("#draft-filters a")
        assert links.all_inner_texts() == ["all 2", "flagged 1", "rejected 1"]
        shown = page.locator("#draft-filters a[aria-current=page]")
        assert shown.inner_text() == current
        others = [link.evaluate(LOOK) for link in links.all() if link.inner_text() != current]
        assert len(others) == 2 and all(look != shown.evaluate(LOOK) for look in others), status


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_refused_action_s_page_keeps_the_list_the_draft_was_opened_from_through_a_reload(
    client, engine, live_server, api_key, browser
):
    """A rejection refused (no reason given) from a draft opened from the flagged drafts in order of customer: its
    page's address became the draft's bare one, and a reload led "← campaign" back to every draft in the usual
    order, and "next to review" through the whole campaign."""
    from playwright.sync_api import expect

    campaign_id, draft_ids = _campaign_of(client, engine, ["en", "en"])
    listed = "status=flagged&sort=customer"
    page = _logged_in(browser, live_server, api_key, landing="/review")
    page.goto(f"{live_server}/review/campaigns/{campaign_id}?{listed}")
    page.locator("#drafts tr[data-draft-id] a").first.click()
    draft_url = page.url
    assert draft_url.endswith(f"?{listed}")
    page.get_by_label("Why reject?", exact=True).fill("   ")
    page.click("#reject")
    expect(page.locator("#error")).to_contain_text("say why the draft is rejected")
    assert page.url == draft_url
    page.reload()
    expect(page.locator("#back-to-campaign")).to_have_attribute("href", f"/review/campaigns/{campaign_id}?{listed}")
