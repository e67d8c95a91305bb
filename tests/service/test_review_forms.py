"""The review page over HTTP: an edit meets the API's limits, a refused action comes back to the draft with what
went wrong, and other errors reach a person as a page with a way back, while the API keeps answering JSON."""

from __future__ import annotations

import json
import re
from html import escape, unescape

import pytest
from sqlalchemy import select

from generation.money import written_amount
from generation.render import format_price
from tests.service.conftest import trained_shop_with_campaign


def _is_page(response) -> bool:
    return response.headers["content-type"].startswith("text/html") and '{"error"' not in response.text


def test_page_edits_meet_the_apis_limits_and_refusals_show_the_draft(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    first, second = client.get(f"/campaigns/{campaign_id}/drafts").json()
    variant = next(v for v in first["variants"] if v["id"] == first["selected_variant_id"])
    form = f"/review/drafts/{first['id']}/variants/{variant['id']}/edit"

    for subject, words in (("", "Subject: cannot be empty"),
                           ("   ", "Subject: cannot be empty"),
                           ("x" * 500, "Subject: is longer than the 200 characters it may have")):  # fmt: skip
        response = client.post(form, data={"subject": subject, "preheader": "kept as typed"})
        assert response.status_code == 422 and _is_page(response)
        assert words in response.text and 'value="kept as typed"' in response.text  # nothing typed is lost
        assert client.get(f"/drafts/{first['id']}").json()["variants"] == first["variants"]  # nothing saved
    # a product line is named as the page labels it ("Line for …"), not as the API's product_lines[0]
    lines = ["", *variant["product_lines"][1:]]
    response = client.post(form, data={"subject": "Fine", "product_line": lines})
    first_product = escape(first["recommendations"][0]["name"])
    assert f"Line for {first_product}: cannot be empty" in response.text and "product_lines[0]" not in response.text
    # so is the list of lines as a whole, which read "product_lines: give one line for each ...", and its boxes marked
    response = client.post(form, data={"subject": "Fine", "product_line": [*variant["product_lines"], "One more"]})
    assert response.status_code == 422 and "product_lines" not in response.text
    assert f"Product lines: give one line for each of the email's {len(variant['product_lines'])} products" in (
        unescape(response.text)
    )
    lines_marked = re.findall(r'name="product_line"[^>]*aria-invalid="true"', response.text)
    assert len(lines_marked) == len(variant["product_lines"]) + 1

    client.post(f"/drafts/{second['id']}/reject", json={"comment": "done in the other tab"})
    stale = client.post(f"/review/drafts/{second['id']}/reject", data={"comment": "from a stale tab"})
    assert stale.status_code == 409 and _is_page(stale)
    assert f"Draft {second['id']} is already rejected" in stale.text and 'id="status">rejected' in stale.text


def test_errors_reach_a_person_as_a_page_with_a_way_back(client):
    campaign = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()
    came_from = f"/review/campaigns/{campaign['id']}"
    for url, status in (("/review/drafts/999", 404), ("/review/campaigns/999", 404), ("/review/drafts/nine", 422)):
        missing = client.get(url, headers={"Referer": f"{client.base_url}{came_from}"})
        assert missing.status_code == status and _is_page(missing), url
        assert f'href="{came_from}"' in missing.text and 'href="/review"' in missing.text
    assert "Draft 999 does not exist." in client.get("/review/drafts/999").text
    gone = client.post("/review/drafts/999/reject", data={"comment": "from a stale tab"})
    assert gone.status_code == 404 and _is_page(gone) and "Draft 999 does not exist." in gone.text

    api = client.get("/drafts/999")  # the API keeps its JSON
    assert api.status_code == 404
    assert api.json() == {"error": "NotFound", "message": "Draft 999 does not exist.", "problems": []}
    assert client.get("/campaigns/nine").json()["error"] == "InvalidRequest"


def test_the_campaign_page_pages_through_drafts_and_filters_them_by_status(client, engine):
    """The page showed at most the first 1,000 drafts, with no way to the rest and no filter."""
    import re

    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    body = {"name": "Big", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        for i in range(130):
            name = "Zofia" if i in (10, 20) else "Михаил" if i == 30 else "Łucja" if i == 40 else f"Name{i}"
            customer = Customer(
                external_id=f"p{i:03d}", email=f"p{i:03d}@example.com", first_name=name, marketing_consent=True
            )
            variant = Variant(label="A", subject=f"Subject {i}", html="<p>A</p>", text="A")
            status = "approved" if i < 7 else "pending"
            session.add(Draft(campaign_id=campaign_id, customer=customer, status=status, variants=[variant]))

    def rows(page: str) -> list[str]:
        return re.findall(r'<tr data-draft-id="(\d+)"', page)

    first = client.get(f"/review/campaigns/{campaign_id}")
    assert first.status_code == 200 and len(rows(first.text)) == 100 and 'id="next-page"' in first.text
    second = client.get(f"/review/campaigns/{campaign_id}", params={"page": 2})
    assert len(rows(second.text)) == 30 and 'id="previous-page"' in second.text and 'id="next-page"' not in second.text
    assert not set(rows(first.text)) & set(rows(second.text))
    approved = client.get(f"/review/campaigns/{campaign_id}", params={"status": "approved"})
    assert len(rows(approved.text)) == 7 and 'href="?status=approved" aria-current="page"' in approved.text
    assert client.get(f"/review/campaigns/{campaign_id}", params={"status": "aproved"}).status_code == 422
    past = client.get(f"/review/campaigns/{campaign_id}", params={"status": "approved", "page": 99}).text
    assert rows(past) == [] and 'Page 99 is past the last page of these drafts: <a href="?status=approved">' in past
    none = client.get(f"/review/campaigns/{campaign_id}", params={"status": "rejected"}).text  # was an empty table
    assert rows(none) == [] and "No draft of this campaign is rejected." in none

    # a customer who wrote in: their draft by id or by email (in any case), on the page and through the API
    found = client.get(f"/review/campaigns/{campaign_id}", params={"customer": "P042@Example.com"})
    assert len(rows(found.text)) == 1 and 'value="P042@Example.com"' in found.text
    by_id = client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": "P042"}).json()  # the id in any case
    assert [d["customer_id"] for d in by_id] == ["p042"] and rows(found.text) == [str(by_id[0]["id"])]
    by_name = client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": "zofia"}).json()  # a first name
    assert sorted(d["customer_id"] for d in by_name) == ["p010", "p020"]
    for typed, expected in (("Михаил", "p030"), ("михаил", "p030"), ("МИХАИЛ", "p030"), ("łucja", "p040")):
        found = client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": typed}).json()  # any alphabet
        assert [d["customer_id"] for d in found] == [expected], typed
    missing = client.get(f"/review/campaigns/{campaign_id}", params={"customer": "nobody"}).text
    assert rows(missing) == [] and 'id="no-such-customer"' in missing
    # a search keeps the status shown, and the page links keep the search
    searched = client.get(
        f"/review/campaigns/{campaign_id}", params={"status": "pending", "customer": "Łucja", "page": 2}
    )
    assert '<input type="hidden" name="status" value="pending">' in searched.text
    assert 'href="?page=1&amp;status=pending&amp;customer=%C5%81ucja"' in searched.text


def test_the_campaigns_page_pages_through_campaigns_newest_first(client, engine):
    """The page listed every campaign ever made, each with its counts and forecast computed."""
    import re

    from service.campaigns import create_campaign
    from service.db.models import Campaign
    from service.db.session import session_scope
    from service.routes.review.campaign_pages import CAMPAIGNS_PER_PAGE
    from service.schemas.campaigns import CampaignIn

    made = CAMPAIGNS_PER_PAGE + 3
    # made as POST /campaigns makes them, one after another, without its answer's counts and forecast (53 of them)
    for n in range(made):
        with session_scope(engine) as session:
            create_campaign(session, CampaignIn(name=f"Campaign {n}", brand="hearth", campaign_type="vip"))
    with session_scope(engine) as session:
        newest = max(session.scalars(select(Campaign.id)))

    def listed(page: str) -> list[int]:
        return [int(i) for i in re.findall(r'<a href="/review/campaigns/(\d+)">', page)]

    first = client.get("/review").text
    assert listed(first) == list(range(newest, newest - CAMPAIGNS_PER_PAGE, -1)) and 'id="older-page"' in first
    second = client.get("/review", params={"page": 2}).text
    assert listed(second) == [newest - CAMPAIGNS_PER_PAGE - i for i in range(3)]
    assert 'id="newer-page"' in second and 'id="older-page"' not in second


def test_a_page_of_campaigns_past_the_last_says_so_not_that_there_are_none(client):
    """A kept link to page 3 of two pages of campaigns said "No campaigns yet: create one", with campaigns made."""
    client.post("/campaigns", json={"name": "Campaign 0", "brand": "hearth", "campaign_type": "vip"})
    past = client.get("/review", params={"page": 3})
    assert past.status_code == 200 and "No campaigns yet" not in past.text
    assert 'id="past-the-end"' in past.text and "Page 3 is past the last page of campaigns" in past.text
    first = client.get("/review").text
    assert "Campaign 0" in first and 'id="past-the-end"' not in first


def test_a_campaign_form_s_address_opened_as_a_page_leads_to_the_campaign(client):
    """A bulk approval refused (a busy database, a session that had ended) left its page at the form's address,
    which opened again as a page said "does not take GET", as a draft's forms did before."""
    campaign_id = client.post("/campaigns", json={"name": "C", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    for action in ("approve-pending", "reapprove-late"):
        opened = client.get(f"/review/campaigns/{campaign_id}/{action}", follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == f"/review/campaigns/{campaign_id}", action
    assert "Experiment" in client.get(f"/review/campaigns/{campaign_id}/experiment").text  # its own page still


def test_a_full_last_page_of_campaigns_offers_no_older_page(client, monkeypatch):
    """A page holding exactly the campaigns a page shows, and none older, linked to an empty page of older ones
    with no test failing (only a second page of 3 was tried)."""
    import re

    monkeypatch.setattr("service.routes.review.campaign_pages.CAMPAIGNS_PER_PAGE", 3)
    for n in range(3):
        client.post("/campaigns", json={"name": f"Campaign {n}", "brand": "hearth", "campaign_type": "vip"})
    full = client.get("/review").text
    assert len(re.findall(r'<a href="/review/campaigns/(\d+)">', full)) == 3 and 'id="older-page"' not in full
    client.post("/campaigns", json={"name": "Campaign 3", "brand": "hearth", "campaign_type": "vip"})
    assert 'id="older-page"' in client.get("/review").text


def test_reviews_on_the_page_record_the_name_given_at_login(client, engine, api_key):
    """The page recorded the API key's name as the reviewer, so everyone sharing a key looked like one person; then
    it recorded the name alone, which anyone with the key could type."""
    from service.db.models import Customer, Draft, Review, Variant
    from service.db.session import session_scope

    campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="z1", email="z1@example.com", marketing_consent=True)
        draft = Draft(
            campaign_id=campaign_id,
            customer=customer,
            variants=[Variant(label="A", subject="Hi", html="<p>A</p>", text="A")],
        )
        session.add(draft)
        session.flush()
        draft_id = draft.id

    nameless = client.post("/review/login", data={"api_key": api_key, "reviewer": "  "})
    assert nameless.status_code == 422 and _is_page(nameless) and "Give your name" in nameless.text
    login = client.post(
        "/review/login", data={"api_key": api_key, "reviewer": "Zoë Łukasiewicz"}, follow_redirects=False
    )
    assert login.status_code == 303
    assert "reviewing as <bdi>Zoë Łukasiewicz</bdi>" in client.get("/review").text
    assert client.post(f"/review/drafts/{draft_id}/reject", data={"comment": "off brand"}).status_code in (200, 303)
    with session_scope(engine) as session:
        assert session.scalars(select(Review.reviewer).where(Review.draft_id == draft_id)).all() == ["Zoë Łukasiewicz"]
    # The name is only declared; the key that was checked goes with it (anyone holding a shared key can type any).
    (review,) = client.get(f"/drafts/{draft_id}").json()["reviews"]
    assert (review["key_prefix"], review["key_name"]) == (api_key[:10], "tests")
    assert (
        f'by <bdi>Zoë Łukasiewicz</bdi> <span class="muted">with the key <bdi>tests</bdi> ({api_key[:10]}…)</span>'
        in client.get(f"/review/drafts/{draft_id}").text
    )
    # A request with another key than the login's is that key's, not the signed-in person's.
    from service.auth import create_key

    with session_scope(engine) as session:
        integration = create_key(session, "crm")
    reopened = client.post(f"/drafts/{draft_id}/reopen", headers={"X-API-Key": integration}).json()["reviews"][-1]
    assert (reopened["reviewer"], reopened["key_name"]) == ("", "crm")
    client.post(f"/review/drafts/{draft_id}/reject", data={"comment": "no"}, headers={"X-API-Key": integration})
    with session_scope(engine) as session:
        last = session.scalars(select(Review).where(Review.draft_id == draft_id).order_by(Review.id.desc())).first()
        assert (last.action, last.reviewer, last.key_name) == ("reject", "crm", "crm")  # the key's name, not Zoë's


def test_the_preview_shows_the_inbox_line_and_no_template_syntax(client, demo_files, monkeypatch, engine):
    """The preview showed neither the subject nor the preheader a recipient sees first, showed the footer's
    `{{unsubscribe_url}}` placeholder as it is, and the campaign page showed a flagged draft's badge twice."""
    from service.db.models import Draft
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setenv("TAILOR_SMTP_SENDER", "Shop <news@shop.example>")  # the brand's own sender comes first
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    chosen = next(v for v in draft["variants"] if v["id"] == draft["selected_variant_id"])

    page = client.get(f"/review/drafts/{draft['id']}").text
    inbox = page.split('id="inbox"', 1)[1].split("</div>\n    <iframe", 1)[0]
    assert "Hearth &amp; Leaf &lt;hello@hearth.example&gt;" in inbox and draft["email"] in inbox
    assert escape(chosen["subject"]) in inbox and escape(chosen["preheader"]) in inbox
    assert "{{unsubscribe_url}}" in chosen["html"] and "unsubscribe_url" not in page
    assert "unsubscribe link</u>" in unescape(page.split('srcdoc="', 1)[1].split('"></iframe>', 1)[0])
    # the facts outside the preview (whose links the sandbox does not open): each product's sku, price and page
    facts = unescape(page.split('id="facts"', 1)[1].split("</div>", 1)[0])
    for product in draft["recommendations"]:
        sku = f'<span class="muted">{product["product_id"]}</span>'
        price = format_price(product["price"], product["currency"], draft["locale"])  # as the email writes it
        assert f"<bdi>{product['name']}</bdi> {sku} — {price}" in facts  # isolated for right-to-left names
        link = f'<a href="{product["url"]}" target="_blank" rel="noopener noreferrer">product page'
        assert (
            f'{link}<span class="visually-hidden"> of <bdi>{product["name"]}</bdi> (opens in a new tab)</span></a>'
            in facts
        )
    assert ('id="offer"' in facts) is bool(draft["offer"])
    with session_scope(engine) as session:  # a win-back's offer, shown with its code
        session.get(Draft, draft["id"]).offer = {"kind": "percent_off", "value": 20.0, "code": "COMEBACK20"}
    shown = client.get(f"/review/drafts/{draft['id']}").text
    assert '<p id="offer">Offer: 20 % off, code <code>COMEBACK20</code></p>' in shown
    with session_scope(engine) as session:  # an amount off: with its currency, as the email writes it ("5.00 off")
        session.get(Draft, draft["id"]).offer = {"kind": "amount_off", "value": 5.0, "code": "FIVE"}
    currency = draft["recommendations"][0]["currency"]
    five = written_amount(5, currency, draft["locale"], 0)
    assert (
        f'<p id="offer">Offer: {five} off, code <code>FIVE</code></p>'
        in client.get(f"/review/drafts/{draft['id']}").text
    )

    # any variant can be previewed, and an edit comes back to the email it changed
    other = next(v for v in draft["variants"] if v["id"] != chosen["id"])
    page = client.get(f"/review/drafts/{draft['id']}", params={"preview": other["id"]}).text
    assert f"Preview: variant {other['label']} (not chosen) · " in page and "show the chosen one</a>" in page
    assert escape(other["subject"]) in page.split('id="inbox"')[1]
    assert f'href="/review/drafts/{draft["id"]}?preview={other["id"]}"' not in page  # no link to itself
    edited = client.post(
        f"/review/drafts/{draft['id']}/variants/{other['id']}/edit",
        data={"subject": "A new subject", "preheader": other["preheader"], "intro": other["intro"]},
        follow_redirects=False,
    )
    assert edited.headers["location"] == f"/review/drafts/{draft['id']}?done=saved&preview={other['id']}"
    after = client.get(edited.headers["location"]).text
    assert '<strong lang="en">A new subject</strong>' in after  # in the preview's inbox line
    # said, for a screen reader too: the page came back with no word
    assert f'id="done" role="status">Your edit of variant {other["label"]} is saved; the preview shows it.' in after
    # a kept link, or one opened after someone else acted, says nothing that is not so (review)
    for stale in ({"done": "approved"}, {"done": "rejected"}, {"done": "saved"}, {"done": "saved", "preview": 999}):
        assert 'id="done"' not in client.get(f"/review/drafts/{draft['id']}", params=stale).text, stale
    missing = client.get(f"/review/drafts/{draft['id']}", params={"preview": 999}).text  # not its variant
    assert f"Preview: variant {chosen['label']} (chosen)" in missing

    with session_scope(engine) as session:
        flagged = session.get(Draft, draft["id"])
        flagged.status, flagged.flagged, flagged.flag_reasons = "flagged", True, ["a reason"]
    listing = client.get(f"/review/campaigns/{campaign_id}").text
    assert listing.count('class="badge flagged"') == 1  # one badge, saying why
    # ... in words a sighted reviewer reads in the list too: they were a tooltip (no hover on a touch screen) and a
    # screen reader's text alone
    why = '<span class="visually-hidden">:</span> <small class="muted flag-reasons">a reason</small>'
    assert f'<span class="badge flagged">flagged</span>{why}' in listing and 'title="a reason"' not in listing
    with session_scope(engine) as session:  # approved despite its flag: the flag's reasons were a tooltip alone
        session.get(Draft, draft["id"]).status = "approved"
    listing = client.get(f"/review/campaigns/{campaign_id}").text
    assert '<span class="badge approved">approved</span>' in listing
    assert f' <span class="badge flagged">flagged</span>{why}' in listing and 'title="a reason"' not in listing


def test_the_campaign_page_says_when_drafts_are_still_being_written_or_generation_stopped(client, engine):
    """The page showed a campaign being generated, or one whose generation failed, as if its list were complete."""
    from service.db.models import Campaign
    from service.db.session import session_scope

    body = {"name": "Spring", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    for status, note, asks_again in (
        ("generating", "Drafts are still being written", True),
        ("failed", f"POST /campaigns/{campaign_id}/generate</code> writes the others again", False),
        ("ready", None, False),
    ):
        with session_scope(engine) as session:
            session.get(Campaign, campaign_id).status = status
        page = client.get(f"/review/campaigns/{campaign_id}").text
        assert f'id="campaign-status">{status}</span>' in page
        assert (note in page) if note else 'id="campaign-note"' not in page
        # it asks for itself in the background: a reload every 15 s lost what was typed and the focus
        assert '<meta http-equiv="refresh"' not in page and ('id="written-so-far"' in page) is asks_again
        assert '<li id="drafts-total">drafts 0</li>' in page  # the figures a list, not one run-on line read aloud


def test_the_campaign_page_approves_the_pending_drafts_at_once(client, demo_files, monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    pending = len(client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json())
    assert pending
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert f"Approve the {pending} pending draft" in page and 'id="approve-pending"' in page

    done = client.post(
        f"/review/campaigns/{campaign_id}/approve-pending", data={"comment": "checked a sample"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert (
        done.headers["location"]
        == f"/review/campaigns/{campaign_id}?approved={pending}&changed=0&out_of_date=0&unseen=0"
    )
    approved = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "approved"}).json()
    assert len(approved) == pending and all(d["reviews"][0]["comment"] == "checked a sample" for d in approved)
    page = client.get(done.headers["location"]).text
    assert 'id="approve-pending"' not in page  # nothing pending is left
    assert f"Approved {pending} pending draft" in page and 'role="status"' in page  # it reloaded with no word
    link = f'id="export-approved" href="/campaigns/{campaign_id}/export?status=approved"'
    assert link in page

    from fastapi.testclient import TestClient

    browser = TestClient(client.app)  # the login cookie alone, as a browser following the link has (the app runs)
    assert browser.get(f"/campaigns/{campaign_id}/export").status_code == 401
    browser.post("/review/login", data={"api_key": client.headers["X-API-Key"], "reviewer": "Ola"})
    download = browser.get(f"/campaigns/{campaign_id}/export", params={"status": "approved"})
    assert download.status_code == 200
    assert {json.loads(line)["draft_id"] for line in download.text.splitlines()} == {d["id"] for d in approved}
    # and the chosen variant alone, for a sender that mails every line it is given (once per variant, above)
    assert f'id="export-selected" href="/campaigns/{campaign_id}/export?status=approved&amp;selected_only=true"' in page
    selected = browser.get(f"/campaigns/{campaign_id}/export", params={"status": "approved", "selected_only": True})
    lines = [json.loads(line) for line in selected.text.splitlines()]
    assert sorted((line["draft_id"], line["variant_id"]) for line in lines) == sorted(
        (d["id"], d["selected_variant_id"]) for d in approved
    )


def test_the_campaign_page_offers_no_download_the_export_refuses_while_drafts_are_written(
    client, demo_files, engine, monkeypatch
):
    """GET /campaigns/{id}/export refuses (409) a campaign being generated: while one with approved drafts was being
    generated again, its page still offered "download (JSON lines)", and the link gave the reviewer the 409."""
    from service.db.models import Campaign
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    client.post(f"/campaigns/{campaign_id}/drafts/approve", json={"comment": "checked"})
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "generating"  # as while it is generated again
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "approved 0" not in page
    assert client.get(f"/campaigns/{campaign_id}/export", params={"status": "approved"}).status_code == 409
    assert 'id="export-approved"' not in page
    assert "download once the drafts are written" in page
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).status = "ready"
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert 'id="export-approved"' in page and "download once" not in page
    assert 'id="export-selected"' in page
    with session_scope(engine) as session:
        session.get(Campaign, campaign_id).holdout_share = 0.2  # an experiment chooses its variants as it sends
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert 'id="export-approved"' in page and 'id="export-selected"' not in page


def test_a_draft_page_leads_to_the_next_draft_waiting_for_review(client, demo_files, engine, monkeypatch):
    """Reviewing meant going back to the campaign after every draft to find the next one."""
    from service.db.models import Draft
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    first, second, third = client.get(f"/campaigns/{campaign_id}/drafts").json()  # the page's order
    with session_scope(engine) as session:
        session.get(Draft, third["id"]).flagged = True  # flagged drafts come first
        session.get(Draft, third["id"]).status = "flagged"

    def next_of(draft_id: int) -> str:
        return client.get(f"/review/drafts/{draft_id}").text.split('id="next-to-review"', 1)[1][:80]

    assert next_of(first["id"]).startswith(f' href="/review/drafts/{second["id"]}">next to review')
    assert next_of(second["id"]).startswith(f' href="/review/drafts/{third["id"]}">')  # past the last, the first
    assert "2 waiting besides this one" in client.get(f"/review/drafts/{first['id']}").text
    client.post(f"/drafts/{third['id']}/reject", json={"comment": "no"})
    assert next_of(first["id"]).startswith(f' href="/review/drafts/{second["id"]}">')
    client.post(f"/drafts/{second['id']}/approve", json={})
    assert next_of(first["id"]).startswith(">no other draft of this campaign waits for review")


def test_next_to_review_walks_on_past_the_drafts_left_waiting(client, demo_files, monkeypatch):
    """A copywriter who moved on without acting (a draft left for a colleague, or to think about) was led back to
    it: "next to review" named the first draft waiting besides the one shown, so from the second draft it led to the
    first again, and the third was never reached. It leads to the next one waiting in the page's order, and past the
    last one back to the first."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    in_order = [draft["id"] for draft in client.get(f"/campaigns/{campaign_id}/drafts").json()]  # the page's order
    walked = [in_order[0]]
    for _ in in_order:
        page = client.get(f"/review/drafts/{walked[-1]}").text
        walked.append(int(re.search(r'id="next-to-review" href="/review/drafts/(\d+)"', page).group(1)))
    assert walked == [*in_order, in_order[0]]


def test_a_refused_approval_or_rejection_keeps_the_comment_typed(client, demo_files, monkeypatch):
    """An approval refused for a failed check, or any action that met a database busy with an import, came back
    with the comment box empty: a reviewer's reason, typed at length, was lost."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from service import drafts as draft_ops

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    chosen = draft["selected_variant_id"]
    client.patch(f"/drafts/{draft['id']}/variants/{chosen}", json={"subject": "70% off everything, today only!!!"})

    refused = client.post(f"/review/drafts/{draft['id']}/approve", data={"comment": "legal cleared the 70%"})
    assert refused.status_code == 409 and 'name="comment" value="legal cleared the 70%"' in refused.text

    def locked(*args, **kwargs):
        raise OperationalError("UPDATE drafts ...", {}, sqlite3.OperationalError("database is locked"))

    monkeypatch.setattr(draft_ops, "reject", locked)
    busy = client.post(f"/review/drafts/{draft['id']}/reject", data={"comment": "too loud for this segment"})
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "30"
    assert "The database is busy with another write" in busy.text
    assert 'name="comment" value="too loud for this segment"' in busy.text
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "flagged"  # nothing was done


def test_a_refused_approval_keeps_the_variant_and_the_override_chosen(client, demo_files, monkeypatch):
    """A refused approval came back with the radio on the draft's chosen variant and the override box clear: a
    reviewer who then typed the missing comment and clicked Approve approved another email than they had picked."""
    import re

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    draft = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]
    other = next(v["id"] for v in draft["variants"] if v["id"] != draft["selected_variant_id"])
    client.patch(f"/drafts/{draft['id']}/variants/{other}", json={"subject": "70% off everything, today only!!!"})

    def checked_radio(page: str) -> int:
        [value] = re.findall(r'<input type="radio" name="variant_id" value="(\d+)" checked>', page)
        return int(value)

    url = f"/review/drafts/{draft['id']}/approve"
    refused = client.post(url, data={"variant_id": other, "comment": ""})
    assert refused.status_code == 409 and checked_radio(refused.text) == other
    assert 'name="override_checks" value="true" checked' not in refused.text
    no_reason = client.post(url, data={"variant_id": other, "override_checks": "true", "comment": " "})
    assert no_reason.status_code == 422 and checked_radio(no_reason.text) == other
    assert 'name="override_checks" value="true" checked' in no_reason.text
    assert client.get(f"/drafts/{draft['id']}").json()["status"] in ("pending", "flagged")  # neither approved it
    fresh = client.get(f"/review/drafts/{draft['id']}").text  # a new visit starts from the draft's chosen variant
    assert checked_radio(fresh) == draft["selected_variant_id"]


def test_login_comes_back_to_the_page_asked_for_and_review_pages_are_not_stored(client, api_key):
    """The address the demo prints (a campaign's page) led to the login and then to the campaigns list; and after
    Sign out, the browser's Back button showed the last draft again from its cache."""
    campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    client.headers.pop("X-API-Key", None)
    client.headers.pop("Authorization", None)
    wanted = f"/review/campaigns/{campaign_id}?status=pending"
    sent_away = client.get(wanted, follow_redirects=False)
    assert sent_away.status_code == 303
    assert (
        sent_away.headers["location"] == f"/review/login?next=%2Freview%2Fcampaigns%2F{campaign_id}%3Fstatus%3Dpending"
    )
    form = client.get(sent_away.headers["location"]).text
    assert f'name="next" value="{escape(wanted)}"' in form
    login = client.post(
        "/review/login", data={"api_key": api_key, "reviewer": "Ann", "next": wanted}, follow_redirects=False
    )
    assert login.status_code == 303 and login.headers["location"] == wanted
    for elsewhere in ("https://evil.example/review/x", "//evil.example/review", "/campaigns/1", ""):
        login = client.post(
            "/review/login", data={"api_key": api_key, "reviewer": "Ann", "next": elsewhere}, follow_redirects=False
        )
        assert login.headers["location"] == "/review", elsewhere

    page = client.get(wanted)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert client.get("/health").headers["cache-control"] == "no-store"  # the API's too (service.cache_control)


def test_a_page_of_another_origin_cannot_act_for_a_signed_in_reviewer_nor_frame_the_page(client, engine, api_key):
    """A page on another port of the same host (the same site, so the SameSite=Strict cookie went along) approved
    every pending draft in the reviewer's name with one hidden form, sent a campaign through the API with the
    cookie alone, and showed the draft page in an iframe."""
    from fastapi.testclient import TestClient

    campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    browser = TestClient(client.app)
    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Alice"})
    elsewhere = {"Origin": "http://testserver:9105"}
    forged = browser.post(
        f"/review/campaigns/{campaign_id}/approve-pending", data={"comment": "csrf"}, headers=elsewhere
    )
    assert forged.status_code == 403 and _is_page(forged)  # a page, as every error of the review page: it was JSON
    # refused outside the middleware that gave review pages their headers: this page could be cached and framed
    assert forged.headers["x-frame-options"] == "DENY" and forged.headers["cache-control"] == "no-store"
    too_big = browser.post(
        f"/review/campaigns/{campaign_id}/approve-pending", content=b"x", headers={"Content-Length": str(2**30)}
    )
    assert too_big.status_code == 413 and too_big.headers["x-frame-options"] == "DENY", too_big.headers
    assert (
        "This request came from a page of another origin (http://testserver:9105), not from this server's own "
        "address (testserver): it is refused. Behind a proxy"
    ) in unescape(forged.text)
    by_referer = {"Referer": "http://testserver:9105/csrf.html"}
    assert browser.post(f"/campaigns/{campaign_id}/send", headers=by_referer).status_code == 403
    assert browser.post(f"/campaigns/{campaign_id}/send", headers={"Origin": "null"}).status_code == 403
    mine = {"comment": "mine", "reviewing_as": "Alice"}  # as the page's own form sends it, naming its reviewer
    ours = browser.post(
        f"/review/campaigns/{campaign_id}/approve-pending", data=mine,
        headers={"Origin": "http://testserver"}, follow_redirects=False,
    )  # fmt: skip
    assert ours.status_code == 303  # the page's own form
    proxied = browser.post(
        f"/review/campaigns/{campaign_id}/approve-pending", data=mine, follow_redirects=False,
        headers={"Origin": "https://mail.shop.example", "X-Forwarded-Host": "mail.shop.example"},
    )  # fmt: skip
    assert proxied.status_code == 303  # behind a proxy that rewrote Host and said so
    api_client = client.post(
        "/campaigns", json={"name": "y", "brand": "hearth", "campaign_type": "vip"}, headers=elsewhere
    )
    assert api_client.status_code == 201  # a tool with its own key, no cookie: nothing of a reviewer's to borrow
    page = browser.get(f"/review/campaigns/{campaign_id}")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # a search puts a customer's email in the page's address, which a product link would have told the shop's site
    searched = browser.get(f"/review/campaigns/{campaign_id}", params={"customer": "ann@example.com"})
    assert searched.headers["referrer-policy"] == "same-origin"
    assert searched.headers["x-content-type-options"] == "nosniff"


def test_the_login_cookie_is_secure_when_the_page_is_reached_over_https(client, api_key):
    """The cookie holds a session token, a bearer secret: reached over https (here through a proxy that says so), it
    must never go out over plain http; on a loopback http address it cannot be Secure, or the browser would drop
    it."""
    plain = client.post("/review/login", data={"api_key": api_key, "reviewer": "Ann"}, follow_redirects=False)
    assert all("secure" not in cookie.lower() for cookie in plain.headers.get_list("set-cookie"))
    proxied = client.post(
        "/review/login", data={"api_key": api_key, "reviewer": "Ann"}, follow_redirects=False,
        headers={"X-Forwarded-Proto": "https"},
    )  # fmt: skip
    cookies = proxied.headers.get_list("set-cookie")
    assert len(cookies) == 1 and all(
        "; secure" in cookie.lower() and "httponly" in cookie.lower() for cookie in cookies
    )


def test_the_login_cookie_holds_a_session_that_sign_out_revocation_and_time_end(client, engine, api_key):
    """The cookie used to hold the API key itself: a copy of it (a shared computer, a leaked cookie jar) opened the
    whole API until the key was revoked, and Sign out only asked the browser to forget it."""
    from datetime import timedelta

    from fastapi.testclient import TestClient

    from service.auth import SESSION_HOURS, create_key
    from service.db.models import ReviewSession
    from service.db.session import session_scope

    browser = TestClient(client.app)
    login = browser.post("/review/login", data={"api_key": api_key, "reviewer": "Ann"}, follow_redirects=False)
    token = browser.cookies["tailor_session"]
    assert api_key not in login.headers["set-cookie"] and token.startswith("rs_")
    assert f"Max-Age={SESSION_HOURS * 3600}" in login.headers["set-cookie"]
    with session_scope(engine) as session:
        stored = session.scalars(select(ReviewSession)).one()
        assert stored.token_hash != token and stored.reviewer == "Ann"
        assert stored.expires_at - stored.created_at == timedelta(hours=SESSION_HOURS)
    assert browser.get("/campaigns").status_code == 200  # the page's fetches and the API take the session

    kept = {"tailor_session": token}
    assert browser.post("/review/logout", follow_redirects=False).status_code == 303
    after = TestClient(client.app, cookies=kept).get("/campaigns")
    assert after.status_code == 401 and after.json()["message"].startswith("This review session has ended")
    assert TestClient(client.app, cookies=kept).get("/review", follow_redirects=False).status_code == 303

    with session_scope(engine) as session:  # a key of its own, revoked while its session is open
        other = create_key(session, "temp")
    browser.post("/review/login", data={"api_key": other, "reviewer": "Bo"})
    assert browser.get("/campaigns").status_code == 200
    with session_scope(engine) as session:
        from service.auth import revoke_key

        revoke_key(session, other)
    assert browser.get("/campaigns").status_code == 401

    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Cy"})
    assert browser.get("/campaigns").status_code == 200
    with session_scope(engine) as session:
        for row in session.scalars(select(ReviewSession)):
            row.expires_at = row.created_at  # as if SESSION_HOURS had gone by
    assert browser.get("/campaigns").status_code == 401
    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Di"})
    with session_scope(engine) as session:  # the sessions that had ended are gone
        assert [row.reviewer for row in session.scalars(select(ReviewSession))] == ["Di"]

    # Eve logs in at Di's desk: Di's session ends, not only its cookie (a copy of it signed in as Di for 12 hours)
    dis = {"tailor_session": browser.cookies["tailor_session"]}
    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Eve"})
    assert TestClient(client.app, cookies=dis).get("/campaigns").status_code == 401
    assert browser.get("/campaigns").status_code == 200


def test_the_campaign_page_tells_todays_segment_from_the_reason_written_with_the_draft(client, engine):
    """A customer refreshed from loyal to at risk after the drafts were written showed "at_risk" beside "loyal
    (...)" under "Segment" and "Why in the audience", as if the two disagreed."""
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    campaign_id = client.post("/campaigns", json={"name": "x", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="s1", email="s1@example.com", marketing_consent=True, segment="loyal")
        session.add(Draft(
            campaign_id=campaign_id, customer=customer, audience_reason="loyal (buy often): last order 12 days ago",
            variants=[Variant(label="A", subject="Hi", html="<p>A</p>", text="A")],
        ))  # fmt: skip
    with session_scope(engine) as session:
        session.scalars(select(Customer).where(Customer.external_id == "s1")).one().segment = "at_risk"
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert '<th scope="col">Segment today</th><th scope="col">Why in the audience, when written</th>' in page
    assert "<td>at risk</td>" in page and "loyal (buy often): last order 12 days ago" in page


def test_what_a_copywriter_typed_or_must_know_is_on_the_page(client, demo_files, engine, monkeypatch):
    """From an audit in a real browser: a comment typed on a draft someone approved meanwhile was lost, and the
    refusal named nobody; a 6,000-character comment was recorded where the API takes 5,000; the draft page gave no
    sign that the catalog had changed until Approve was refused; the status links dropped the customer search."""
    import re

    from fastapi.testclient import TestClient

    from service.db.models import Product
    from service.db.session import session_scope

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    draft = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()[0]
    page = f"/review/drafts/{draft['id']}"

    long = client.post(f"{page}/reject", data={"comment": "x" * 6000, "expected_revision": draft["revision"]})
    assert long.status_code == 422 and "at most 5,000" in unescape(long.text)
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "pending"  # nothing recorded

    ann = TestClient(client.app)
    ann.post("/review/login", data={"api_key": client.headers["X-API-Key"], "reviewer": "Ann"})
    approval = {"expected_revision": draft["revision"], "reviewing_as": "Ann"}  # the name her page showed
    assert ann.post(f"{page}/approve", data=approval).status_code == 200
    carl = client.post(
        f"{page}/reject", data={"comment": "carl's long reason for rejecting", "expected_revision": draft["revision"]}
    )
    text = unescape(carl.text)
    said = re.search(r'id="error">([^<]*)<', text).group(1)
    assert carl.status_code == 409 and "(Ann approved it)" in said, said  # who changed it, not only "already approved"
    assert 'id="typed-comment">carl\'s long reason for rejecting</textarea>' in text  # to copy from

    other = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()[0]
    shown = other["recommendations"][0]
    with session_scope(engine) as session:
        session.query(Product).filter(Product.sku == shown["product_id"]).update({"price": shown["price"] + 5})
    warned = client.get(f"/review/drafts/{other['id']}").text
    assert 'id="out-of-date"' in warned and "The catalog has changed since this email was written" in warned

    listing = client.get(f"/review/campaigns/{campaign_id}", params={"customer": "Hannah"}).text
    assert '<a href="?status=pending&amp;customer=Hannah"' in listing or "?status=pending&customer=Hannah" in listing
    assert 'type="password" id="api_key"' in client.get("/review/login").text  # a key is not shown as typed


def test_the_outline_of_what_takes_input_can_be_seen():
    """Fields and buttons were outlined in #dfe3ea on white, 1.3:1; WCAG 1.4.11 asks 3:1 of a control's outline."""
    import re
    from pathlib import Path

    css = (Path(__file__).parents[2] / "service/review/static/review.css").read_text(encoding="utf-8")
    control = re.search(r"--control:#([0-9a-f]{6})", css).group(1)

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert 1.05 / (luminance(control) + 0.05) >= 3
    for selector in ("\ninput[type=text], input[type=password], textarea {", "\nbutton {", "input[type=search] {"):
        rule = css[css.index(selector) :].split("}")[0]
        assert "border:1px solid var(--control)" in rule, selector


def test_an_action_on_a_draft_replaced_meanwhile_leads_to_the_customer_s_new_draft(client, demo_files, monkeypatch):
    """Generating the campaign again replaced the draft a reviewer had open; their Approve ended on "Draft 50 does
    not exist", the comment lost, and nothing said where the customer's new draft was."""
    from tests.service.conftest import wait_for_job

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    old = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()[0]
    page = client.get(f"/review/drafts/{old['id']}").text
    assert (
        f'name="customer_id" value="{old["customer_id"]}"' in page
        and f'name="campaign_id" value="{campaign_id}"' in page
    )
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/generate").json()["job_id"])
    assert job["status"] == "succeeded"
    assert client.get(f"/drafts/{old['id']}").status_code == 404  # replaced

    form = {"comment": "checked the prices", "expected_revision": 0, "campaign_id": campaign_id,
            "customer_id": old["customer_id"]}  # fmt: skip
    answer = client.post(f"/review/drafts/{old['id']}/approve", data=form)
    text = unescape(answer.text)
    new = next(
        d for d in client.get(f"/campaigns/{campaign_id}/drafts").json() if d["customer_id"] == old["customer_id"]
    )
    assert answer.status_code == 409 and f"Draft {old['id']} was replaced when campaign {campaign_id}" in text
    assert "<h1>Draft for" in text and f'action="/review/drafts/{new["id"]}/approve"' in text
    assert 'name="comment" value="checked the prices"' in text  # what they typed, in the new draft's form
    assert new["status"] == "pending"  # nothing was done
    gone = client.post(f"/review/drafts/{old['id']}/approve", data={"comment": "x"})  # a form without whose draft
    assert gone.status_code == 404


def test_the_review_page_stays_under_a_proxy_s_path_prefix(engine, api_key):
    """Behind a proxy that serves Tailor under /mail (``uvicorn --root-path /mail``), the page's links, forms,
    stylesheet and redirects were root-absolute (/review/..., /static/...): the login led out of the prefix, to
    whatever the proxy serves at /review, and the page came without its stylesheet."""
    import re

    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    def addresses(page: str) -> list[str]:
        """Every address the page links to, posts to or loads, that names a path from the server's root."""
        return [a for a in re.findall(r'(?:href|action|src)="([^"]*)"', page) if a.startswith("/")]

    def stays(response) -> str:
        assert response.status_code in (200, 401), (response.status_code, response.text[:300])
        outside = [a for a in addresses(response.text) if not a.startswith("/mail/")]
        assert addresses(response.text) and not outside, outside
        return response.text

    with TestClient(create_app(engine), root_path="/mail", follow_redirects=False) as browser:
        made = {"name": "Prefixed", "brand": "hearth", "campaign_type": "vip", "holdout_share": 0.1}
        campaign_id = browser.post("/mail/campaigns", json=made, headers={"X-API-Key": api_key}).json()["id"]
        with session_scope(engine) as session:
            customer = Customer(
                external_id="pre-1", email="pre-1@example.com", first_name="Ada", marketing_consent=True
            )
            variants = [Variant(label=label, subject=f"Subject {label}", html="<p>A</p>", text="A") for label in "AB"]
            draft = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=variants)
            session.add(draft)
            session.flush()
            draft_id = draft.id
        page = f"/mail/review/drafts/{draft_id}"

        assert browser.get("/mail/review").headers["location"] == "/mail/review/login"
        asked = browser.get(page).headers["location"]
        assert asked.startswith("/mail/review/login?next="), asked
        login = stays(browser.get(asked))
        assert 'href="/mail/static/review.css"' in login and browser.get("/mail/static/review.css").status_code == 200
        next_page = re.search(r'name="next" value="([^"]*)"', login)[1]
        signed_in = browser.post("/mail/review/login", data={"api_key": api_key, "reviewer": "Ada", "next": next_page})
        assert signed_in.headers["location"] == page

        for shown in ("/mail/review", f"/mail/review/campaigns/{campaign_id}", page, f"{page}?preview=1",
                      f"/mail/review/campaigns/{campaign_id}/experiment"):  # fmt: skip
            stays(browser.get(shown))
        missing = browser.get("/mail/review/drafts/999", headers={"Referer": f"http://testserver{page}"})
        assert missing.status_code == 404 and f'href="{page}"' in missing.text  # the way back, under the prefix
        assert 'href="/mail/review"' in missing.text

        assert browser.get(f"{page}/approve").headers["location"] == page  # a form's address opened as a page
        rejected = browser.post(f"{page}/reject", data={"comment": "no", "reviewing_as": "Ada"})
        assert rejected.headers["location"] == f"{page}?done=rejected"
        reopened = browser.post(f"{page}/reopen", data={"reviewing_as": "Ada"})
        assert reopened.headers["location"] == f"{page}?done=reopened"
        approved = browser.post(f"/mail/review/campaigns/{campaign_id}/approve-pending", data={"reviewing_as": "Ada"})
        assert (
            approved.headers["location"]
            == f"/mail/review/campaigns/{campaign_id}?approved=0&changed=0&out_of_date=0&unseen=0"
        )
        assert browser.post("/mail/review/logout").headers["location"] == "/mail/review/login"

        # a form sent after the session ended is carried through the login and offered again, under the prefix
        ended = browser.post(f"{page}/reject", data={"comment": "after signing out"})
        assert ended.status_code == 401 and 'name="carried"' in stays(ended)
        carried = re.search(r'name="carried" value="([^"]*)"', ended.text)[1]
        offered = browser.post(
            "/mail/review/login",
            data={"api_key": api_key, "reviewer": "Ada", "next": page, "carried": unescape(carried)},
        )
        assert offered.status_code == 303 and offered.headers["location"] == "/mail/review/resend"
        assert f'action="{page}/reject"' in stays(browser.get(offered.headers["location"]))


def test_a_root_path_set_for_tailor_serve_reaches_the_page_and_the_api_s_job_addresses(engine, api_key, monkeypatch):
    """`tailor serve` had no way to take a proxy's prefix (only a hand-run ``uvicorn --root-path`` did), the API's
    job addresses (``status_url``) left it out, a prefix written with a slash at its end made every link
    "/mail//review", and an error page's way back lost the list's filter."""
    import pydantic
    import pytest
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.settings import ApiSettings, environment_problem

    monkeypatch.setenv("TAILOR_API_ROOT_PATH", "/mail/")
    with TestClient(create_app(engine), follow_redirects=False) as browser:
        for asked in ("/review", "/mail/review"):  # a proxy that strips the prefix, and one that passes it on
            assert browser.get(asked).headers["location"] == "/mail/review/login", asked
        login = browser.get("/review/login").text
        assert 'href="/mail/static/review.css"' in login and 'action="/mail/review/login"' in login
        assert '<link rel="icon" href="data:,">' in login  # no request for /favicon.ico outside the prefix
        started = browser.post("/mail/train", headers={"X-API-Key": api_key})
        assert started.status_code == 202 and started.json()["status_url"].startswith("/mail/jobs/"), started.text
        browser.post("/review/login", data={"api_key": api_key, "reviewer": "Ada", "next": "/review"})
        filtered = "http://testserver/mail/review/campaigns/1?status=pending&page=2"
        missing = browser.get("/mail/review/drafts/999", headers={"Referer": filtered})
        assert 'href="/mail/review/campaigns/1?status=pending&amp;page=2"' in missing.text

    monkeypatch.setenv("TAILOR_API_ROOT_PATH", "mail")
    with pytest.raises(pydantic.ValidationError) as refused:
        ApiSettings()
    assert "TAILOR_API_ROOT_PATH='mail': must be a path such as /mail" in environment_problem(refused.value)


def test_a_screen_reader_hears_whose_draft_a_link_opens_and_the_status_as_one(client, engine):
    """The drafts list's links read the first name alone ("Ada", "Ada", "Ada" in a screen reader's list of links),
    and a heading read "Draft for Ada pending"."""
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    campaign_id = client.post("/campaigns", json={"name": "Ada's", "brand": "hearth", "campaign_type": "vip"}).json()
    campaign_id = campaign_id["id"]
    with session_scope(engine) as session:
        for external_id, name in (("a-1", "Ada"), ("a-2", "Ada"), ("a-3", "")):
            customer = Customer(external_id=external_id, email=f"{external_id}@example.com", first_name=name)
            variant = Variant(label="A", subject="Hi", html="<p>A</p>", text="A")
            session.add(Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant]))
    listed = client.get(f"/review/campaigns/{campaign_id}").text
    for external_id in ("a-1", "a-2"):
        assert f'><bdi>Ada</bdi><span class="visually-hidden"> ({external_id})</span></a>' in listed
    assert "><bdi>a-3</bdi></a>" in listed  # no name: the id alone, once
    assert '<span class="visually-hidden">status:</span> <span class="badge created" id="campaign-status">' in listed
    draft_id = client.get(f"/campaigns/{campaign_id}/drafts").json()[0]["id"]
    assert (
        '<span class="visually-hidden">status:</span> <span class="badge pending" id="status">'
        in client.get(f"/review/drafts/{draft_id}").text
    )


@pytest.mark.parametrize("root", ["/почта", "/ma%20il", "/ma\til", "/mail/../x", "mail"])
def test_a_root_path_a_proxy_could_not_pass_on_as_it_is_written_is_refused_naming_the_setting(root, monkeypatch):
    """A root path in another alphabet broke every request (the raw path is ASCII), and one with an escape or a
    tab matched no request: told at start, by name."""
    import pydantic

    from service.settings import ApiSettings, environment_problem

    monkeypatch.setenv("TAILOR_API_ROOT_PATH", root)
    with pytest.raises(pydantic.ValidationError) as refused:
        ApiSettings()
    assert "TAILOR_API_ROOT_PATH=" in environment_problem(refused.value)
    monkeypatch.setenv("TAILOR_API_ROOT_PATH", "/shop-1/mail.v2/")
    assert ApiSettings().root_path == "/shop-1/mail.v2"


def test_a_bulk_approval_leaves_the_drafts_changed_after_its_page_was_read(client, demo_files, monkeypatch):
    """Bob rejected a draft for its tone and reopened it to rewrite it; Alice, whose page counted the pending
    drafts before that, confirmed "Approve the 2 pending drafts" and 3 were approved, Bob's among them, unread."""
    import re

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    pending = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()
    assert len(pending) >= 2
    bobs = pending[0]["id"]
    client.post(f"/drafts/{bobs}/reject", json={"reviewer": "Bob", "comment": "wrong tone"})
    alices_page = client.get(f"/review/campaigns/{campaign_id}").text  # counts one pending draft fewer
    client.post(f"/drafts/{bobs}/reopen", json={"reviewer": "Bob", "comment": "rewriting it"})
    read = dict(re.findall(r'name="(read_review|read_draft)" value="(\d+)"', alices_page))
    done = client.post(
        f"/review/campaigns/{campaign_id}/approve-pending", data={"comment": "", **read}, follow_redirects=False
    )
    assert done.headers["location"].endswith(f"?approved={len(pending) - 1}&changed=1&out_of_date=0&unseen=0")
    assert client.get(f"/drafts/{bobs}").json()["status"] == "pending"  # left for Bob, as he left it
    assert "1 pending draft was left for review" in client.get(done.headers["location"]).text


def test_a_draft_reopened_while_the_page_was_being_read_is_left_for_review(client, demo_files, monkeypatch):
    """Where the campaign stood was read after its drafts: Bob's reopening, committed between the two reads (as
    PostgreSQL's READ COMMITTED lets each statement see), was never on Alice's page (his draft listed as
    rejected), yet counted as read, and her click approved it. The reopening is made here in the page's own
    session, right after its drafts are listed, which is what the later statements of such a request see."""
    import re

    from service import drafts as draft_ops

    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=3)
    pending = client.get(f"/campaigns/{campaign_id}/drafts", params={"status": "pending"}).json()
    bobs = pending[0]["id"]
    client.post(f"/drafts/{bobs}/reject", json={"reviewer": "Bob", "comment": "wrong tone"})
    listed = draft_ops.list_drafts

    def listed_then_reopened(session, *args, **kwargs):
        drafts = listed(session, *args, **kwargs)
        draft_ops.reopen(session, bobs, "Bob", "rewriting it")
        session.flush()
        return drafts

    monkeypatch.setattr(draft_ops, "list_drafts", listed_then_reopened)
    alices_page = client.get(f"/review/campaigns/{campaign_id}").text
    monkeypatch.setattr(draft_ops, "list_drafts", listed)
    assert client.get(f"/drafts/{bobs}").json()["status"] == "pending"  # reopened, but rejected on Alice's page
    read = dict(re.findall(r'name="(read_review|read_draft)" value="(\d+)"', alices_page))
    done = client.post(
        f"/review/campaigns/{campaign_id}/approve-pending", data={"comment": "", **read}, follow_redirects=False
    )
    assert done.headers["location"].endswith(f"?approved={len(pending) - 1}&changed=1&out_of_date=0&unseen=0")
    assert client.get(f"/drafts/{bobs}").json()["status"] == "pending"


@pytest.mark.parametrize("field", ["subject", "preheader"])
@pytest.mark.parametrize("pasted", ["Price list\tfrom the sheet", "Line\u2028separator"])
def test_a_control_character_in_a_one_line_field_is_said_in_words(field, pasted):
    """A tab pasted from a spreadsheet into the subject was refused with "Subject: String should match pattern
    '^[^\\x00-\\x1f\\x7f\\x85\\u2028\\u2029]*$'", and the tab cannot be seen in the field."""
    from service.drafts import variant_edit
    from service.errors import InvalidInput

    with pytest.raises(InvalidInput) as refused:
        variant_edit("Ola", **{field: pasted})
    (problem,) = refused.value.problems
    assert problem.column == field and "one line" in problem.message and "pattern" not in problem.message


def test_a_rejection_on_the_page_says_why_and_a_blank_reason_is_not_stored(client, demo_files, monkeypatch):
    """Rejecting with "   " was accepted and stored as three spaces in the history: whoever reopened the draft had
    nothing to act on."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    campaign_id = trained_shop_with_campaign(client, demo_files, max_customers=2)
    first, second = client.get(f"/campaigns/{campaign_id}/drafts").json()[:2]

    blank = client.post(f"/review/drafts/{first['id']}/reject", data={"comment": "   "})
    assert blank.status_code == 422 and "say why the draft is rejected" in blank.text
    assert re.search(r'name="comment" value="   " required[^>]* aria-invalid="true"', blank.text)
    assert client.get(f"/drafts/{first['id']}").json()["status"] == first["status"]  # nothing was done

    by_api = client.post(f"/drafts/{second['id']}/reject", json={"comment": "  off brand  "}).json()
    assert by_api["status"] == "rejected" and by_api["reviews"][0]["comment"] == "off brand"


def test_a_bulk_approval_says_how_many_drafts_it_flagged_for_a_changed_catalog_instead():
    """ "Approve the 10 pending drafts" said "Approved 7 pending drafts." and nothing of the other three, flagged
    because a price or the stock had changed."""
    from service.routes.review.campaign_pages import _bulk_done

    said = _bulk_done(7, 0, 3)
    assert said.startswith("Approved 7 pending drafts. 3 were flagged instead: the catalog no longer agrees")
    assert _bulk_done(1, 1, 1) == (
        "Approved 1 pending draft. 1 pending draft was left for review: reopened, edited or written after you read "
        "this page, so not among those you confirmed. 1 was flagged instead: the catalog no longer agrees with their "
        "email (a price, the stock)."
    )
    assert _bulk_done(None, 0, 0) == ""


def _campaign_of_drafts(client, engine, customers: int) -> int:
    """A campaign with a pending draft, of one variant, for each of ``customers`` customers (p0, p1...); its id."""
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    campaign_id = client.post("/campaigns", json={"name": "C", "brand": "hearth", "campaign_type": "vip"}).json()["id"]
    with session_scope(engine) as session:
        for i in range(customers):
            customer = Customer(external_id=f"p{i}", email=f"p{i}@example.com", first_name=f"Ann{i}")
            variant = Variant(label="A", subject=f"Subject {i}", preheader="Seen", html="<p>A</p>", text="A")
            session.add(Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant]))
    return campaign_id


def test_a_search_for_only_spaces_lists_every_draft(client, engine):
    """A search box holding only spaces said "No draft of this campaign is for a customer whose ... is “  ”", and
    the API's ?customer= answered no drafts: the spaces were taken for a name."""
    campaign_id = _campaign_of_drafts(client, engine, 3)
    page = client.get(f"/review/campaigns/{campaign_id}", params={"customer": "   "})
    assert page.status_code == 200 and 'id="no-such-customer"' not in page.text
    assert page.text.count("<tr data-draft-id=") == 3 and 'name="customer" value=""' in page.text
    assert len(client.get(f"/campaigns/{campaign_id}/drafts", params={"customer": " \t "}).json()) == 3
    assert [d["customer_id"] for d in client.get(f"/campaigns/{campaign_id}/drafts?customer=%20p1%20").json()] == ["p1"]


def test_the_sign_out_address_opened_as_a_page_leads_to_the_campaigns_and_signs_nobody_out(client, api_key):
    """/review/logout opened by its address (typed, bookmarked, Back to it) was a "does not take GET" page."""
    client.headers.pop("X-API-Key")  # the page's own login, by its cookie
    client.post("/review/login", data={"api_key": api_key, "reviewer": "Ola"})
    opened = client.get("/review/logout", follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/review"
    assert client.get("/review/logout").url.path == "/review"  # still signed in: the campaigns, with Sign out
    client.post("/review/logout")
    assert client.get("/review/logout").url.path == "/review/login"  # signed out: the login page


@pytest.mark.parametrize("blank", ["\u200b", "\u200c\u200d\u2060\ufeff", " \u200b\u00a0", "\u3000"])
def test_a_subject_of_nothing_visible_is_refused_as_an_empty_one_and_such_a_preheader_is_none(client, engine, blank):
    """A subject or preheader of zero-width characters alone was saved, by the page and the API: an email whose
    subject line showed nothing."""
    campaign_id = _campaign_of_drafts(client, engine, 1)
    (draft,) = client.get(f"/campaigns/{campaign_id}/drafts").json()
    variant = draft["variants"][0]
    api = client.patch(f"/drafts/{draft['id']}/variants/{variant['id']}", json={"subject": blank})
    assert api.status_code == 422 and api.json()["problems"][0]["field"] == "subject", api.text
    form = f"/review/drafts/{draft['id']}/variants/{variant['id']}/edit"
    page = client.post(form, data={"subject": blank, "preheader": "Seen"})
    assert page.status_code == 422 and "Subject: cannot be empty" in page.text
    assert client.get(f"/drafts/{draft['id']}").json()["variants"] == draft["variants"]  # nothing saved
    cleared = client.patch(f"/drafts/{draft['id']}/variants/{variant['id']}", json={"preheader": blank})
    assert cleared.status_code == 200 and cleared.json()["variants"][0]["preheader"] == ""
    kept = client.patch(f"/drafts/{draft['id']}/variants/{variant['id']}", json={"subject": "\ufeffHello\u200b"})
    assert kept.json()["variants"][0]["subject"] == "Hello"  # a pasted mark at either end is no part of it


def test_a_search_within_a_status_that_finds_none_says_the_customer_has_drafts_of_another(client, engine):
    """A copywriter on the flagged drafts who looked up a customer who wrote in was told "No draft of this campaign
    is for a customer whose id, email or first name is “p1”", though the customer had a pending draft: the search
    kept the status shown, and the page said nothing of it."""
    campaign_id = _campaign_of_drafts(client, engine, 2)
    page = client.get(f"/review/campaigns/{campaign_id}", params={"status": "flagged", "customer": "p1"}).text
    said = unescape(re.sub(r"<[^>]+>", "", page.split('id="no-such-customer">', 1)[1].split("</p>", 1)[0]))
    assert said == (
        "No flagged draft of this campaign is for a customer whose id, email or first name is “p1”, but drafts of "
        "other statuses are: show them."
    )
    assert 'href="?customer=p1">show them</a>' in page
    assert "<title>C: flagged drafts for “p1”, none found · Tailor</title>" in page
    nobody = client.get(f"/review/campaigns/{campaign_id}", params={"status": "flagged", "customer": "p9"}).text
    assert "No draft of this campaign, of any status, is for a customer whose id, email or first name is “p9”" in nobody
    past = client.get(f"/review/campaigns/{campaign_id}", params={"status": "pending", "customer": "p1", "page": 2})
    assert 'id="no-such-customer"' not in past.text  # p1's draft is pending, on the first page
    assert 'past the last page of these drafts: <a href="?status=pending&amp;customer=p1">' in past.text


def test_the_pages_of_drafts_say_how_many_there_are_and_lead_back_from_past_the_last(client, engine):
    """With hundreds of drafts the page said "page 2" and no more, so a copywriter could not tell how far the list
    went; and a page past the last one (a link kept after a bulk approval) offered "← previous" to the page before
    it, past the last one too."""
    campaign_id = _campaign_of_drafts(client, engine, 230)

    def pages(**params) -> str:
        page = client.get(f"/review/campaigns/{campaign_id}", params=params).text
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.split('id="draft-pages"', 1)[1].split("</nav>")[0]))

    assert pages() == ' class="muted" aria-label="pages of drafts"> page 1 of 3 next → '
    assert pages(page=3).endswith("> ← previous page 3 of 3 ")
    assert pages(status="pending", page=2).endswith("> ← previous page 2 of 3 next → ")
    past = client.get(f"/review/campaigns/{campaign_id}", params={"status": "pending", "page": 9}).text
    assert 'id="previous-page" href="?page=3&amp;status=pending"' in past
    searched = pages(customer="Ann1", page=2)  # a search's drafts are not counted: its page alone
    assert searched.endswith("> ← previous page 2 ")


