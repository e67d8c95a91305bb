"""Two reviewers on one draft: a save or a review from a page that shows an older revision of the draft is refused
with the draft as it is now and what the person typed (nothing undone, nothing approved unseen, nothing lost); the
API offers the same with `expected_revision`; and a form posted after the review session ended leads to the login
page saying so, and back to the draft."""

from __future__ import annotations

from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from service.db.session import session_scope
from service.review.resend import CARRIED_MAX

INTRO = "We picked a few things we think you will like this autumn."


class _Form(HTMLParser):
    """The fields a browser would post from the page's form at ``action``: inputs (a radio or a box if checked),
    textareas; no script, as on the review page."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.fields, self.textarea = action, False, [], None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action
        elif self.inside and tag == "input" and a.get("name"):
            if a.get("type") not in ("radio", "checkbox") or "checked" in a:
                self.fields.append((a["name"], a.get("value") or ""))
        elif self.inside and tag == "textarea" and a.get("name"):
            self.textarea = [a["name"], ""]

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea[1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self.textarea is not None:
            self.fields.append(tuple(self.textarea))
            self.textarea = None
        elif tag == "form":
            self.inside = False


def form_of(page: str, action: str, **changes: str) -> dict[str, str | list[str]]:
    """The form at ``action`` on ``page`` as the browser would post it, with the fields a person changed."""
    parser = _Form(action)
    parser.feed(page)
    fields: dict[str, str | list[str]] = {}
    for name, value in parser.fields:
        fields[name] = [*fields[name], value] if name == "product_line" and name in fields else value
    assert fields, f"no form at {action}"
    return {**fields, **changes}


@pytest.fixture
def draft(client, engine) -> dict:
    """A pending draft of two variants whose copy passes every check, written straight to the database."""
    from service.db.models import Customer, Draft, Variant

    body = {"name": "Autumn", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="ida@example.com", first_name="Ida", marketing_consent=True)
        copy = {"preheader": "New in for the season", "intro": INTRO, "html": "<p>x</p>"}
        variants = [Variant(label=label, subject=f"Autumn picks for you, {label}", **copy) for label in "AB"]
        row = Draft(campaign_id=campaign_id, customer=customer, status="pending", variants=variants)
        session.add(row)
        session.flush()
        row.selected_variant_id = variants[0].id
    return client.get(f"/drafts/{row.id}").json()


@pytest.fixture
def browsers(client, api_key):
    """Two reviewers, each signed in in a browser of their own."""

    def signed_in(name: str) -> TestClient:
        browser = TestClient(client.app)
        assert browser.post("/review/login", data={"api_key": api_key, "reviewer": name}).status_code == 200
        return browser

    return signed_in("Alice"), signed_in("Bob")


def test_a_save_from_an_older_page_is_refused_and_keeps_both_edits(client, draft, browsers):
    """Bob's page, opened before Alice's save, posted every field: his change of the intro put back the subject
    Alice had just rewritten, and her edit was gone without a word."""
    alice, bob = browsers
    variant = draft["variants"][0]
    page, action = f"/review/drafts/{draft['id']}", f"/review/drafts/{draft['id']}/variants/{variant['id']}/edit"
    alices_page, bobs_page = alice.get(page).text, bob.get(page).text

    saved = alice.post(action, data=form_of(alices_page, action, subject="Alice's autumn edit for you"))
    assert saved.status_code == 200 and saved.url.path == page
    refused = bob.post(action, data=form_of(bobs_page, action, intro="Bob's new intro, typed at length."))

    assert refused.status_code == 409
    text = unescape(refused.text)
    assert f"Draft {draft['id']} was changed since you read it (Alice edited variant A: subject)" in text
    assert (
        'id="unsaved-edit"' in text
        and '<textarea readonly lang="en" dir="auto">Bob\'s new intro, typed at length.</textarea>' in text
    )
    again = form_of(refused.text, action)  # the form shows the variant as it is now, at its new revision
    assert again["subject"] == "Alice's autumn edit for you" and again["intro"] == INTRO
    stored = client.get(f"/drafts/{draft['id']}").json()
    assert stored["variants"][0]["subject"] == "Alice's autumn edit for you" and stored["variants"][0]["intro"] == INTRO

    resaved = bob.post(action, data={**again, "intro": "Bob's new intro, typed at length."})
    assert resaved.status_code == 200
    both = client.get(f"/drafts/{draft['id']}").json()["variants"][0]
    assert (both["subject"], both["intro"]) == ("Alice's autumn edit for you", "Bob's new intro, typed at length.")


def test_an_approval_or_rejection_from_an_older_page_is_refused(client, draft, browsers):
    """Bob approved from a page opened before Alice rewrote variant B: the email approved had text he never saw."""
    alice, bob = browsers
    other = draft["variants"][1]
    page = f"/review/drafts/{draft['id']}"
    approve, reject = f"{page}/approve", f"{page}/reject"
    edit = f"{page}/variants/{other['id']}/edit"
    bobs_page = bob.get(page).text
    alice.post(edit, data=form_of(alice.get(page).text, edit, intro="Alice's rewrite of B, never read by Bob."))

    for action in (approve, reject):
        refused = bob.post(action, data=form_of(bobs_page, action, comment="looks good to me"))
        assert refused.status_code == 409, action
        assert "was changed since you read it (Alice edited variant B: intro)" in unescape(refused.text)
        assert 'name="comment" value="looks good to me"' in refused.text  # the comment typed is kept
    assert client.get(f"/drafts/{draft['id']}").json()["status"] == "pending"

    chosen = form_of(bobs_page, approve, variant_id=str(other["id"]), comment="B reads better")
    refused = bob.post(approve, data=chosen)
    assert refused.status_code == 409
    now_seen = form_of(refused.text, approve)  # the page now shows Alice's rewrite, with his choice kept
    assert now_seen["variant_id"] == str(other["id"]) and "never read by Bob" in refused.text
    assert bob.post(approve, data=now_seen).status_code == 200
    approved = client.get(f"/drafts/{draft['id']}").json()
    assert approved["status"] == "approved" and approved["selected_variant_id"] == other["id"]
    assert approved["reviews"][-1]["reviewer"] == "Bob"


def test_api_clients_may_say_which_revision_they_edit_or_review(client, draft):
    """The same protection for a tool on the API, without breaking the clients that send no revision."""
    url, variant = f"/drafts/{draft['id']}", draft["variants"][0]
    assert draft["revision"] == 0
    edited = client.patch(
        f"{url}/variants/{variant['id']}",
        json={"subject": "Autumn, picked for Ida", "reviewer": "tool", "expected_revision": 0},
    )
    assert edited.status_code == 200 and edited.json()["revision"] == 1
    assert edited.json()["reviews"][-1]["revision"] == 1

    stale = client.patch(f"{url}/variants/{variant['id']}", json={"intro": "Old idea.", "expected_revision": 0})
    assert stale.status_code == 409 and stale.json() == {
        "error": "DraftChanged",
        "message": f"Draft {draft['id']} was changed since you read it (tool edited variant A: subject); nothing "
        "was done. Read it as it is now, then try again.",
        "problems": [],
    }
    for action in ("approve", "reject"):
        refused = client.post(f"{url}/{action}", json={"expected_revision": 0})
        assert refused.status_code == 409 and refused.json()["error"] == "DraftChanged", action
    assert client.get(url).json()["variants"][0]["intro"] == INTRO  # nothing of the stale edit was written

    unsaid = client.patch(f"{url}/variants/{variant['id']}", json={"intro": "No revision given, as before."})
    assert unsaid.status_code == 200 and unsaid.json()["revision"] == 2
    approved = client.post(f"{url}/approve", json={"expected_revision": 2})
    assert approved.status_code == 200 and approved.json()["revision"] == 3


def test_an_edit_that_lost_the_race_to_an_edit_flagging_the_draft_is_told_who_edited(client, engine, draft):
    """Two edits read at once: the winner's copy failed a check and flagged the draft, and the loser was told the
    draft "was reviewed meanwhile and is flagged now" rather than who edited what (8 parallel edits on
    PostgreSQL)."""
    from sqlalchemy.orm import Session

    from service.db.models import Review
    from service.drafts import get_draft, record_review
    from service.errors import DraftChanged

    url, variant = f"/drafts/{draft['id']}", draft["variants"][0]
    with Session(engine) as loser:
        read = get_draft(loser, draft["id"])  # read at the same moment as the winner
        assert (read.status, read.revision) == ("pending", 0)
        won = client.patch(f"{url}/variants/{variant['id']}", json={"subject": "FREE FREE FREE", "reviewer": "ann"})
        assert won.status_code == 200 and won.json()["status"] == "flagged"
        with pytest.raises(DraftChanged, match=r"was changed since you read it \(ann edited variant A: subject\)"):
            record_review(loser, read, Review(action="edit", reviewer="bo", comment="variant A: intro"))
        loser.rollback()


def test_approving_every_pending_draft_moves_their_revisions_on(client, draft):
    """An open page of a draft approved with the campaign's pending ones cannot then be saved over the approval."""
    done = client.post(f"/campaigns/{draft['campaign_id']}/drafts/approve", json={"reviewer": "Cy"}).json()
    assert done["approved"] == 1
    after = client.get(f"/drafts/{draft['id']}").json()
    assert after["revision"] == 1 and after["reviews"][-1]["revision"] == 1


