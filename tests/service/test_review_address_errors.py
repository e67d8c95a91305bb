"""A review page's address edited by hand (?preview=abc, ?page=0, a search pasted whole) is refused in words that
name the part of the address and what it takes: the page showed pydantic's "query.preview: Input should be a valid
integer", and took a customer search of any length, echoing it in its title."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.service.test_review_page_audit import _flagged_draft


def _error(page: str) -> str:
    """The error page's message, as read."""
    return unescape(re.search(r'<p class="error" id="error">(.*?)</p>', page, re.S).group(1))


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("preview=abc", "The address's preview is “abc”: it should be a whole number."),
        ("preview=0", "The address's preview is “0”: it should be a number of at least 1."),
        ("page=0", "The address's page is “0”: it should be a number of at least 1."),
    ],
)
def test_a_draft_page_address_edited_by_hand_is_refused_in_words(client, engine, query, said):
    draft_id = _flagged_draft(client, engine)
    refused = client.get(f"/review/drafts/{draft_id}?{query}")
    assert refused.status_code == 422
    assert _error(refused.text) == said


def test_a_campaign_page_address_edited_by_hand_is_refused_in_words(client, engine):
    draft_id = _flagged_draft(client, engine)
    campaign_id = client.get(f"/drafts/{draft_id}").json()["campaign_id"]
    refused = client.get(f"/review/campaigns/{campaign_id}?unseen=many")
    assert refused.status_code == 422
    assert _error(refused.text) == "The address's unseen is “many”: it should be a whole number."
    path = client.get("/review/campaigns/first")
    assert path.status_code == 422
    assert _error(path.text) == "The address holds “first” where it should hold a whole number."


def test_a_customer_search_is_capped_with_a_clear_message(client, engine):
    """As long as the longest address or id a customer has (320 characters), on the page as through the API."""
    draft_id = _flagged_draft(client, engine)
    campaign_id = client.get(f"/drafts/{draft_id}").json()["campaign_id"]
    pasted = "x" * 5000
    refused = client.get(f"/review/campaigns/{campaign_id}", params={"customer": pasted})
    assert refused.status_code == 422
    said = "The address's customer is 5,000 characters long: it should be at most 320."
    assert _error(refused.text) == said and pasted not in refused.text
    assert client.get(f"/review/drafts/{draft_id}", params={"customer": pasted}).status_code == 422
    assert client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": pasted}).status_code == 422
    longest = "x" * 320  # still searched
    assert client.get(f"/review/campaigns/{campaign_id}", params={"customer": longest}).status_code == 200
    assert client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": longest}).json() == []
    assert 'name="customer" value="" maxlength="320"' in client.get(f"/review/campaigns/{campaign_id}").text


def test_a_parameter_given_twice_is_said_in_the_same_words(client):
    refused = client.get("/review/login?next=/review&next=/review/campaigns/1")
    assert refused.status_code == 422 and _error(refused.text) == "The address's next: given 2 times; give it once."
