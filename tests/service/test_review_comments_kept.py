"""A review's comment typed and not sent, on a draft's page or in a campaign's bulk approval, is not lost without a
word: the page asks before it is left, as a draft's page asks for an edit not saved."""

from __future__ import annotations

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page import _logged_in
from tests.service.test_review_page_audit import _flagged_draft

pytestmark = [pytest.mark.browser]


def _answering(asked: list[str], accept: bool):
    """A handler of the page's next dialog (``page.once("dialog", ...)``): noted in ``asked`` by its type, then
    accepted or dismissed."""

    def answer(dialog) -> None:
        asked.append(dialog.type)
        dialog.accept() if accept else dialog.dismiss()

    return answer


def _pending_draft(client, engine) -> int:
    """A campaign with one pending draft, which its page offers to approve with every pending one; its id."""
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    body = {"name": "Bulk", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="c2", email="c2@example.com", first_name="Bo", locale="en",
                            marketing_consent=True)  # fmt: skip
        variant = Variant(label="A", subject="A subject of words", preheader="A preheader", intro="An intro.",
                          html="<p>A</p>", text="A")  # fmt: skip
        draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
        session.add(draft)
        session.flush()
        draft.selected_variant_id = variant.id
    return campaign_id


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_reason_typed_and_not_sent_is_not_lost_without_a_word(client, engine, live_server, api_key, browser):
    """A copywriter typed why they would reject the draft, then followed a link (to check the other variant's preview,
    the next draft): the reason was thrown away without a word, where an edit not saved is asked about; one the
    server refused, back in its field, went on a reload; and an approval's comment went when a typo in the subject
    was saved first."""
    draft_id = _flagged_draft(client, engine, checks=[{"name": "spam_triggers", "passed": False, "reason": "FREE"}])
    draft_url = f"{live_server}/review/drafts/{draft_id}"
    page = _logged_in(browser, live_server, api_key, landing="/review")
    asked: list[str] = []  # the dialogs the page opened, by type
    page.goto(draft_url)
    page.get_by_label("Why reject?", exact=True).fill("The offer is wrong for this customer")
    page.once("dialog", _answering(asked, accept=False))
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
    page.once("dialog", _answering(asked, accept=True))
    page.reload()
    assert asked == ["beforeunload", "beforeunload"]

    page.locator("#approve-form input[name=comment]").fill("Fine once the subject is mended")
    page.locator("input[name=subject]").fill("A subject mended")  # a typo seen: saved before approving
    page.once("dialog", _answering(asked, accept=False))
    page.locator("button[name=save]").click()
    assert asked == ["beforeunload", "beforeunload", "confirm"]
    assert page.locator("#approve-form input[name=comment]").input_value() == "Fine once the subject is mended"


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_bulk_approval_s_comment_typed_and_not_sent_is_not_lost_without_a_word(
    client, engine, live_server, api_key, browser
):
    """A comment typed for approving every pending draft went without a word when the copywriter first looked at the
    flagged ones, searched, sorted or left; sending the form, once confirmed, asks nothing more."""
    from playwright.sync_api import expect

    campaign_id = _pending_draft(client, engine)
    page = _logged_in(browser, live_server, api_key, landing="/review")
    asked: list[str] = []  # the dialogs the page opened, by type
    page.goto(f"{live_server}/review/campaigns/{campaign_id}")
    comment = page.locator("#approve-pending input[name=comment]")
    comment.fill("Checked with the shop")
    page.once("dialog", _answering(asked, accept=False))
    page.click("#sort-drafts button")
    assert asked == ["beforeunload"]
    expect(comment).to_have_value("Checked with the shop")

    page.once("dialog", _answering(asked, accept=False))  # "Approve the 1 pending draft?": no
    page.click("#approve-pending button")
    page.once("dialog", _answering(asked, accept=False))  # not sent: leaving still asks
    page.click("#draft-filters a[aria-current=page]")
    assert asked == ["beforeunload", "confirm", "beforeunload"]
    page.once("dialog", _answering(asked, accept=True))  # yes, and nothing more is asked
    page.click("#approve-pending button")
    expect(page.locator("#done")).to_have_text("Approved 1 pending draft.")
    assert asked == ["beforeunload", "confirm", "beforeunload", "confirm"]