def test_an_edit_refused_because_the_draft_was_reviewed_meanwhile_shows_what_was_typed(client, draft, browsers):
    """Bob approved the draft while Alice rewrote its subject: her save was refused and her text vanished, the page
    showing the approved draft only."""
    alice, bob = browsers
    variant = draft["variants"][0]
    page, action = f"/review/drafts/{draft['id']}", f"/review/drafts/{draft['id']}/variants/{variant['id']}/edit"
    alices_page = alice.get(page).text
    assert bob.post(f"{page}/approve", data=form_of(bob.get(page).text, f"{page}/approve")).status_code == 200

    refused = alice.post(action, data=form_of(alices_page, action, subject="A subject Alice took ten minutes on"))
    assert refused.status_code == 409
    text = unescape(refused.text)
    assert f"Draft {draft['id']} is already approved" in text and 'id="status">approved' in text
    assert (
        'id="unsaved-edit"' in text
        and 'readonly lang="en" dir="auto" value="A subject Alice took ten minutes on"' in text
    )
    assert f'<textarea readonly lang="en" dir="auto">{INTRO}</textarea>' in text


def _signed_out_after_opening(client, api_key, page: str) -> tuple[TestClient, str]:
    """A browser that opened ``page`` while signed in, then was signed out in another tab."""
    browser = TestClient(client.app)
    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Ann"})
    open_page = browser.get(page).text
    browser.post("/review/logout")  # the other tab
    return browser, open_page


