"""The review pages for a keyboard and a screen reader, in Chromium (an accessibility audit's findings)."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page import _logged_in, shop_with_fake_campaign  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_focus_goes_to_what_an_action_did_once_its_page_loads(
    shop_with_fake_campaign,  # noqa: F811
    live_server,
    api_key,
    browser,
):
    """The focus goes to what the page says of a done action (or one not done, or an error page's message), so that a
    screen reader reads it and a keyboard goes on from there: words written into the page as it loads, in a
    role=status or alert, were not read (a screen reader reads a region changed after the page loaded), and the focus
    left at the page's start had a keyboard user Tab through the header again after each approval or rejection."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.locator("#drafts tr[data-draft-id] a").first.focus()
    page.keyboard.press("Enter")
    page.locator("#reject-form input[name=comment]").focus()
    page.keyboard.type("Too pushy for a first email")
    page.keyboard.press("Enter")  # the rejection sent from the keyboard
    expect(page.locator("#done")).to_have_text("Rejected.")
    expect(page.locator("#done")).to_be_focused()
    page.keyboard.press("Tab")  # on from the message, not from the header
    assert page.evaluate("document.querySelector('header').contains(document.activeElement)") is False

    page.locator("#reopen-form input[name=comment]").focus()
    page.keyboard.type("Another look")
    page.locator("#reopen").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_be_focused()
    page.locator("#approve").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#done")).to_contain_text("Approved")
    expect(page.locator("#done")).to_be_focused()

    page.goto(f"{live_server}/review/drafts/999999")  # an error page: its message, not the header
    expect(page.locator("#error")).to_have_text("Draft 999999 does not exist.")
    expect(page.locator("#error")).to_be_focused()

    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    expect(page.locator("#done")).to_have_count(0)  # a page opened, no action done: the focus stays at its start
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_length_outside_what_the_check_passes_is_said_in_words_not_by_colour_alone(
    shop_with_fake_campaign,  # noqa: F811
    live_server,
    api_key,
    browser,
):
    """A copy field's count turned red, and only red, when its length fell outside what the length check passes: a
    person who does not see red, or hears the hint read as the field's description, was not told."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.goto(live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href"))
    subject = page.locator(".card.selected input[name=subject]")
    hint = page.locator("#" + subject.get_attribute("aria-describedby"))
    low, high = int(hint.get_attribute("data-low")), int(hint.get_attribute("data-high"))
    expect(hint).not_to_contain_text("too")
    subject.fill("x" * (low - 1))
    expect(hint).to_have_class(re.compile(r"\bfail\b"))
    expect(hint).to_contain_text("too short")
    subject.fill("x" * (high + 1))
    expect(hint).to_contain_text("too long")
    subject.fill("x" * low)
    expect(hint).not_to_contain_text("too")
    subject.fill("")
    page.locator(".card.selected button[name=save]").click()  # refused: the page comes back with the hint so
    subject = page.locator(".card.selected input[name=subject]")
    hint_id = subject.get_attribute("aria-describedby").split()[-1]
    expect(page.locator(f"#{hint_id}")).to_contain_text("0 characters · the length check passes")
    expect(page.locator(f"#{hint_id}")).to_contain_text("too short")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_note_a_login_or_a_form_offered_again_opens_with_is_read_and_sign_out_asks_before_losing_the_form(
    client, engine, live_server, api_key, browser
):
    """The login page's note (why it was shown: a session ended, what was not done) and the note of the page offering
    a form again were written as the page loaded, in an alert or status region, and went unread: the focus goes to
    them, as to what an action did. And Sign out on the page offering the form again, clicked by mistake, lost the
    form, which holds what the person had typed, without a word: it asks first."""
    from playwright.sync_api import expect

    from tests.service.test_review_page import _answer_next_dialog
    from tests.service.test_review_page_audit import _flagged_draft

    draft = f"{live_server}/review/drafts/{_flagged_draft(client, engine)}"
    stranger = browser.new_page()
    stranger.goto(draft)  # no session: the login page, saying why
    expect(stranger.locator("#login-note")).to_contain_text("Log in to go on to the page you opened")
    expect(stranger.locator("#login-note")).to_be_focused()

    page = _logged_in(browser.new_context(), live_server, api_key)  # a context: two tabs share its cookie
    page.goto(draft)
    other_tab = page.context.new_page()
    other_tab.goto(draft)
    other_tab.click("#sign-out")
    page.locator("form[action$='/edit'] input[name=subject]").fill("Typed before the session ended")
    page.locator("form[action$='/edit'] button[name=save]").click()
    expect(page.locator("#login-note")).to_contain_text("nothing was saved or recorded")
    expect(page.locator("#login-note")).to_be_focused()
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page.locator("#resend-form input[name=subject]")).to_have_value("Typed before the session ended")
    expect(page.locator("#resend-note")).to_contain_text("was not done")
    expect(page.locator("#resend-note")).to_be_focused()

    asked: list[str] = []
    _answer_next_dialog(page, asked, accept=False)
    page.click("#sign-out")  # by mistake: kept
    expect(page.locator("#resend-form input[name=subject]")).to_have_value("Typed before the session ended")
    assert asked == ["Sign out? What you sent was not done, and the form below that holds it is lost."]
    expect(page).to_have_url(f"{live_server}/review/resend")
    _answer_next_dialog(page, asked, accept=True)
    page.click("#sign-out")  # meant
    expect(page).to_have_url(f"{live_server}/review/login")
    assert len(asked) == 2 and page.context.cookies() == []


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_rows_of_the_campaigns_and_of_an_experiment_s_arms_are_named_by_a_row_header(
    live_server, api_key, client, engine, browser
):
    """The campaigns' list and an experiment's arms had no row headers: a screen reader read "12" in a column with
    nothing saying which campaign or arm it was of."""
    from playwright.sync_api import expect

    from tests.service.test_experiments import approved_campaign

    campaign_id = approved_campaign(client, engine, 4, "row", holdout_share=0.25)
    page = _logged_in(browser, live_server, api_key, landing="/review")
    name = client.get(f"/campaigns/{campaign_id}").json()["name"]
    expect(page.get_by_role("rowheader", name=name)).to_have_count(1)
    assert page.locator("table tr:has(td)").count() == page.locator("table tr th[scope=row]").count() > 0
    page.goto(f"{live_server}/review/campaigns/{campaign_id}/experiment")
    arms = page.locator("#arms tr[data-arm]")
    expect(arms).not_to_have_count(0)
    for arm in arms.all():
        expect(arm.get_by_role("rowheader")).to_have_text(arm.get_attribute("data-arm"))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_count_of_drafts_shown_is_said_after_a_filter_and_a_bulk_action(
    live_server, api_key, client, engine, browser
):
    """A filter, a search or a bulk action reloads the campaign's page: how many drafts it shows now was not said
    (the figures above the list are written as it loads, which a screen reader does not read). It is written into a
    live region once the page has loaded, and so read."""
    from playwright.sync_api import expect

    from tests.service.test_campaign_forms_after_the_session_ended import two_pending_drafts

    campaign_page = f"{live_server}/review/campaigns/{two_pending_drafts(client, engine)}"
    page = _logged_in(browser, live_server, api_key, landing="/review")
    page.add_init_script(
        """window.said = [];  /* what is written into a live region after the page has loaded */
        document.addEventListener("DOMContentLoaded", function () {
          new MutationObserver(function (changes) {
            changes.forEach(function (change) {
              var node = change.target.nodeType === 1 ? change.target : change.target.parentElement;
              var region = node && node.closest('[role=status], [role=alert], [aria-live]');
              if (region && region.textContent.trim()) { window.said.push(region.textContent.trim()); }
            });
          }).observe(document.body, {subtree: true, childList: true, characterData: true});
        });"""
    )
    page.goto(campaign_page)
    page.click("#draft-filters a:text-is('pending 2')")  # a filter
    expect(page).to_have_url(f"{campaign_page}?status=pending")
    assert _said_once_loaded(page) == ["2 pending drafts"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#approve-pending button")  # a bulk action, back on the list filtered
    expect(page.locator("#done")).to_be_visible()
    assert _said_once_loaded(page) == ["0 pending drafts"]
    expect(page.locator("#drafts-shown")).to_have_attribute("role", "status")


def _said_once_loaded(page) -> list[str]:
    """What the page wrote into its live regions after it had loaded (window.said), once it has written anything, or
    nothing after 5 s (the page's policy runs no script a test would evaluate in it: no wait_for_function)."""
    for _ in range(50):
        said = page.evaluate("window.said")
        if said:
            return said
        page.wait_for_timeout(100)
    return []


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_what_a_download_or_a_variant_s_copy_is_is_said_in_words_not_in_a_title_alone(
    live_server, api_key, client, engine, browser
):
    """What the two downloads of a campaign's approved drafts hold, and what a variant's "template subject and intro"
    is, were said in a title attribute alone: shown on a mouse's hover, never on a phone's touch. They are text."""
    from playwright.sync_api import expect

    from tests.service.test_experiments import approved_campaign
    from tests.service.test_review_page_audit import _flagged_draft

    phone = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
    campaign_id = approved_campaign(client, engine, 2, "dl")
    page = _logged_in(phone, live_server, api_key, landing=f"/review/campaigns/{campaign_id}")
    for link, words in (
        ("#export-approved", "one JSON line per customer and variant, for an email service provider"),
        ("#export-selected", "one JSON line per customer, the variant chosen: for a sender that mails every line"),
    ):
        expect(page.get_by_text(words)).to_be_visible()
        expect(page.locator(link)).to_have_accessible_description(f"({words})")
        expect(page.locator(link)).not_to_have_attribute("title", re.compile(".*"))
    page.goto(f"{live_server}/review/drafts/{_flagged_draft(client, engine, used_fallback=True)}")
    heading = page.locator("h2[id^=variant-]")
    expect(heading).to_contain_text("template subject and intro")
    expect(heading.get_by_text("the brand's template copy; the product lines may still be the model's")).to_be_visible()
    expect(heading.locator("[title]")).to_have_count(0)
