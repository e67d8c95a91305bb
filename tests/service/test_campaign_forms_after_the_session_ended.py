"""A campaign's bulk form (approve every pending draft, approve again those held back for lateness, update the
out-of-date drafts with the catalog's facts) sent after the review session had ended: once logged in again, the
copywriter is back on the campaign's page, told that it was not done, with the form offered again as the campaign
stands now and the comment they typed in it; nothing is done until they send it.

Before, approving every pending draft led after the login to a page of its own ("Send it again?"), away from the
campaign, its count and its question; the two other forms were not carried at all: the login led to the campaign's
page saying nothing there, and the comment typed for the late drafts was gone.
"""

from __future__ import annotations

import re
from html import escape, unescape

import pytest
from fastapi.testclient import TestClient

from service.db.session import session_scope
from tests.service.test_review_revisions import form_of

INTRO = "We picked a few things we think you will like this autumn."


@pytest.fixture
def campaign(client, engine) -> int:
    return two_pending_drafts(client, engine)


def two_pending_drafts(client, engine) -> int:
    """A campaign of two pending drafts whose copy passes every check, written straight to the database; its id."""
    from service.db.models import Customer, Draft, Variant

    body = {"name": "Autumn", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        for n in range(2):
            customer = Customer(
                external_id=f"c{n}", email=f"c{n}@example.com", first_name="Ida", marketing_consent=True
            )
            variant = Variant(
                label="A", subject="Autumn picks for you", preheader="New in", intro=INTRO, html="<p>x</p>"
            )
            row = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=[variant])
            session.add(row)
            session.flush()
            row.selected_variant_id = variant.id
    return campaign_id


def _signed_out_on(client, api_key: str, page: str) -> tuple[TestClient, str]:
    """A browser that opened ``page`` while signed in as Ann, then was signed out in another tab; and the page."""
    browser = TestClient(client.app)
    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Ann"})
    open_page = browser.get(page).text
    browser.post("/review/logout")  # the other tab
    return browser, open_page


def _logged_in_again(browser: TestClient, sent, api_key: str):
    """The login page that answered a form sent after the session ended, filled in and sent as a person would."""
    assert sent.status_code == 401 and "nothing was saved or recorded" in sent.text
    return browser.post(
        "/review/login",
        data=form_of(sent.text, "/review/login", api_key=api_key, reviewer="Ann"),
        follow_redirects=False,
    )


def _statuses(client, campaign_id: int) -> list[str]:
    return sorted(d["status"] for d in client.get(f"/campaigns/{campaign_id}/drafts").json())


def test_approving_every_pending_draft_after_the_session_ended_is_offered_again_on_the_campaign_page(
    campaign, client, api_key
):
    page = f"/review/campaigns/{campaign}"
    action = f"{page}/approve-pending"
    browser, open_page = _signed_out_on(client, api_key, page)

    sent = browser.post(action, data=form_of(open_page, action, comment="checked a sample"), follow_redirects=False)
    back = _logged_in_again(browser, sent, api_key)

    assert back.status_code == 303 and back.headers["location"] == page  # the campaign's own page
    again = browser.get(back.headers["location"])
    assert again.status_code == 200 and _statuses(client, campaign) == ["pending", "pending"]  # nothing done yet
    note = re.search(r'<div class="card" role="alert" id="not-done">(.*?)</div>', again.text, re.S)[1]
    assert "Your review session had ended" in note and "Approve the pending drafts" in note
    assert "was not done" in note and "offered again below" in note
    offered = form_of(again.text, action)
    assert offered["comment"] == "checked a sample"
    assert 'id="not-done"' not in browser.get(page).text  # said once: a reload shows the page as it is
    # asked first, as ever, with the count of now
    assert 'data-confirm="Approve the 2 pending drafts? They will be sent with the campaign."' in again.text

    done = browser.post(action, data=offered, follow_redirects=False)
    assert done.headers["location"].startswith(f"{page}?approved=2&")
    approved = client.get(f"/campaigns/{campaign}/drafts").json()
    assert [(d["status"], d["reviews"][-1]["comment"], d["reviews"][-1]["reviewer"]) for d in approved] == [
        ("approved", "checked a sample", "Ann")
    ] * 2


