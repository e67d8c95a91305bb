"""What a review-page audit on real data found a copywriter misreading or losing: a customer's language shown as a
bare code ("nb"), and "← campaign" from a draft going back to page 1 of all drafts, whatever list it was opened from."""

from __future__ import annotations

import re
from html import unescape


def _campaign_of(client, engine, locales: list[str]) -> tuple[int, list[int]]:
    """A campaign with a pending draft for a customer of each of ``locales``, flagged ones first in review order;
    the drafts' ids."""
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    body = {"name": "Languages", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        drafts = []
        for i, locale in enumerate(locales):
            customer = Customer(
                external_id=f"c{i:03d}", email=f"c{i:03d}@example.com", first_name=f"Name{i}", locale=locale,
                marketing_consent=True,
            )  # fmt: skip
            variant = Variant(label="A", subject=f"Subject {i}", html="<p>A</p>", text="A")
            drafts.append(Draft(campaign_id=campaign_id, customer=customer, status="flagged", flagged=True,
                                variants=[variant]))  # fmt: skip
        session.add_all(drafts)
        session.flush()
        return campaign_id, [draft.id for draft in drafts]


def test_a_customer_s_language_is_named_on_the_review_page(client, engine):
    campaign_id, (norwegian, unknown) = _campaign_of(client, engine, ["nb", "zz"])
    listing = unescape(client.get(f"/review/campaigns/{campaign_id}").text)
    assert "c000 · Norwegian Bokmål (nb)" in listing and "c001 · zz" in listing  # a code Babel does not know, as is
    draft = unescape(client.get(f"/review/drafts/{norwegian}").text)
    assert "c000@example.com · Norwegian Bokmål (nb) ·" in draft
    assert "c001@example.com · zz ·" in unescape(client.get(f"/review/drafts/{unknown}").text)


def test_a_draft_opened_from_a_filtered_page_of_the_list_leads_back_to_it(client, engine):
    campaign_id, ids = _campaign_of(client, engine, ["en"] * 105)
    listed = client.get(f"/review/campaigns/{campaign_id}", params={"status": "flagged", "page": 2}).text
    opened = re.search(r'<a href="(/review/drafts/(\d+)[^"]*)">', listed)
    assert opened and unescape(opened.group(1)) == f"/review/drafts/{opened.group(2)}?status=flagged&page=2"

    page = client.get(unescape(opened.group(1))).text
    back = re.search(r'id="back-to-campaign" href="([^"]+)"', page).group(1)
    assert unescape(back) == f"/review/campaigns/{campaign_id}?status=flagged&page=2"
    assert opened.group(2) in client.get(unescape(back)).text  # the list it was opened from, showing it
    following = re.search(r'id="next-to-review" href="([^"]+)"', page).group(1)
    assert unescape(following).endswith("?status=flagged&page=2")  # walking on keeps the way back

    searched = client.get(f"/review/drafts/{ids[0]}", params={"customer": " Name0 ", "status": "nonsense"}).text
    back = re.search(r'id="back-to-campaign" href="([^"]+)"', searched).group(1)
    assert unescape(back) == f"/review/campaigns/{campaign_id}?customer=Name0"  # a status no list has is left out
    plain = client.get(f"/review/drafts/{ids[0]}").text
    assert f'id="back-to-campaign" href="/review/campaigns/{campaign_id}">' in plain


def test_a_bulk_form_leads_back_to_the_list_it_was_sent_from(client, engine):
    """A copywriter working through the flagged drafts in order of customer approved the pending ones at once (or
    updated the drafts with the catalog's facts) and was put back on all the drafts in the usual order."""
    from service.db.models import Draft
    from service.db.session import session_scope
    from tests.service.test_review_page_audit import a_shown_product_changed

    campaign_id, ids = _campaign_of(client, engine, ["en"] * 3)
    with session_scope(engine) as session:
        for draft in (session.get(Draft, draft_id) for draft_id in ids[1:]):
            draft.status, draft.flagged, draft.selected_variant_id = "pending", False, draft.variants[0].id
    a_shown_product_changed(engine, ids[0])  # flagged: or the update with the catalog's facts is not offered
    listed = {"status": "flagged", "sort": "customer", "customer": " Name0 "}
    page = client.get(f"/review/campaigns/{campaign_id}", params=listed).text
    for form in ("approve-pending", "refresh-facts"):
        action = f"/review/campaigns/{campaign_id}/{form}"
        fields = re.search(rf'<form method="post" action="{action}".*?</form>', page, re.S)
        assert fields, form
        sent = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', fields.group(0)))
        done = client.post(action, data={k: unescape(v) for k, v in sent.items()}, follow_redirects=False)
        assert done.status_code == 303, done.text
        query = dict(re.findall(r"[?&](status|sort|customer|page)=([^&]*)", done.headers["location"]))
        assert query == {"status": "flagged", "customer": "Name0", "sort": "customer"}, done.headers["location"]
    assert client.get(f"/drafts/{ids[1]}").json()["status"] == "approved"  # and the form did what it does