def test_an_edit_sent_after_the_session_ended_is_offered_again_after_the_login(draft, api_key, client):
    """Signed out in another tab (or after 12 hours), a Save landed on the login page and the edit typed was gone:
    the copywriter had to type it all again."""
    page = f"/review/drafts/{draft['id']}"
    action = f"{page}/variants/{draft['variants'][0]['id']}/edit"
    browser, open_page = _signed_out_after_opening(client, api_key, page)

    typed = {"subject": "A subject typed over ten minutes", "intro": "An intro Ann will not type twice."}
    login = browser.post(action, data=form_of(open_page, action, **typed), follow_redirects=False)
    assert login.status_code == 401
    assert "Your review session had ended" in login.text and "nothing was saved or recorded" in login.text
    assert client.get(f"/drafts/{draft['id']}").json()["revision"] == 0  # nothing was done

    again = browser.post("/review/login", data=form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann"))
    assert again.status_code == 200 and 'id="resend-form"' in again.text
    # reached by a redirect, not as the login's answer, and reloaded as typed: Back to it asks to send nothing again
    assert [step.status_code for step in again.history] == [303] and again.url.path == "/review/resend"
    assert form_of(browser.get(again.url).text, action) == form_of(again.text, action)
    offered = form_of(again.text, action)
    assert offered["subject"] == typed["subject"] and offered["intro"] == typed["intro"]
    assert offered["expected_revision"] == "0"  # the revision the first page showed
    assert f'name="subject" value="{typed["subject"]}" lang="en"' in again.text  # spell-checked as the copy's
    assert f'href="{page}" id="leave-it"' in again.text
    assert "If someone changed the draft meanwhile, it is refused" in again.text

    saved = browser.post(action, data=offered)
    assert saved.status_code == 200 and saved.url.path == page
    stored = client.get(f"/drafts/{draft['id']}").json()
    assert stored["variants"][0]["subject"] == typed["subject"] and stored["variants"][0]["intro"] == typed["intro"]


def test_a_note_for_the_model_sent_after_the_session_ended_is_offered_again_after_the_login(draft, api_key, client):
    """Signed out in another tab, "Suggest another version" landed on a login page saying that an edit or a review
    was not done, and the note typed for the model was gone; every other form of the draft's page is carried."""
    page = f"/review/drafts/{draft['id']}"
    action = f"{page}/variants/{draft['variants'][0]['id']}/suggest"
    browser, open_page = _signed_out_after_opening(client, api_key, page)
    note = "warmer, and name the scarf first"

    login = browser.post(action, data=form_of(open_page, action, note=note), follow_redirects=False)
    assert login.status_code == 401 and "nothing was saved or recorded" in login.text
    again = browser.post("/review/login", data=form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann"))
    assert form_of(again.text, action)["note"] == note
    assert '<label>Note for the model<input type="text" name="note"' in again.text
    assert ">Suggest another version</button>" in again.text
    assert "If someone changed the draft meanwhile" not in again.text  # it is asked of the draft as it is now


def test_a_form_offered_again_labels_its_product_lines_as_the_draft_s_page_does():
    """The page offering a form again labelled them "Product line 1", the draft's page "Line for Sencha Green"."""
    from service.review.resend import CarriedForm

    form = CarriedForm(
        "/review/drafts/1/variants/2/edit", (("subject", "S"), ("product_line", "a"), ("product_line", "b"))
    )
    labels = [field["label"] for field in form.shown(["Sencha Green"])]
    assert labels == ["Subject", "Line for Sencha Green", "Product line 2"]  # a line past the products: numbered


def test_a_form_carried_through_the_login_is_kept_for_its_session_alone_for_a_while(engine, monkeypatch):
    from service import auth
    from service.clock import utcnow
    from service.db.models import ApiKey
    from service.review import resend

    now = [utcnow()]
    monkeypatch.setattr(resend, "utcnow", lambda: now[0])
    form = resend.CarriedForm("/review/drafts/1/approve", (("comment", "Fine"),))
    with session_scope(engine) as session:
        auth.create_key(session, "tests")
        key = session.query(ApiKey).one()
        ann, bob = auth.open_session(session, key, "Ann"), auth.open_session(session, key, "Bob")
        resend.keep_form(session, ann, form)
        resend.keep_form(session, "ts_of_no_session", form)  # kept for no one
    with session_scope(engine) as session:
        assert resend.kept_form(session, ann) == form and resend.kept_form(session, bob) is None
        assert resend.kept_form(session, None) is None and resend.kept_form(session, "ts_of_no_session") is None
        later = resend.CarriedForm("/review/drafts/2/reject", (("comment", "No"),))
        resend.keep_form(session, ann, later)  # a later one replaces it
        assert resend.kept_form(session, ann) == later
    now[0] += timedelta(seconds=resend.KEPT_SECONDS)
    with session_scope(engine) as session:
        assert resend.kept_form(session, ann) is None
        resend.keep_form(session, ann, form)
        auth.close_session(session, ann)  # signed out: the form goes with the session
        assert resend.kept_form(session, ann) is None


def test_a_form_carried_through_a_login_on_one_server_is_offered_again_by_another(draft, api_key, client, engine):
    """Kept in the memory of the process that took the login, the form was not there for a second server behind a
    balancer (or the same one restarted) that answered the page offering it again: that page led to the campaigns."""
    from service.app import create_app
    from service.db.session import make_engine

    page = f"/review/drafts/{draft['id']}"
    browser, open_page = _signed_out_after_opening(client, api_key, page)
    login = browser.post(f"{page}/approve", data=form_of(open_page, f"{page}/approve", comment="Fine by me"))
    sent = form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann")
    assert browser.post("/review/login", data=sent, follow_redirects=False).status_code == 303
    other_engine = make_engine(str(engine.url))
    try:
        with TestClient(create_app(other_engine), cookies=browser.cookies) as other_server:
            again = other_server.get("/review/resend", follow_redirects=False)
            assert again.status_code == 200, again.headers.get("location")
            assert form_of(again.text, f"{page}/approve")["comment"] == "Fine by me"
    finally:
        other_engine.dispose()


def test_an_approval_sent_after_the_session_ended_is_offered_again_with_its_comment(draft, api_key, client):
    page = f"/review/drafts/{draft['id']}"
    browser, open_page = _signed_out_after_opening(client, api_key, page)

    login = browser.post(f"{page}/approve", data=form_of(open_page, f"{page}/approve", comment="Fine by me"))
    assert login.status_code == 401
    again = browser.post("/review/login", data=form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann"))
    offered = form_of(again.text, f"{page}/approve")
    assert offered["comment"] == "Fine by me" and ">Approve</button>" in again.text

    assert browser.post(f"{page}/approve", data=offered).status_code == 200
    stored = client.get(f"/drafts/{draft['id']}").json()
    assert stored["status"] == "approved"


def test_a_form_offered_again_after_someone_changed_the_draft_is_refused_showing_both(draft, api_key, client):
    """Sending it again must not undo what a colleague saved while Ann was logged out."""
    page = f"/review/drafts/{draft['id']}"
    action = f"{page}/variants/{draft['variants'][0]['id']}/edit"
    browser, open_page = _signed_out_after_opening(client, api_key, page)
    login = browser.post(action, data=form_of(open_page, action, subject="Ann's subject from before"))
    client.patch(f"/drafts/{draft['id']}/variants/{draft['variants'][0]['id']}", json={"subject": "Bob's subject now"})

    again = browser.post("/review/login", data=form_of(login.text, "/review/login", api_key=api_key, reviewer="Ann"))
    refused = browser.post(action, data=form_of(again.text, action))
    assert refused.status_code == 409
    assert 'readonly lang="en" dir="auto" value="Ann&#39;s subject from before"' in refused.text
    assert client.get(f"/drafts/{draft['id']}").json()["variants"][0]["subject"] == "Bob's subject now"


@pytest.mark.parametrize(
    "carried",
    [
        '{"action": "/review/logout", "fields": []}',
        '{"action": "https://elsewhere.example/review/drafts/1/approve", "fields": []}',
        '{"action": "/review/drafts/1/approve", "fields": [["comment", 5]]}',
        "not json at all",
    ],
)
def test_a_login_with_a_carried_form_not_of_the_review_page_goes_on_as_a_plain_login(carried, draft, api_key, client):
    browser = TestClient(client.app)
    page = f"/review/drafts/{draft['id']}"
    data = {"api_key": api_key, "reviewer": "Ann", "next": page, "carried": carried}
    answer = browser.post("/review/login", data=data, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == page


def test_a_form_posted_after_the_session_ended_leads_back_to_the_draft_saying_it_was_not_saved(draft, api_key, client):
    """Signed out in another tab, a Save landed on a bare login page and then on the campaigns list: the edit was
    lost without a word, and the draft had to be found again. (A form too big to carry through the login page is
    not offered again, but the login page says it was not done and leads back.)"""
    page = f"/review/drafts/{draft['id']}"
    action = f"{page}/variants/{draft['variants'][0]['id']}/edit"
    browser, open_page = _signed_out_after_opening(client, api_key, page)

    sent = form_of(open_page, action, intro="x" * (CARRIED_MAX + 1))
    sent_away = browser.post(action, data=sent, follow_redirects=False)
    assert sent_away.status_code == 303
    assert sent_away.headers["location"] == f"/review/login?next=%2Freview%2Fdrafts%2F{draft['id']}&why=session-ended"
    login = browser.get(sent_away.headers["location"])
    assert "Your review session had ended" in login.text and "an edit you typed was not saved" in login.text
    assert f'name="next" value="{page}"' in login.text
    back = browser.post(
        "/review/login", data={"api_key": api_key, "reviewer": "Ann", "next": page}, follow_redirects=False
    )
    assert back.headers["location"] == page
    assert "Your review session had ended" not in browser.get("/review/login").text
    assert client.get(f"/drafts/{draft['id']}").json()["revision"] == 0  # nothing was done