def test_a_flagged_draft_s_row_says_why_it_was_flagged(client, engine):
    """With 11 of 279 drafts flagged, the list said why only of a draft approved despite its flag: a flagged one's
    row said "flagged" alone, so a copywriter sorting them out had to open each one to learn what it waited for."""
    from service.db.models import Draft
    from service.db.session import session_scope

    campaign_id = _campaign_of_drafts(client, engine, 2)
    why = "Written in English (en), Hearth & Leaf having no templates in nb, the customer's language"
    with session_scope(engine) as session:
        for draft in session.scalars(select(Draft).where(Draft.campaign_id == campaign_id)):
            draft.status, draft.flagged, draft.flag_reasons = "flagged", True, [why, "a second reason"]
    page = client.get(f"/review/campaigns/{campaign_id}").text
    said = f"{escape(why, quote=False)}; a second reason".replace("'", "&#39;")  # as the page escapes it
    shown = '<span class="badge flagged">flagged</span><span class="visually-hidden">:</span> '
    shown += f'<small class="muted flag-reasons">{said}</small>'
    assert page.count(shown) == 2  # in words on the row, not a tooltip: read as "flagged: ..." by a screen reader too


def test_next_to_review_follows_the_page_s_order_on_either_database(any_engine):
    """The walk of "next to review" through flagged drafts first, then the audience's positions (drafts written
    before positions were kept last, by id), skipping those reviewed, and round from the last to the first."""
    from service.db.models import Brand, Campaign, Customer, Draft
    from service.db.session import session_scope
    from service.drafts import next_to_review

    # (flagged, position, status), in the order the campaign's page lists them
    shown = [(True, 4, "flagged"), (True, None, "flagged"), (False, 0, "pending"), (False, 1, "approved"),
             (False, 1, "pending"), (False, None, "pending"), (False, None, "rejected")]  # fmt: skip
    with session_scope(any_engine) as session:
        campaign = Campaign(name="C", brand=Brand(slug="hearth", name="Hearth"), campaign_type="vip")
        session.add(campaign)
        for i in (2, 3, 0, 4, 5, 1, 6):  # ids in another order than the page's
            flagged, position, status = shown[i]
            customer = Customer(external_id=f"c{i}", email=f"c{i}@example.com", first_name="Ann")
            session.add(Draft(campaign=campaign, customer=customer, status=status, flagged=flagged, position=position))
    with session_scope(any_engine) as session:
        drafts = sorted(session.scalars(select(Draft)), key=lambda d: int(d.customer.external_id[1:]))
        walked = [next_to_review(session, draft)[0] for draft in drafts]
        by_index = {draft.id: i for i, draft in enumerate(drafts)}
        assert [by_index[found] for found in walked] == [1, 2, 4, 4, 5, 0, 0]