def test_updating_the_drafts_with_the_catalog_after_the_session_ended_is_offered_again(
    campaign, client, engine, api_key
):
    from tests.service.test_review_page_audit import a_shown_product_changed

    first = client.get(f"/campaigns/{campaign}/drafts").json()[0]["id"]
    a_shown_product_changed(engine, first)  # or the update is not offered
    page = f"/review/campaigns/{campaign}"
    action = f"{page}/refresh-facts"
    browser, open_page = _signed_out_on(client, api_key, page)

    assert f'action="{action}"' in open_page  # a form of a button alone
    sent = browser.post(action, data={}, follow_redirects=False)
    back = _logged_in_again(browser, sent, api_key)

    assert back.status_code == 303 and back.headers["location"] == page
    again = browser.get(back.headers["location"]).text
    note = re.search(r'id="not-done">(.*?)</div>', again, re.S)[1]
    assert "Update out-of-date drafts with the catalog" in note and "was not done" in note
    assert 'id="refresh-facts"' in again and 'id="refresh-progress"' not in again  # offered, not started


def test_approving_again_the_late_drafts_after_the_session_ended_keeps_the_comment(
    client, engine, api_key, mail_server, monkeypatch
):
    from tests.service.test_late_drafts import due_check, scheduled_then_missed
    from tests.service.test_sending import approved_draft, new_campaign

    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    late = [approved_draft(client, engine, campaign_id, f"c{n}") for n in range(2)]
    scheduled_then_missed(client, engine, campaign_id, late)
    due_check(engine)
    page = f"/review/campaigns/{campaign_id}"
    action = f"{page}/reapprove-late"
    browser, open_page = _signed_out_on(client, api_key, page)

    sent = browser.post(action, data=form_of(open_page, action, comment="after the outage"), follow_redirects=False)
    back = _logged_in_again(browser, sent, api_key)

    assert back.status_code == 303 and back.headers["location"] == page
    again = browser.get(back.headers["location"]).text
    assert "Approve again the drafts held back for lateness" in re.search(r'id="not-done">(.*?)</div>', again, re.S)[1]
    assert form_of(again, action)["comment"] == "after the outage"
    assert _statuses(client, campaign_id) == ["flagged", "flagged"]  # not done until sent again


def test_a_bulk_form_with_nothing_left_to_do_says_so_after_the_login(campaign, client, api_key):
    """A colleague approved the pending drafts while Ann was logged out: the form is not offered again, and the
    page says why instead of leaving her to wonder where it went."""
    page = f"/review/campaigns/{campaign}"
    action = f"{page}/approve-pending"
    browser, open_page = _signed_out_on(client, api_key, page)
    sent = browser.post(action, data=form_of(open_page, action, comment="mine"), follow_redirects=False)
    assert client.post(f"/campaigns/{campaign}/drafts/approve", json={"reviewer": "Bob"}).json()["approved"] == 2

    again = browser.get(_logged_in_again(browser, sent, api_key).headers["location"]).text
    note = unescape(re.search(r'id="not-done">(.*?)</div>', again, re.S)[1])
    assert "was not done, and is not offered again: no draft of this campaign is pending now" in note
    assert 'id="approve-pending"' not in again


def test_only_the_login_can_have_the_campaign_page_say_a_form_was_not_done(campaign, client):
    """A link anyone could send ("your approval was not done: send it again") must not say so, nor fill the form."""
    page = f"/review/campaigns/{campaign}"
    lure = client.get(page, params={"not_done": "approve-pending", "comment": "as you asked"})
    assert lure.status_code == 200 and 'id="not-done"' not in lure.text and "as you asked" not in lure.text
    client.cookies.set("tailor_not_done", "not_done=delete-everything")  # nor a cookie naming no form of the page
    assert 'id="not-done"' not in client.get(page).text


