"""A draft's preview links keep the list of the campaign's drafts it was opened from: previewing variant B of a draft
opened from page 2 of the pending drafts by predicted opens led "← campaign" back to page 1 of all of them in the
usual order, and "next to review" on through that order instead."""

from __future__ import annotations

import html
import re

from tests.service.test_review_revisions import draft

__all__ = ["draft"]  # the fixture, used by name

LISTED = "status=pending&sort=p_open&page=2"


def _href(page: str, pattern: str) -> str:
    """The address of the page's first link whose tag matches ``pattern``, as the browser reads it."""
    found = re.search(rf'<a [^>]*{pattern}[^>]*href="([^"]*)"|<a [^>]*href="([^"]*)"[^>]*{pattern}', page)
    assert found, f"no link matching {pattern}"
    return html.unescape(found[1] or found[2])


def test_previewing_another_variant_keeps_the_list_the_draft_was_opened_from(client, draft):
    page = client.get(f"/review/drafts/{draft['id']}?{LISTED}").text
    assert _href(page, 'id="back-to-campaign"') == f"/review/campaigns/{draft['campaign_id']}?{LISTED}"

    second = draft["variants"][1]["id"]
    preview = _href(page, 'aria-label="preview variant B"')
    assert preview == f"/review/drafts/{draft['id']}?preview={second}&{LISTED}"
    previewed = client.get(preview).text
    assert "Preview: variant B (not chosen)" in previewed
    assert _href(previewed, 'id="back-to-campaign"') == f"/review/campaigns/{draft['campaign_id']}?{LISTED}"

    back_to_chosen = _href(previewed, r">show the chosen one<").split("#")[0]
    assert back_to_chosen == f"/review/drafts/{draft['id']}?{LISTED}"
