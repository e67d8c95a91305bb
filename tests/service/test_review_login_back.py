"""The login page in a real browser, for Back: a login refused (a mistyped key, no name) answered a POST, and
Back from the page the next login led to stood on it, Chromium's "Confirm Form Resubmission" (ERR_CACHE_MISS); so did
the page offering again a form sent after the session had ended, once that form was sent."""

from __future__ import annotations

import pytest

from tests.service.conftest import CHROMIUM

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_back_from_the_page_a_login_led_to_after_a_refused_one_shows_the_login_page(
    client, live_server, api_key, browser
):
    from urllib.parse import quote

    from playwright.sync_api import Error, expect

    body = {"name": "Autumn", "brand": "hearth", "campaign_type": "cross_sell"}
    asked = f"/review/campaigns/{client.post('/campaigns', json=body).json()['id']}?sort=customer"
    page = browser.new_page()
    page.goto(live_server + asked)  # no session: the login page, to go on to the list asked for
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", "tk_mistyped")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("unknown or revoked")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(live_server + asked)
    try:
        page.go_back()
    except Error as error:  # the refused login's POST, which Chromium will not show again without resending it
        pytest.fail(f"Back from the campaigns led to a page the browser could not show: {error.message}")
    expect(page).to_have_url(f"{live_server}/review/login?next={quote(asked, safe='')}")
    expect(page.locator("#login-error")).to_have_count(0)  # the login page as a GET shows it
    page.reload()  # and it reloads without asking to send the key again
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(live_server + asked)  # still leading on to the page asked for


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_back_from_a_form_sent_again_after_the_login_shows_the_page_that_offered_it(
    client, engine, live_server, api_key, browser
):
    from playwright.sync_api import Error, expect

    from tests.service.test_review_page import _logged_in
    from tests.service.test_review_page_audit import _flagged_draft

    draft = f"{live_server}/review/drafts/{_flagged_draft(client, engine)}"
    tabs = browser.new_context()
    page = _logged_in(tabs, live_server, api_key)
    page.goto(draft)
    other = tabs.new_page()  # signed out in another tab
    other.goto(f"{live_server}/review")
    other.click("#sign-out")
    page.get_by_label("Why reject?", exact=True).fill("The tone is off")
    page.click("#reject")
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live_server}/review/resend")
    page.reload()  # the text carried is kept
    expect(page.locator("#resend-form [name=comment]")).to_have_value("The tone is off")
    page.click("#resend")
    expect(page.locator("#reopen-form")).to_be_visible()  # rejected
    try:
        page.go_back()
    except Error as error:
        pytest.fail(f"Back from the draft led to a page the browser could not show: {error.message}")
    expect(page).to_have_url(f"{live_server}/review/resend")
    expect(page.locator("#resend-form [name=comment]")).to_have_value("The tone is off")
