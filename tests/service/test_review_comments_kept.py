"""A review's comment typed on a draft's page and not sent is not lost without a word: the page asks before it is left,
as it asks for an edit not saved."""

from __future__ import annotations

import pytest

from tests.service.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.service.test_review_page_audit import _flagged_draft

pytestmark = [pytest.mark.browser]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_reason_typed_and_not_sent_is_not_lost_without_a_word(client, engine, live_server, api_key):
    """A copywriter typed why they would reject the draft, then followed a link (to check the other variant's preview,
    the next draft): the reason was thrown away without a word, where an edit not saved is asked about; and one the
    server refused, back in its field, went on a reload."""
    from playwright.sync_api import sync_playwright

    draft_id = _flagged_draft(client, engine, checks=[{"name": "spam_triggers", "passed": False, "reason": "FREE"}])
    draft_url = f"{live_server}/review/drafts/{draft_id}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page()
        page.goto(f"{live_server}/review/login")
        page.fill("#reviewer", "Ola Copywriter")
        page.fill("#api_key", api_key)
        page.click("button[type=submit]")
        asked: list[str] = []

        def answer(dialog, accept: bool) -> None:
            asked.append(dialog.type)
            dialog.accept() if accept else dialog.dismiss()

        page.goto(draft_url)
        page.get_by_label("Why reject?", exact=True).fill("The offer is wrong for this customer")
        page.once("dialog", lambda dialog: answer(dialog, accept=False))
        page.click("#back-to-campaign")
        assert asked == ["beforeunload"]
        assert page.get_by_label("Why reject?", exact=True).input_value() == "The offer is wrong for this customer"

        page.get_by_label("Why reject?", exact=True).fill("   ")  # nothing typed but blanks: nothing to lose
        page.click("#back-to-campaign")
        page.wait_for_url(f"{live_server}/review/campaigns/**")
        assert asked == ["beforeunload"]

        page.goto(draft_url)
        page.check("#approve-form input[name=variant_id]")
        page.locator("#approve-form input[name=comment]").fill("Fine as it is")
        page.click("#approve")  # refused: the variant fails a check; the comment is back in its field, not recorded
        page.wait_for_selector("#error")
        page.once("dialog", lambda dialog: answer(dialog, accept=True))
        page.reload()
        assert asked == ["beforeunload", "beforeunload"]
        browser.close()