def test_a_bulk_form_not_done_is_offered_again_under_a_proxy_s_path_prefix(engine, api_key):
    """Behind a proxy serving Tailor under /mail, the login leads to the campaign's page there, and the word that
    the form was not done reaches that page (its cookie's path is the browser's address of the page)."""
    from service.app import create_app

    with TestClient(create_app(engine), root_path="/mail", follow_redirects=False) as browser:
        made = {"name": "Prefixed", "brand": "hearth", "campaign_type": "vip"}
        campaign_id = browser.post("/mail/campaigns", json=made, headers={"X-API-Key": api_key}).json()["id"]
        page = f"/mail/review/campaigns/{campaign_id}"
        browser.post("/mail/review/login", data={"api_key": api_key, "reviewer": "Ann"})
        browser.post("/mail/review/logout")

        sent = browser.post(f"{page}/refresh-facts", data={})
        back = browser.post(
            "/mail/review/login", data=form_of(sent.text, "/mail/review/login", api_key=api_key, reviewer="Ann")
        )
        assert back.status_code == 303 and back.headers["location"] == page
        assert f"Path={page}" in back.headers["set-cookie"]
        again = browser.get(page).text
        note = re.search(r'id="not-done">(.*?)</div>', again, re.S)[1]
        assert (
            "was not done, and is not offered again: no pending or flagged draft of this campaign shows a product the "
            "catalog has changed since" in note
        )


def test_the_login_leads_back_to_the_list_the_bulk_form_was_sent_from(campaign, client, api_key, monkeypatch):
    """Ann was on page 2 of the pending drafts searched for "ida", by predicted opens, when her session ended: after
    the login she landed on the first page of every draft in the usual order, and had to find her place again."""
    monkeypatch.setattr("service.routes.review.campaign_pages.DRAFTS_PER_PAGE", 1)  # two drafts: two pages
    page = f"/review/campaigns/{campaign}"
    listed = "status=pending&customer=ida&sort=p_open&page=2"
    action = f"{page}/approve-pending"
    browser, open_page = _signed_out_on(client, api_key, f"{page}?{listed}")
    sent_form = form_of(open_page, action, comment="checked a sample")
    assert sent_form["listed"] == listed

    sent = browser.post(action, data=sent_form, follow_redirects=False)
    back = _logged_in_again(browser, sent, api_key)

    assert back.status_code == 303 and back.headers["location"] == f"{page}?{listed}"
    assert f"Path={page};" in back.headers["set-cookie"]  # the word it was not done reaches that list of the page
    again = browser.get(back.headers["location"]).text
    assert "Autumn: pending drafts for “ida”, in order of predicted opens, highest first, page 2" in unescape(again)
    assert "Approve the pending drafts" in re.search(r'id="not-done">(.*?)</div>', again, re.S)[1]
    assert form_of(again, action) == sent_form  # offered again as sent, the list kept for the way back after it
    assert _statuses(client, campaign) == ["pending", "pending"]


def test_a_list_the_campaign_page_has_not_is_left_out_of_the_way_back(campaign, client, api_key):
    """The carried form comes from the browser: a ``listed`` naming what no list has leads to the campaign's page."""
    page = f"/review/campaigns/{campaign}"
    action = f"{page}/approve-pending"
    browser, open_page = _signed_out_on(client, api_key, page)
    forged = form_of(open_page, action) | {"listed": "status=nonsense&sort=score&page=0&next=//elsewhere"}

    back = _logged_in_again(browser, browser.post(action, data=forged, follow_redirects=False), api_key)

    assert back.status_code == 303 and back.headers["location"] == page


def test_leaving_a_bulk_form_offered_on_a_page_of_its_own_leads_back_to_its_list(
    campaign, client, api_key, monkeypatch
):
    """A comment too long for the campaign page's cookie is offered again on a page of its own ("Send it again?"),
    reached by a redirect; its "Leave it and go to the page" led to the first page of every draft in the usual
    order, not to the list Ann had sent the form from."""
    monkeypatch.setattr("service.routes.review.campaign_pages.DRAFTS_PER_PAGE", 1)  # two drafts: two pages
    page = f"/review/campaigns/{campaign}"
    listed = "status=pending&customer=ida&sort=p_open&page=2"
    action = f"{page}/approve-pending"
    browser, open_page = _signed_out_on(client, api_key, f"{page}?{listed}")
    typed = form_of(open_page, action, comment="Checked each one. " * 200)

    back = _logged_in_again(browser, browser.post(action, data=typed, follow_redirects=False), api_key)

    assert back.status_code == 303 and back.headers["location"] == "/review/resend"
    again = browser.get(back.headers["location"]).text
    assert form_of(again, action)["comment"] == typed["comment"]
    assert f'href="{page}?{escape(listed)}" id="leave-it"' in again
    assert _statuses(client, campaign) == ["pending", "pending"]
