"""Two tabs of one browser, two reviewers: a tab says "reviewing as Ann"; in another, someone signs out and logs in as
Bob. Ann's next approval, rejection, edit or bulk approval from her tab was recorded as Bob's while the tab still said
Ann. Each review form now names the reviewer its page showed, and one naming another than the session's (or none) is
refused, nothing done, and offered again to the reviewer signed in now, saying so."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import CHROMIUM
from tests.service.test_campaign_forms_after_the_session_ended import two_pending_drafts
from tests.service.test_review_revisions import draft, form_of

__all__ = ["draft"]  # the fixture, used by name


def _signed_in_as(browser: TestClient, api_key: str, reviewer: str) -> None:
    """Sign the browser out and in again as ``reviewer``, as in another of its tabs (the cookie is the browser's)."""
    browser.post("/review/logout")
    assert browser.post("/review/login", data={"api_key": api_key, "reviewer": reviewer}).status_code == 200


def _tab_of_ann_then_bob(client, api_key: str, page: str) -> tuple[TestClient, str]:
    """A browser with ``page`` open in a tab showing Ann, then signed in as Bob in another tab; and Ann's page."""
    browser = TestClient(client.app)
    _signed_in_as(browser, api_key, "Ann")
    anns_tab = browser.get(page).text
    assert "reviewing as <bdi>Ann</bdi>" in anns_tab
    _signed_in_as(browser, api_key, "Bob")
    return browser, anns_tab


def _note(page: str) -> str:
    """What the page offering a form again says of it, as read."""
    found = re.search(r'<p id="resend-note">(.*?)</p>', page, re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", "", found[1])).split()) if found else ""


@pytest.mark.parametrize("form", ["approve", "reject", "reopen", "edit"])
def test_a_draft_s_form_from_a_tab_showing_another_reviewer_is_refused_and_offered_again(client, api_key, draft, form):
    page = f"/review/drafts/{draft['id']}"
    if form == "reopen":  # a form of an approved draft's page
        client.post(f"/drafts/{draft['id']}/approve", json={})
    before = client.get(f"/drafts/{draft['id']}").json()
    action = f"{page}/variants/{draft['variants'][0]['id']}/edit" if form == "edit" else f"{page}/{form}"
    browser, anns_tab = _tab_of_ann_then_bob(client, api_key, page)
    typed = {"subject": "Ann's subject"} if form == "edit" else {"comment": "Ann's"}

    refused = browser.post(action, data=form_of(anns_tab, action, **typed), follow_redirects=False)

    assert refused.status_code == 303 and refused.headers["location"] == "/review/resend"
    assert client.get(f"/drafts/{draft['id']}").json() == before  # nothing done, nothing recorded as Bob's
    offered = browser.get("/review/resend").text
    assert _note(offered).startswith(
        "What you sent was from a page that showed Ann reviewing, but Bob is signed in in this browser now"
    )
    assert "reviewing as <bdi>Bob</bdi>" in offered
    again = form_of(offered, action)
    assert again["reviewing_as"] == "Bob" and all(again[name] == value for name, value in typed.items())
    sent = browser.post(action, data=again, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith(page)  # sent as Bob's, once he chose to
    assert client.get(f"/drafts/{draft['id']}").json()["reviews"][-1]["reviewer"] == "Bob"


def test_a_refused_form_the_database_cannot_keep_now_is_answered_busy(client, api_key, draft, monkeypatch):
    """Keeping the form for the page that offers it again writes to the database (it was kept in the server's memory):
    one busy then (here: made to refuse) answers busy, to be sent again in a moment, as any write does, nothing done."""
    from sqlalchemy.exc import OperationalError

    from service.routes.review import login

    def refused_by_the_database(*_args) -> None:
        raise OperationalError("UPDATE review_sessions", {}, Exception("database is locked"))

    page = f"/review/drafts/{draft['id']}"
    browser, anns_tab = _tab_of_ann_then_bob(client, api_key, page)
    monkeypatch.setattr(login, "keep_form", refused_by_the_database)
    refused = browser.post(f"{page}/reject", data=form_of(anns_tab, f"{page}/reject", comment="Ann's"))
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "pending"


def test_a_form_from_a_tab_showing_the_reviewer_signed_in_again_is_done(client, api_key, draft):
    """The rule is the name: Ann signed out and in again as herself in another tab, and her tab's form is hers."""
    page = f"/review/drafts/{draft['id']}"
    browser, anns_tab = _tab_of_ann_then_bob(client, api_key, page)
    _signed_in_as(browser, api_key, "Ann")
    action = f"{page}/reject"
    done = browser.post(action, data=form_of(anns_tab, action, comment="Too pushy"), follow_redirects=False)
    assert done.status_code == 303 and "done=rejected" in done.headers["location"]
    assert client.get(f"/drafts/{draft['id']}").json()["reviews"][-1]["reviewer"] == "Ann"


def test_a_form_naming_no_reviewer_is_refused_in_a_session(client, api_key, draft):
    """A page from before forms named their reviewer (or a form made elsewhere) is refused alike; an API client's
    request, with its key, acts as the key's, as before: no page was shown to it."""
    browser = TestClient(client.app)
    _signed_in_as(browser, api_key, "Ann")
    action = f"/review/drafts/{draft['id']}/reject"
    refused = browser.post(action, data={"comment": "Too pushy"}, follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/review/resend"
    assert _note(browser.get("/review/resend").text).startswith(
        "What you sent was from a page that showed no one reviewing, but Ann is signed in"
    )
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "pending"
    assert client.post(action, data={"comment": "Too pushy"}, follow_redirects=False).status_code == 303
    assert client.get(f"/drafts/{draft['id']}").json()["reviews"][-1]["reviewer"] == "tests"


def test_a_bulk_approval_from_a_tab_showing_another_reviewer_is_refused_and_offered_again(client, engine, api_key):
    campaign_id = two_pending_drafts(client, engine)
    page = f"/review/campaigns/{campaign_id}"
    action = f"{page}/approve-pending"
    browser, anns_tab = _tab_of_ann_then_bob(client, api_key, page)

    refused = browser.post(action, data=form_of(anns_tab, action, comment="Ann read them all"), follow_redirects=False)

    assert refused.status_code == 303 and refused.headers["location"] == "/review/resend"
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert {d["status"] for d in drafts} == {"pending"} and not any(d["reviews"] for d in drafts)
    offered = browser.get("/review/resend").text
    assert "but Bob is signed in in this browser now" in _note(offered)
    again = form_of(offered, action)
    assert (again["reviewing_as"], again["comment"]) == ("Bob", "Ann read them all")
    assert browser.post(action, data=again, follow_redirects=False).status_code == 303  # sent again, as Bob's
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert [d["status"] for d in drafts] == ["approved", "approved"]
    assert [d["reviews"][-1]["reviewer"] for d in drafts] == ["Bob", "Bob"]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_ann_s_tab_does_not_approve_as_bob_in_a_browser(client, draft, live_server, api_key, browser):
    """The audit's two tabs of one browser, as a person has them."""
    from playwright.sync_api import expect

    def log_in(tab, name: str) -> None:
        tab.goto(f"{live_server}/review/login")
        tab.fill("#reviewer", name)
        tab.fill("#api_key", api_key)
        tab.click("button[type=submit]")
        expect(tab.locator("#signed-in-as bdi")).to_have_text(name)

    context = browser.new_context()
    ann, other = context.new_page(), context.new_page()
    log_in(ann, "Ann")
    ann.goto(f"{live_server}/review/drafts/{draft['id']}")
    other.goto(f"{live_server}/review")
    other.click("#sign-out")
    log_in(other, "Bob")

    ann.fill("#approve-form [name=comment]", "Read it twice")
    ann.click("#approve-form button[type=submit]")
    expect(ann.locator("#resend-note")).to_contain_text("a page that showed Ann reviewing, but Bob is signed in")
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "pending"
    expect(ann.locator("#resend-form [name=comment]")).to_have_value("Read it twice")
    ann.click("#resend")  # Bob, at Ann's tab, sends it as his
    expect(ann.locator("#signed-in-as bdi")).to_have_text("Bob")
    assert client.get(f"/drafts/{draft['id']}").json()["reviews"][-1]["reviewer"] == "Bob"
