"""The draft page in a real browser, for what a copywriter typed: a suggestion put into the edit form asks before it
replaces an edit not saved, and a copy field counts its characters as the length check counts them while typed."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page import _campaign_of_two, _logged_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture
def shop_with_fake_campaign(engine, demo_files, monkeypatch):
    """A campaign of two drafts written by the fake model."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    return _campaign_of_two(engine, demo_files)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_putting_a_suggestion_into_the_form_asks_before_replacing_an_edit_not_saved(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """A copywriter asked for another version, typed a subject of their own meanwhile, then clicked "Put into the
    edit form" to compare: their subject was gone without a word."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key)
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.goto(live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href"))
    label = page.locator(".card.selected h2").inner_text().split()[1]
    page.locator(".card.selected button[name=suggest]").click()
    region = page.get_by_role("region", name=re.compile(f"Suggested version of variant {label}"))
    suggested = region.locator(".suggested-subject").inner_text()
    subject = page.locator(".card.selected input[name=subject]")
    subject.fill("My own subject, typed")
    asked = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    region.get_by_role("button", name="Put into the edit form").click()
    assert asked == [
        f"Your edit of variant {label} is not saved: the suggestion replaces its subject, preheader and intro. "
        "Replace them with the suggestion?"
    ]
    expect(subject).to_have_value("My own subject, typed")  # kept, as the person asked
    expect(region.get_by_role("status")).to_have_text("")

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    region.get_by_role("button", name="Put into the edit form").click()
    expect(subject).to_have_value(suggested)
    assert len(asked) == 2
    region.get_by_role("button", name="Put into the edit form").click()  # the suggestion already there: no question
    expect(region.get_by_role("status")).to_contain_text("The suggestion is in the edit form above")
    assert len(asked) == 2


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_copy_field_counts_its_characters_as_the_length_check_does_while_typed(
    client, engine, live_server, api_key, browser
):
    """A subject ran over the length check's limit unseen until the check flagged it after Save."""
    from playwright.sync_api import expect

    from generation.guardrails.length import LIMITS
    from tests.service.test_review_page_audit import _flagged_draft

    draft_id = _flagged_draft(client, engine)
    low, high = LIMITS["subject"]
    page = _logged_in(browser, live_server, api_key)
    page.goto(f"{live_server}/review/drafts/{draft_id}")
    subject = page.get_by_label("Subject", exact=True)
    hint = page.locator(f"#{subject.get_attribute('aria-describedby')}")
    subject.fill("  " + "🍵" * high + "  ")  # blank ends left out, each emoji one character, as the check counts
    expect(hint).to_contain_text(f"{high} characters · the length check passes {low} to {high}")
    expect(hint).not_to_have_class(re.compile("fail"))
    subject.press("End")
    subject.press_sequentially("!")  # the spaces before it count now
    expect(hint).to_contain_text(f"{high + 3} characters")
    expect(hint).to_have_class(re.compile("fail"))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_review_comment_counts_its_characters_and_stops_at_its_limit_while_typed(
    client, engine, live_server, api_key, browser
):
    """The rejection's reason took 5,400 characters typed, to be refused once sent."""
    from playwright.sync_api import expect

    from service.schemas import COMMENT_MAX
    from tests.service.test_review_page_audit import _flagged_draft

    draft_id = _flagged_draft(client, engine)
    page = _logged_in(browser, live_server, api_key)
    page.goto(f"{live_server}/review/drafts/{draft_id}")
    reason = page.get_by_label("Why reject?", exact=True)
    hint = page.locator("#" + reason.get_attribute("aria-describedby").split()[-1])
    reason.fill("Too pushy")
    expect(hint).to_have_text(f"9 characters · a comment holds at most {COMMENT_MAX:,}")
    reason.fill("x" * (COMMENT_MAX + 400))
    assert len(reason.input_value()) == COMMENT_MAX  # the browser stops it at the limit
    expect(hint).to_contain_text(f"{COMMENT_MAX} characters")
    expect(hint).not_to_have_class(re.compile("fail"))
