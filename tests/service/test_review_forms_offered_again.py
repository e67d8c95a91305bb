"""The page offering again a draft's form sent after the review session had ended says what the form does and to
which draft: it showed a Comment and an Approve button, the variant chosen and the override of failed checks
hidden, and an edit's fields with no word of the draft or the variant, to a copywriter with several tabs open."""

from __future__ import annotations

import html
import re

from tests.service.test_review_revisions import _signed_out_after_opening, draft, form_of

__all__ = ["draft"]  # the fixture, used by name


def _offered_again(client, api_key, draft: dict, action: str, **typed: str) -> str:
    """The page offering again the form at ``action`` of the draft's page, sent with ``typed`` after the session
    had ended, once the person logged in again."""
    browser, open_page = _signed_out_after_opening(client, api_key, f"/review/drafts/{draft['id']}")
    login = browser.post(action, data=form_of(open_page, action, **typed), follow_redirects=False)
    assert login.status_code == 401
    again = browser.post("/review/login", data=form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann"))
    assert again.status_code == 200 and 'id="resend-form"' in again.text
    return again.text


def _said(page: str) -> str:
    """What the page says the form does, as read ("" when it says nothing of it)."""
    start = page.find('id="resend-what">')
    if start < 0:
        return ""
    start += len('id="resend-what">')
    return html.unescape(page[start : page.index("</p>", start)])


def test_an_approval_offered_again_names_the_draft_and_the_variant_chosen(client, api_key, draft):
    page = f"/review/drafts/{draft['id']}"
    second = draft["variants"][1]
    offered = _offered_again(client, api_key, draft, f"{page}/approve", variant_id=str(second["id"]), comment="B")
    assert _said(offered) == f"Approve draft {draft['id']} for Ida (c1), with variant B chosen."
    assert "Send it again? Draft" in offered  # its title too: one tab of several


def test_an_approval_overriding_failed_checks_offered_again_says_so(client, api_key, draft):
    page = f"/review/drafts/{draft['id']}"
    offered = _offered_again(client, api_key, draft, f"{page}/approve", override_checks="true", comment="Fine")
    said = _said(offered)
    assert said == f"Approve draft {draft['id']} for Ida (c1), with variant A chosen, despite its failed checks."


def test_an_edit_or_a_note_offered_again_names_the_variant(client, api_key, draft):
    page = f"/review/drafts/{draft['id']}"
    second = draft["variants"][1]["id"]
    edit = _offered_again(client, api_key, draft, f"{page}/variants/{second}/edit", subject="Autumn, at last")
    assert _said(edit) == f"Save your edit of variant B of draft {draft['id']} for Ida (c1)."
    note = _offered_again(client, api_key, draft, f"{page}/variants/{second}/suggest", note="warmer")
    assert _said(note) == f"Ask the model for another version of variant B of draft {draft['id']} for Ida (c1)."


def test_a_rejection_offered_again_names_the_draft(client, api_key, draft):
    page = f"/review/drafts/{draft['id']}"
    offered = _offered_again(client, api_key, draft, f"{page}/reject", comment="Too pushy")
    assert _said(offered) == f"Reject draft {draft['id']} for Ida (c1)."


def test_a_bulk_approval_with_a_comment_too_long_for_the_campaign_page_offered_again_names_the_campaign(
    client, api_key, draft
):
    """A bulk form's comment too long to be carried to the campaign's page is offered on this page instead."""
    page = f"/review/campaigns/{draft['campaign_id']}"
    browser, open_page = _signed_out_after_opening(client, api_key, page)
    action = f"{page}/approve-pending"
    login = browser.post(action, data=form_of(open_page, action, comment="Checked each one. " * 200))
    assert login.status_code == 401
    again = browser.post("/review/login", data=form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann"))
    assert 'id="resend-form"' in again.text
    assert _said(again.text) == f"Approve the pending drafts of campaign {draft['campaign_id']}."


def _comment_field(page: str) -> tuple[str, str]:
    """The offered form's comment field: its label's words and its tag."""
    found = re.search(r"<label>([^<]*)\s*<(textarea|input)([^>]*name=\"comment\"[^>]*)>", page)
    return html.unescape(found.group(1)).strip(), found.group(3)


def test_a_rejection_offered_again_labels_its_reason_as_the_draft_page_does(client, api_key, draft):
    """The draft's page asks "Why reject?" and requires it; the page offering the form again called it "Comment",
    and let it be emptied, to be refused by the server."""
    page = f"/review/drafts/{draft['id']}"
    label, tag = _comment_field(_offered_again(client, api_key, draft, f"{page}/reject", comment="Too pushy"))
    assert label == "Why reject?" and " required" in tag
    label, tag = _comment_field(_offered_again(client, api_key, draft, f"{page}/approve", comment="Fine"))
    assert label == "Comment" and " required" not in tag  # an approval's comment is optional, there as here
    assert 'dir="auto"' in tag  # its direction its text's, as on the draft's page
