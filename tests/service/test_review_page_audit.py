"""What a copywriter's audit of the draft and campaign pages found them not told: the copy fields' limits before
Save, the rejection's field by its own label, an update offered with nothing to update, why a link led to the login,
a variant rewritten by a person still called the brand's template copy, and an edit saved that flagged the draft."""

from __future__ import annotations

import re
from html import unescape


def _flagged_draft(client, engine, **variant) -> int:
    """A campaign with one flagged draft of one variant (``variant``: its columns besides the defaults); its id."""
    from service.db.models import Customer, Draft, Variant
    from service.db.session import session_scope

    body = {"name": "Audit", "brand": "hearth", "campaign_type": "cross_sell"}
    campaign_id = client.post("/campaigns", json=body).json()["id"]
    copy = {"label": "A", "subject": "A subject of words", "preheader": "A preheader", "intro": "An intro.", **variant}
    with session_scope(engine) as session:
        customer = Customer(external_id="c1", email="c1@example.com", first_name="Ann", locale="en",
                            marketing_consent=True)  # fmt: skip
        draft = Draft(campaign_id=campaign_id, customer=customer, status="flagged", flagged=True,
                      variants=[Variant(html="<p>A</p>", text="A", **copy)])  # fmt: skip
        session.add(draft)
        session.flush()
        return draft.id


def a_product_written_now(engine) -> None:
    """A product written to the catalog now, after the drafts there are, which none of them shows."""
    from service.db.models import Product
    from service.db.session import session_scope

    with session_scope(engine) as session:
        session.add(Product(sku="NEW1", name="Genmaicha", price=6.0, currency="EUR", url="https://shop.example/new1"))


def a_shown_product_changed(engine, draft_id: int) -> None:
    """A product that the draft shows at 5.50 EUR, costing 6.00 EUR in the catalog now: what has the campaign's page
    offer the update with the catalog's facts (a product no draft shows does not)."""
    from service.db.models import Draft
    from service.db.session import session_scope

    a_product_written_now(engine)
    shown = {"product_id": "NEW1", "name": "Genmaicha", "category": "", "price": 5.5, "currency": "EUR",
             "url": "https://shop.example/new1", "description": ""}  # fmt: skip
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        draft.recommendations = [*(draft.recommendations or []), shown]


def _field(page: str, name: str) -> str:
    """The edit form's field ``name`` (its tag, up to its first ``>``)."""
    return re.search(rf'<(?:input type="text"|textarea) name="{name}"[^>]*>', page).group(0)


def test_the_copy_fields_tell_their_limits_before_save(client, engine, monkeypatch):
    """A subject of 230 characters was refused only at Save ("longer than the 200 characters it may have"), and one
    of 80 only flagged by the length check afterwards: the fields said neither."""
    from generation.guardrails import length

    monkeypatch.setitem(length.LIMITS, "subject", (8, 55))  # the check's own number, read where it is set
    draft_id = _flagged_draft(client, engine, subject="  Spring tea for you  ", product_lines=["A line for a tea"])
    page = client.get(f"/review/drafts/{draft_id}").text
    for name, most in (("subject", 200), ("preheader", 300), ("intro", 2000), ("product_line", 300)):
        field = _field(page, name)
        assert f'maxlength="{most}"' in field, name  # as VariantEdit refuses more
        described = re.search(r'aria-describedby="([^"]+)"', field).group(1)
        hint = re.search(rf'<div class="[^"]*" id="{described}"[^>]*>(.*?)</div>', page).group(1)
        assert f"an edit holds at most {most}" in unescape(re.sub(r"<[^>]+>", "", hint)), name
    subject_hint = re.search(r'id="subject-length-\d+"[^>]*>(.*?)</div>', page).group(1)
    assert re.sub(r"<[^>]+>", "", subject_hint) == (
        "18 characters · the length check passes 8 to 55 · an edit holds at most 200"  # blank ends not counted
    )
    intro_hint = re.search(r'class="muted length-hint fail" id="intro-length-\d+"[^>]*>(.*?)</div>', page)
    assert intro_hint and re.sub(r"<[^>]+>", "", intro_hint.group(1)).startswith(
        "9 characters · the length check passes 20 to 300"  # too short: marked
    )


