"""The review page's header and headings on a phone, in a real browser: the reviewer's name, as long as the login
takes (100 characters) and with no space to wrap at, made every page scroll sideways (648 px wide at 360); so did a
campaign's name of no space in its pages' headings, and a customer's long address on their draft's page."""

from __future__ import annotations

import pytest

from service.routes.review.login import REVIEWER_MAX
from tests.service.conftest import CHROMIUM
from tests.service.test_review_page import _logged_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PHONE = {"width": 360, "height": 740}  # the narrowest screen the pages are made for


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_long_reviewer_name_wraps_in_the_header_instead_of_widening_the_page(live_server, api_key, browser):
    from playwright.sync_api import expect

    name = "Copywriting-team" + "Nord" * ((REVIEWER_MAX - 16) // 4)  # a team's name, as one word
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{live_server}/review/login")
    page.fill("#reviewer", name)
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page.locator("#signed-in-as")).to_have_text(f"reviewing as {name}")  # all of it, wrapped
    assert page.evaluate("document.documentElement.scrollWidth") == 360
    assert page.locator("#sign-out").bounding_box()["x"] + page.locator("#sign-out").bounding_box()["width"] <= 360


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_campaign_named_without_spaces_wraps_in_its_pages_headings(client, live_server, api_key, browser):
    """A campaign named as marketing tools name them, "winback_2026_q4_high_value_customers_germany_austria": its
    page and its experiment's page were 731 px wide at 360, the name cut off at the screen's edge."""
    from playwright.sync_api import expect

    name = "winback_2026_q4_high_value_customers_germany_austria"
    body = {"name": name, "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    page = _logged_in(browser.new_context(viewport=PHONE), live_server, api_key, landing="/review")
    for path in (f"/review/campaigns/{campaign_id}", f"/review/campaigns/{campaign_id}/experiment"):
        page.goto(live_server + path)
        expect(page.locator("h1")).to_contain_text(name)  # all of it, wrapped
        assert page.evaluate("document.documentElement.scrollWidth") == 360, path


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_customer_s_long_address_wraps_on_their_draft_s_page(client, engine, live_server, api_key, browser):
    """The line under a draft's heading starts with the customer's address: one of 59 characters made the page 454 px
    wide at 360."""
    from playwright.sync_api import expect

    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    email = "maximilian.mustermannschneider@kundenservice.exampleshop.de"
    body = {"name": "Addresses", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email=email, first_name="Max", locale="en", marketing_consent=True)
        variant = Variant(label="A", subject="A subject of words", html="<p>A</p>", text="A")
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft_id = draft.id
    page = _logged_in(browser.new_context(viewport=PHONE), live_server, api_key, landing="/review")
    page.goto(f"{live_server}/review/drafts/{draft_id}")
    expect(page.locator("main > p.muted")).to_contain_text(email)
    assert page.evaluate("document.documentElement.scrollWidth") == 360
