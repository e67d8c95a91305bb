"""The edit fields' limits counted as the server counts them: in characters (Python's count, pydantic's limits), where a
browser's maxlength counts UTF-16 units, two for a character beyond U+FFFF (most emoji). A subject of 150 emoji,
within the 200 characters an edit may hold, was cut at 100 as it was typed, and one stored could not be sent again.
The campaign page's bulk comments are limited and counted alike: they had no limit and no count at all."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page import _logged_in
from tests.service.test_review_page_audit import _field, _flagged_draft

TEA = "\N{TEACUP WITHOUT HANDLE}"  # U+1F375: one character, two UTF-16 units


def test_a_field_holding_emoji_has_room_for_them_without_the_script(client, engine):
    """Without the page's script, the field holds what is stored (and the limit's worth of one-unit characters)."""
    draft_id = _flagged_draft(client, engine, subject=TEA * 150, preheader="A preheader")
    page = client.get(f"/review/drafts/{draft_id}").text
    subject = _field(page, "subject")
    assert 'maxlength="350"' in subject and 'data-most="200"' in subject  # 150 characters of 300 units, and 200 more
    assert 'maxlength="300"' in _field(page, "preheader")  # none beyond U+FFFF: as before
    assert re.search(r'id="subject-length-\d+"[^>]*><span class="length-count">150</span>', page)  # as Python counts


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_subject_of_emoji_is_counted_and_limited_as_the_server_counts_it(
    client, engine, live_server, api_key, browser
):
    from playwright.sync_api import expect

    draft_id = _flagged_draft(client, engine)
    page = _logged_in(browser, live_server, api_key)
    page.goto(f"{live_server}/review/drafts/{draft_id}")
    subject = page.locator("input[name=subject]")
    count = page.locator("[id^=subject-length-] .length-count")

    subject.select_text()
    page.keyboard.insert_text(TEA * 150)  # typed or pasted: the browser applies maxlength
    assert subject.evaluate("field => Array.from(field.value).length") == 150  # none cut
    expect(count).to_have_text("150")
    assert subject.evaluate("field => field.validity.valid")
    page.locator("button[name=save]").click()
    expect(page.locator("#done")).to_contain_text("is saved")
    assert client.get(f"/drafts/{draft_id}").json()["variants"][0]["subject"] == TEA * 150

    subject = page.locator("input[name=subject]")  # the page as saved: its field holds them
    count = page.locator("[id^=subject-length-] .length-count")
    subject.select_text()
    page.keyboard.insert_text(TEA * 201)
    expect(count).to_have_text("200")  # emoji are cut at the limit, as the server counts it
    subject.select_text()
    page.keyboard.insert_text("a" * 201)  # as many of one unit: cut at the limit too, as before
    expect(subject).to_have_value("a" * 200)
    subject.select_text()
    page.keyboard.insert_text(TEA * 198)
    subject.press("Home")
    page.keyboard.insert_text("abc")  # two fit: the end of what went in is cut, not the end of the subject
    expect(subject).to_have_value("ab" + TEA * 198)
    expect(count).to_have_text("200")
    assert client.get(f"/drafts/{draft_id}").json()["variants"][0]["subject"] == TEA * 150


def test_a_bulk_comment_tells_its_limit_as_a_draft_s_comment_does(client, engine):
    from tests.service.test_campaign_forms_after_the_session_ended import two_pending_drafts

    page = client.get(f"/review/campaigns/{two_pending_drafts(client, engine)}").text
    field = re.search(r'<form [^>]*id="approve-pending".*?(<input type="text" name="comment"[^>]*>)', page, re.S)[1]
    assert 'maxlength="5000" data-most="5000"' in field and 'aria-describedby="approve-pending-comment-length"' in field
    hint = re.search(r'<div [^>]*id="approve-pending-comment-length"[^>]*>(.*?)</div>', page)[1]
    assert hint == '<span class="length-count">0</span> characters · a comment holds at most 5,000'


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_bulk_comment_of_emoji_is_counted_and_limited_as_the_server_counts_it(
    client, engine, live_server, api_key, browser
):
    from playwright.sync_api import expect

    from tests.service.test_campaign_forms_after_the_session_ended import two_pending_drafts

    campaign_id = two_pending_drafts(client, engine)
    page = _logged_in(browser, live_server, api_key)
    page.goto(f"{live_server}/review/campaigns/{campaign_id}")
    comment = page.locator("#approve-pending input[name=comment]")
    comment.click()
    page.keyboard.insert_text(TEA * 5001)
    expect(page.locator("#approve-pending-comment-length .length-count")).to_have_text("5000")
    assert comment.evaluate("field => Array.from(field.value).length") == 5000  # not cut at 2,500


def test_the_login_s_name_has_room_for_its_limit_in_characters(client):
    """The name's limit (100 characters, as the server counts them) was a maxlength of 100, in UTF-16 units."""
    from service.routes.review.login import REVIEWER_MAX

    field = re.search(r'<input type="text" id="reviewer"[^>]*>', client.get("/review/login").text)[0]
    assert f'maxlength="{REVIEWER_MAX}" data-most="{REVIEWER_MAX}"' in field  # the page's script makes room for emoji


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_name_of_emoji_is_limited_as_the_server_counts_it(client, live_server, api_key, browser):
    """A name of 60 emoji, within the 100 characters the server takes, was cut to 50 as it was typed."""
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{live_server}/review/login")
    name = page.locator("#reviewer")
    name.click()
    page.keyboard.insert_text(TEA * 101)
    assert name.evaluate("field => Array.from(field.value).length") == 100  # cut at the limit, as counted
    name.select_text()
    page.keyboard.insert_text(TEA * 60)
    expect(name).to_have_value(TEA * 60)  # none cut
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page.locator("#signed-in-as bdi")).to_have_text(TEA * 60)  # the server took it whole