def test_an_edit_refused_for_a_field_marks_it_and_keeps_its_hint(client, engine):
    """The error's id and the hint's are both the field's description."""
    draft_id = _flagged_draft(client, engine)
    page = client.get(f"/review/drafts/{draft_id}").text
    variant_id = re.search(r'data-variant-id="(\d+)"', page).group(1)
    refused = client.post(f"/review/drafts/{draft_id}/variants/{variant_id}/edit", data={"subject": "x" * 201})
    assert refused.status_code == 422
    field = _field(refused.text, "subject")
    assert f'aria-describedby="edit-error-{variant_id} subject-length-{variant_id}" aria-invalid="true"' in field


def test_a_rejection_of_a_blank_reason_names_the_field_as_it_is_labelled(client, engine):
    """Rejecting with a reason of spaces said "Comment: say why…", of a field the page labels "Why reject?"."""
    draft_id = _flagged_draft(client, engine)
    refused = client.post(f"/review/drafts/{draft_id}/reject", data={"comment": "   "})
    assert refused.status_code == 422 and "<label>Why reject?<input" in refused.text
    said = unescape(re.search(r'<p class="error" id="error">(.*?)</p>', refused.text).group(1))
    assert said.startswith("“Why reject?”: say why the draft is rejected") and "Comment" not in said


def test_a_link_followed_after_the_session_ended_says_why_the_login_is_asked_and_leads_on(client, engine, api_key):
    """After a session ended, "next to review" (or a search) showed the login page with no reason: only a form sent
    had a note."""
    from fastapi.testclient import TestClient

    from service.auth import SESSION_HOURS

    draft_id = _flagged_draft(client, engine)
    browser = TestClient(client.app)
    browser.post("/review/login", data={"api_key": api_key, "reviewer": "Ann"})
    ended = {"tailor_session": browser.cookies["tailor_session"]}
    browser.post("/review/logout")  # as in another tab: this tab's links go on with the cookie it had
    for link in (f"/review/drafts/{draft_id}?status=flagged", "/review/campaigns/1?customer=Ann"):
        sent = TestClient(client.app, cookies=ended).get(link)
        assert sent.status_code == 200 and "<h1>Log in</h1>" in sent.text, link
        note = unescape(re.search(r'id="login-note">(.*?)</p>', sent.text).group(1))
        assert note.startswith("Log in to go on to the page you opened: this browser has no review session now")
        assert f"over {SESSION_HOURS} hours old" in note
        onward = browser.post(
            "/review/login", data={"api_key": api_key, "reviewer": "Ann", "next": unescape(
                re.search(r'name="next" value="([^"]*)"', sent.text).group(1))}, follow_redirects=False,
        )  # fmt: skip
        assert onward.headers["location"] == link
    assert 'id="login-note"' not in browser.get("/review/login").text  # opened as itself: nothing to explain


def test_a_template_variant_rewritten_by_a_person_is_no_longer_called_template_copy(client, engine):
    """After a copywriter rewrote a variant of the brand's template copy, its heading still said "template subject
    and intro" and "Why template copy" stayed, of copy now theirs."""
    failed = {"name": "spam_triggers", "passed": True, "reason": "", "turned_down": "the model's subject said FREE!!!"}
    draft_id = _flagged_draft(client, engine, used_fallback=True, checks=[failed])
    page = client.get(f"/review/drafts/{draft_id}").text
    assert "template subject and intro" in page and "Why template copy:" in page  # as generated: so it is
    variant_id = re.search(r'data-variant-id="(\d+)"', page).group(1)
    saved = client.post(
        f"/review/drafts/{draft_id}/variants/{variant_id}/edit",
        data={"subject": "Our own subject, rewritten", "preheader": "Our own preheader", "intro": "An intro of ours."},
    )
    assert saved.status_code == 200 and "is saved" in saved.text
    heading = unescape(re.sub(r"<[^>]+>", "", re.search(r'<h2 id="variant-\d+-title">(.*?)</h2>', saved.text).group(1)))
    assert "template subject and intro" not in heading and "edited from the brand's template copy" in heading
    why = re.sub(r"<[^>]+>", "", re.search(r'class="turned-down"[^>]*>(.*?)</div>', saved.text, re.S).group(1))
    assert why.startswith("Why it began as template copy, before it was edited: the model's copy failed")
    assert "the model's subject said FREE!!!" in unescape(why)  # the history stays


def test_the_update_with_the_catalog_s_facts_is_offered_only_once_the_catalog_changed(client, engine):
    """ "Update out-of-date drafts…" was offered with no draft out of date: clicking it ran a job that said
    "Updated 0 drafts"."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.db.models import Draft, Product
    from service.db.session import session_scope

    with session_scope(engine) as session:
        written_before = utcnow() - timedelta(days=1)
        session.add(Product(sku="S1", name="Sencha", price=7.5, currency="EUR", url="https://shop.example/s1",
                            created_at=written_before, updated_at=written_before))  # fmt: skip
    draft_id = _flagged_draft(client, engine)
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        draft.recommendations = [{"product_id": "S1", "name": "Sencha", "price": 7.5, "currency": "EUR",
                                  "url": "https://shop.example/s1"}]  # fmt: skip
        campaign_page = f"/review/campaigns/{draft.campaign_id}"
    assert 'id="refresh-facts"' not in client.get(campaign_page).text  # nothing the catalog changed since

    with session_scope(engine) as session:
        session.query(Product).filter_by(sku="S1").one().price = 8.25
    page = client.get(campaign_page).text
    assert 'id="refresh-facts"' in page and "Update out-of-date drafts with the catalog" in page


def test_an_intro_the_form_lets_be_typed_is_not_refused_for_its_line_breaks(client, engine):
    """The intro's box holds 2,000 characters, a line break one, as the browser counts; it sends each as CR LF, two,
    and the edit was refused as longer than the 2,000 characters it may have."""
    draft_id = _flagged_draft(client, engine)
    page = client.get(f"/review/drafts/{draft_id}").text
    variant_id = re.search(r'data-variant-id="(\d+)"', page).group(1)
    typed = "Tea.\r\n" * 400  # 2,000 characters in the box, 2,400 sent
    saved = client.post(
        f"/review/drafts/{draft_id}/variants/{variant_id}/edit", data={"subject": "A subject", "intro": typed}
    )
    assert saved.status_code == 200 and "is saved" in saved.text
    stored = client.get(f"/drafts/{draft_id}").json()["variants"][0]["intro"]
    assert stored == "Tea.\n" * 399 + "Tea."  # one kind of line break, the blank end left out


def test_an_update_that_finds_no_draft_out_of_date_says_so(client, engine):
    """An update asked for when no draft shows a fact the catalog changed (from a page read before the drafts were
    updated otherwise, or over the API): the job that found none of the drafts' facts changed said "Updated 0
    drafts", as if it had failed to."""
    from tests.service.conftest import wait_for_job

    draft_id = _flagged_draft(client, engine)
    a_product_written_now(engine)
    campaign_id = client.get(f"/drafts/{draft_id}").json()["campaign_id"]
    started = client.post(f"/review/campaigns/{campaign_id}/refresh-facts", follow_redirects=False)
    assert wait_for_job(client, started.headers["location"].rpartition("=")[2])["status"] == "succeeded"
    said = unescape(re.search(r'id="refresh-progress"[^>]*>(.*?)</p>', client.get(started.headers["location"]).text)[1])
    assert said == (
        "No pending or flagged draft was out of date: the catalog changed no fact of their products. Nothing to update."
    )


def _comment_field(page: str, form: str) -> str:
    """The comment field of the form ``form`` (approve, reject, reopen): its tag."""
    start = page.index(f'id="{form}-form"')
    return re.search(r'<input type="text" name="comment"[^>]*>', page[start:]).group(0)


def _described_by(page: str, field: str) -> str:
    """What the hint the field names in its aria-describedby says, as read (its last id: the error's comes first)."""
    described = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()[-1]
    hint = re.search(rf'<div class="[^"]*" id="{described}"[^>]*>(.*?)</div>', page).group(1)
    return unescape(re.sub(r"<[^>]+>", "", hint))


def test_the_review_comments_tell_their_limit_before_they_are_sent(client, engine):
    """The approval's, rejection's and reopening's comments took any length and told the 5,000 characters a comment
    holds only once sent; told as the copy fields tell theirs, a maxlength and a count."""
    draft_id = _flagged_draft(client, engine)
    page = client.get(f"/review/drafts/{draft_id}").text
    for form in ("approve", "reject"):
        field = _comment_field(page, form)
        assert 'maxlength="5000"' in field, form
        assert _described_by(page, field) == "0 characters · a comment holds at most 5,000", form
    client.post(f"/review/drafts/{draft_id}/reject", data={"comment": "Too pushy"})
    page = client.get(f"/review/drafts/{draft_id}").text
    field = _comment_field(page, "reopen")
    assert 'maxlength="5000"' in field and _described_by(page, field).startswith("0 characters")


def test_a_comment_refused_for_its_length_keeps_its_text_its_error_and_its_count(client, engine):
    draft_id = _flagged_draft(client, engine)
    typed = "Checked. " * 600  # 5,400 characters: sent by a form that had no maxlength, or by hand
    refused = client.post(f"/review/drafts/{draft_id}/reject", data={"comment": typed})
    assert refused.status_code == 422
    field = _comment_field(refused.text, "reject")
    assert f'value="{typed}"' in field and 'aria-invalid="true"' in field
    assert re.search(r'aria-describedby="error reject-comment-length"', field)
    hint = re.search(r'<div class="([^"]*)" id="reject-comment-length"', refused.text).group(1)
    assert "fail" in hint.split() and _described_by(refused.text, field).startswith(f"{len(typed.strip())} characters")


def test_an_edit_saved_that_fails_a_check_says_so_beside_saved(client, engine):
    """A subject saved that its checks then failed turned the draft flagged, and the page said only "Your edit of
    variant A is saved": the badge changed without a word, which a screen reader, reading the status, never said."""
    draft_id = _flagged_draft(client, engine)
    page = client.get(f"/review/drafts/{draft_id}").text
    variant_id = re.search(r'data-variant-id="(\d+)"', page).group(1)
    form = {"subject": "70% off everything, today only!!! FREE shipping", "preheader": "A preheader", "intro": "Hi."}
    saved = client.post(f"/review/drafts/{draft_id}/variants/{variant_id}/edit", data=form)
    assert saved.status_code == 200 and "?done=saved" in str(saved.url)
    said = unescape(re.search(r'<p class="card" id="done" role="status">(.*?)</p>', saved.text).group(1))
    assert said.startswith("Your edit of variant A is saved; the preview shows it. It fails the checks ")
    assert "spam words" in said and said.endswith(", so the draft is flagged for a person.")
    mended = {"subject": "A subject of words", "preheader": "A preheader", "intro": "An intro that says enough."}
    saved = client.post(f"/review/drafts/{draft_id}/variants/{variant_id}/edit", data=mended)
    said = unescape(re.search(r'<p class="card" id="done" role="status">(.*?)</p>', saved.text).group(1))
    assert said == "Your edit of variant A is saved; the preview shows it."  # the checks failed now, not before
