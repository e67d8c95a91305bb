"""The review page in a real browser: log in, see the campaign's cost and forecast, open a draft, edit its
subject, approve it, and reject another with a reason; an edit over the limits, an approval of a variant that
failed checks, a stale tab and a missing draft each come back as words on a page."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def _campaign_of_two(engine, demo_files) -> int:
    """A trained shop with one generated campaign of two drafts, as `make run` leaves it; its id. It is generated once
    for each set of settings (the model's among them) and copied into the later tests' databases, as a trained shop
    is (tests.service.conftest._trained_once): generating it took 1-3 s of CPU, for each of some 25 browser tests."""
    import os

    from sqlalchemy import select

    from service.db.models import Campaign
    from service.db.session import session_scope
    from service.pipeline.campaign_runs import create_and_generate
    from tests.service.conftest import _trained_once, trained_in_process

    def generated() -> None:
        trained_in_process(engine, demo_files)
        create_and_generate(
            engine, campaign_type="cross_sell", brand="hearth", limit=2, name="Browser test", audience_query=None
        )

    model = tuple(sorted((name, value) for name, value in os.environ.items() if name.startswith("TAILOR_LLM_")))
    _trained_once(engine, ("campaign of two", model), demo_files, generated)
    with session_scope(engine) as session:
        return session.scalars(select(Campaign.id).where(Campaign.name == "Browser test")).one()


@pytest.fixture
def shop_with_campaign(engine, demo_files):
    """The campaign written by the real local LLM."""
    return _campaign_of_two(engine, demo_files)


@pytest.fixture
def shop_with_fake_campaign(engine, demo_files, monkeypatch):
    """The campaign written by the fake model: for what the page does with drafts, not what the model writes."""
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    return _campaign_of_two(engine, demo_files)


def _answer_next_dialog(page, asked: list[str], accept: bool) -> None:
    """Accept or dismiss the next dialog ``page`` opens, its message added to ``asked``."""

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", answer)


def _logged_in(browser, live_server: str, api_key: str, landing: str | None = None):
    """A page logged in to the review page, in ``browser`` (or a context of its, whose tabs share the login); with
    ``landing`` (a path), once the login has led on to that page of the server, as the login a page asked for
    without a session leads on to it (``?next=``): logging in and then opening the page loaded the campaigns' list
    in between, for nothing."""
    from urllib.parse import urlencode

    page = browser.new_page()
    asked_for = f"?{urlencode({'next': landing})}" if landing not in (None, "/review") else ""  # /review: the default
    page.goto(f"{live_server}/review/login{asked_for}")
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    if landing is not None:
        page.wait_for_url(f"{live_server}{landing}")
    return page


@pytest.mark.llm
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_copywriter_edits_and_approves_a_draft(shop_with_campaign, live_server, api_key, tmp_path, browser):
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{live_server}/review/campaigns/{shop_with_campaign}")
    campaign_page = f"{live_server}/review/campaigns/{shop_with_campaign}"
    expect(page).to_have_url(f"{live_server}/review/login?next=%2Freview%2Fcampaigns%2F{shop_with_campaign}")
    page.fill("#reviewer", "Zofia Nowak")
    page.fill("#api_key", "tk_not_a_key")
    page.click("button[type=submit]")
    expect(page.locator(".error")).to_contain_text("unknown or revoked")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page).to_have_url(campaign_page)  # back to the page asked for
    expect(page.locator("#signed-in-as")).to_have_text("reviewing as Zofia Nowak")
    rows = page.locator("#drafts tr[data-draft-id]")
    expect(rows).to_have_count(2)
    expect(page.locator("#generation-cost")).to_contain_text("LLM calls")  # cost and latency per campaign
    expect(page.locator("#generation-cost")).to_contain_text("s a draft")
    expect(page.locator("#forecast-revenue")).to_contain_text("revenue")
    rows.first.locator("a").click()
    expect(page.locator("iframe.preview")).to_be_visible()
    chosen = page.locator(".card.selected form").first
    chosen.locator("input[name=subject]").fill("Hand-picked for your kitchen")
    chosen.locator("button[name=save]").click()
    expect(page.locator(".card.selected input[name=subject]")).to_have_value("Hand-picked for your kitchen")
    expect(page.locator(".card.selected h2")).to_contain_text("edited")
    page.click("#approve")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator(".card.selected strong")).to_have_text("Hand-picked for your kitchen")
    expect(page.locator("#inbox")).to_contain_text("Subject Hand-picked for your kitchen")  # as it will be sent
    page.screenshot(path=str(tmp_path / "approved.png"), full_page=True)
    page.goto(f"{live_server}/review/campaigns/{shop_with_campaign}")
    expect(page.locator("#drafts .badge.approved")).to_have_count(1)
    rows.nth(1).locator("a").click()
    page.fill("form[action$='/reject'] input[name=comment]", "too generic for a VIP")
    page.click("#reject")
    expect(page.locator("#status")).to_have_text("rejected")
    expect(page.locator("text=too generic for a VIP")).to_be_visible()  # the review history keeps why
    expect(page.locator("text=reject by Zofia Nowak")).to_be_visible()  # and who, not the shared key's name
    page.click("#sign-out")  # a shared machine: the browser forgets the key and the name
    expect(page).to_have_url(f"{live_server}/review/login")
    assert page.context.cookies() == []
    page.goto(campaign_page)
    expect(page).to_have_url(f"{live_server}/review/login?next=%2Freview%2Fcampaigns%2F{shop_with_campaign}")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_page_holds_edits_and_approvals_to_the_apis_rules(shop_with_fake_campaign, live_server, api_key, browser):
    from playwright.sync_api import expect

    shouty = "70% off everything, today only!!! FREE shipping"
    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    rows = page.locator("#drafts tr[data-draft-id]")
    first_url = live_server + rows.nth(0).locator("a").get_attribute("href")
    second_url = live_server + rows.nth(1).locator("a").get_attribute("href")
    page.goto(first_url)
    status = page.locator("#status").inner_text()

    chosen = page.locator(".card.selected form").first
    chosen.locator("input[name=subject]").fill("")
    chosen.locator("button[name=save]").click()
    expect(page.locator(".edit-error")).to_contain_text("Subject: cannot be empty")
    expect(page.locator("#status")).to_have_text(status)
    page.locator(".card.selected input[name=subject]").fill("x" * 500)  # the box holds what an edit may have
    expect(page.locator(".card.selected input[name=subject]")).to_have_value("x" * 200)

    page.goto(first_url)
    page.locator(".card.selected input[name=subject]").fill(shouty)
    page.locator(".card.selected button[name=save]").click()
    expect(page.locator("#status")).to_have_text("flagged")
    expect(page.locator("#flag-reasons li")).to_contain_text(["facts from the data"])  # named, not an empty list
    expect(page.locator("#flag-reasons")).to_contain_text("spam words")
    expect(page.locator("#flag-reasons")).not_to_contain_text("spam_triggers")  # no key names for a copywriter

    page.click("#approve")
    expect(page.locator("#error")).to_contain_text("failed checks (facts from the data")
    expect(page.locator("#status")).to_have_text("flagged")
    override = page.locator("#override input[name=override_checks]")
    expect(override).to_have_attribute("aria-invalid", "true")  # what the error is about, and focused
    expect(override).to_be_focused()
    page.check("#override input[name=override_checks]")
    page.click("#approve")
    expect(page.locator("#error")).to_contain_text("Comment: say why variant")
    expect(page.locator("#approve-form input[name=comment]")).to_have_attribute("aria-invalid", "true")
    assert page.locator("#override input[name=override_checks]").get_attribute("aria-invalid") is None
    # refused for another reason: the box is not at fault
    old_tab = _logged_in(browser, live_server, api_key, landing=first_url.removeprefix(live_server))
    page.locator(".card.selected input[name=preheader]").fill("A preheader edited meanwhile")
    page.locator(".card.selected button[name=save]").click()
    old_tab.check("#override input[name=override_checks]")
    old_tab.fill("#approve-form input[name=comment]", "from the old tab")
    old_tab.click("#approve")
    expect(old_tab.locator("#error")).to_contain_text("was changed since you read it")
    assert old_tab.locator("#override input[name=override_checks]").get_attribute("aria-invalid") is None
    page.check("#override input[name=override_checks]")
    page.fill("#approve-form input[name=comment]", "legal cleared the 70% claim")
    page.click("#approve")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator("text=overriding failed checks facts from the data")).to_be_visible()
    expect(page.locator("text=legal cleared the 70% claim")).to_be_visible()

    stale = _logged_in(browser, live_server, api_key, landing=second_url.removeprefix(live_server))
    page.goto(second_url)
    page.fill("form[action$='/reject'] input[name=comment]", "not this week")
    page.click("#reject")
    expect(page.locator("#status")).to_have_text("rejected")
    stale.fill("form[action$='/reject'] input[name=comment]", "from the old tab")
    stale.click("#reject")
    expect(stale.locator("#error")).to_contain_text("was changed since you read it (Ola Copywriter rejected it)")
    expect(stale.locator("#typed-comment")).to_have_value("from the old tab")  # to copy from: it was lost
    assert stale.url == second_url  # the draft's address, not the form's: Back and reload work
    expect(stale.locator("#status")).to_have_text("rejected")

    page.goto(f"{live_server}/review/drafts/99999")
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator("#error")).to_have_text("Draft 99999 does not exist.")
    page.click("#campaigns")
    expect(page.locator("h1")).to_have_text("Campaigns")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_approving_every_pending_draft_asks_first(shop_with_fake_campaign, live_server, api_key, browser):
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    pending = page.locator("#drafts .badge.pending").count()
    assert pending
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#approve-pending button")
    assert asked == [
        f"Approve the {pending} pending draft{'s' if pending != 1 else ''}? They will be sent with the campaign."
    ]
    expect(page.locator("#drafts .badge.pending")).to_have_count(pending)  # dismissed: nothing approved
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#approve-pending button")
    expect(page.locator("#drafts .badge.approved")).to_have_count(pending)
    expect(page.locator("#approve-pending")).to_have_count(0)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_review_page_runs_its_own_scripts_only(shop_with_fake_campaign, live_server, api_key, browser):
    """A draft shows copy a model wrote and product text from a shop's file: a script slipped into either by a
    mistake in escaping would have run with the reviewer's session, as the pages set no script policy. Their own
    scripts (the focus on a refused field, the question before approving every draft, the preview) still run."""
    page = _logged_in(browser, live_server, api_key)
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security" in message.text else None)
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.locator("#drafts tr[data-draft-id] a").first.click()
    page.wait_for_load_state()
    assert refused == []  # the page's own scripts, with the answer's nonce, all ran
    policy = page.evaluate("() => fetch(location.href).then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'nonce-" in policy and "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";")[0]
    page.evaluate(
        "() => { const tag = document.createElement('script'); tag.textContent = 'window.slipped = 1';"
        " document.body.append(tag); }"
    )  # as markup a mistake let through would add one
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.slipped") is None and any("script" in text for text in refused)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_an_edit_saved_after_signing_out_in_another_tab_is_offered_again(
    shop_with_fake_campaign, live_server, api_key, browser
):
    from playwright.sync_api import expect

    page = _logged_in(browser.new_context(), live_server, api_key)  # a context: two tabs share its cookie
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.locator("#drafts tr[data-draft-id] a").first.click()
    draft_page = page.url
    other_tab = page.context.new_page()
    other_tab.goto(draft_page)
    other_tab.click("#sign-out")

    page.locator(".card.selected input[name=subject]").fill("Typed before the session ended")
    page.locator(".card.selected button[name=save]").click()
    expect(page.locator("#login-note")).to_contain_text("nothing was saved or recorded")
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    expect(page.locator("#resend-form input[name=subject]")).to_have_value("Typed before the session ended")
    page.click("#resend")
    expect(page).to_have_url(re.compile(re.escape(draft_page) + r"\?preview=\d+$"))
    expect(page.locator(".card.selected input[name=subject]")).to_have_value("Typed before the session ended")
    expect(page.locator(".card.selected h2")).to_contain_text("edited")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_pages_fit_a_phone_screen(shop_with_fake_campaign, live_server, api_key, browser):
    """On a phone the page was laid out 980 px wide (no viewport), and the draft page's two columns pushed the
    preview off the screen."""
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=3)
    page = _logged_in(phone, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    pages = [page.url, f"{live_server}/review"]
    draft = page.locator("#drafts a[href^='/review/drafts/']").first.get_attribute("href")
    pages.append(f"{live_server}{draft}")
    for url in pages:
        page.goto(url)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert page.evaluate("window.innerWidth") == 390 and width <= 390, (url, width)
    preview = page.locator("iframe.preview").bounding_box()
    assert preview is not None and preview["x"] >= 0 and preview["x"] + preview["width"] <= 390


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_an_edit_not_saved_is_not_lost_without_a_word(shop_with_fake_campaign, live_server, api_key, browser):
    """A subject typed and not saved was thrown away when the copywriter clicked Approve; and a refused action's
    page stood at the form's address, which a bookmark or Back opened as a 405 page."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    draft_url = live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href")
    page.goto(draft_url)
    status = page.locator("#status").inner_text()
    page.locator(".card.selected input[name=subject]").fill("Typed, not saved")
    asked = []
    _answer_next_dialog(page, asked, accept=False)
    page.click("#approve")
    assert asked and "not saved" in asked[0]
    expect(page.locator("#status")).to_have_text(status)  # nothing was sent: the person stays with the edit
    expect(page.locator(".card.selected input[name=subject]")).to_have_value("Typed, not saved")
    page.locator(".card.selected button[name=save]").click()  # saving asks nothing
    expect(page.locator(".card.selected input[name=subject]")).to_have_value("Typed, not saved")
    assert len(asked) == 1

    page.goto(f"{draft_url}/approve")  # a form's address opened as a page: the draft
    assert page.url == draft_url


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_saving_one_variant_asks_before_losing_an_edit_typed_in_another(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """A copywriter comparing variants typed a subject into variant A, then rewrote B's intro and saved B: the page
    reloaded with A as it was, its subject thrown away without a word (saving asked nothing, whatever the other
    forms held)."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.goto(live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href"))
    first, second = page.locator("form[action$='/edit']").nth(0), page.locator("form[action$='/edit']").nth(1)
    first_label, second_label = (page.locator("[data-variant-id] h2").nth(i).inner_text().split()[1] for i in (0, 1))
    first.locator("input[name=subject]").fill("Typed into the first variant")
    second.locator("textarea[name=intro]").fill("Rewritten in the second variant, and saved.")
    asked = []
    _answer_next_dialog(page, asked, accept=False)
    second.locator("button[name=save]").click()
    lost = "is not saved: it is lost if you go on. Go on without saving it?"
    assert asked == [f"Your edit of variant {first_label} {lost}"]
    expect(first.locator("input[name=subject]")).to_have_value("Typed into the first variant")  # still there
    expect(page.locator("#done")).to_have_count(0)  # and nothing was sent

    _answer_next_dialog(page, asked, accept=True)
    first.locator("button[name=save]").click()  # asked of the second's intro, never of the form's own edit
    expect(page.locator("#done")).to_contain_text(f"Your edit of variant {first_label} is saved")
    expect(page.locator("form[action$='/edit'] input[name=subject]").nth(0)).to_have_value(
        "Typed into the first variant"
    )
    assert asked[1:] == [f"Your edit of variant {second_label} {lost}"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_page_serves_a_keyboard_and_a_screen_reader(shop_with_fake_campaign, live_server, api_key, engine, browser):
    """From an accessibility audit (WCAG 2.2): the campaign page reloaded itself every 15 s while drafts were
    written, losing what was typed and the focus; a refused edit left the focus at the page's start, its field
    unmarked and the message unnamed by variant; a done action reloaded the page without a word; the copy shown
    outside the edit fields was read as English whatever its language; there was no way past the header."""
    from playwright.sync_api import expect

    from service.db.models import Campaign
    from service.db.session import session_scope

    def campaign_status(status: str) -> None:
        with session_scope(engine) as session:
            session.get(Campaign, shop_with_fake_campaign).status = status

    page = _logged_in(browser, live_server, api_key)
    page.clock.install()
    campaign_status("generating")
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.keyboard.press("Tab")  # the first stop: past the header
    expect(page.locator(":focus")).to_have_text("Skip to content")
    search = page.locator("#find-customer input[name=customer]")
    search.fill("Sab")
    search.focus()
    page.clock.run_for(16_000)
    expect(page.locator("#written-so-far")).to_have_text("Now drafts 2.")
    expect(search).to_have_value("Sab")
    expect(search).to_be_focused()
    campaign_status("ready")
    page.clock.run_for(16_000)
    expect(page.locator("#generation-ended")).to_have_text("Generation has ended (ready): reload to see every draft.")
    expect(search).to_have_value("Sab")
    campaign_status("generating")  # a session that ends meanwhile is said, not asked again for ever (review)
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.context.clear_cookies()
    page.clock.run_for(16_000)
    ended = "This page could not be read again (your session has ended): reload it."
    expect(page.locator("#generation-ended")).to_have_text(ended)
    campaign_status("ready")
    page = _logged_in(browser, live_server, api_key)

    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.goto(live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href"))
    chosen = page.locator(".card.selected")
    label = chosen.locator("h2").inner_text().split()[1]  # "Variant B · chosen"
    chosen.locator("input[name=subject]").fill("")
    chosen.locator("button[name=save]").click()
    subject = page.locator(".card.selected input[name=subject]")
    expect(subject).to_be_focused()
    expect(subject).to_have_attribute("aria-invalid", "true")
    error_id, hint_id = subject.get_attribute("aria-describedby").split()  # the error, then the length hint
    expect(page.locator(f"#{error_id}")).to_contain_text("Subject: cannot be empty")
    expect(page.locator(f"#{hint_id}")).to_contain_text("0 characters · the length check passes")
    expect(page.locator("#error")).to_contain_text(f"Variant {label}: Subject: cannot be empty")
    assert page.title().startswith("Error: ")

    page.goto(page.url.split("?")[0])  # the draft as it is, the edit left
    page.click("#approve")
    expect(page.locator("#done")).to_have_text(f"Approved, with variant {label} chosen.")
    assert "(approved)" in page.title() and "done=" not in page.url  # said once, not again on reload
    written_in = page.locator(".card.selected [name=subject], .card.selected p[lang]").first.get_attribute("lang")
    assert written_in and page.locator("#inbox strong").get_attribute("lang") == written_in


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_refused_login_marks_and_focuses_the_field_at_fault(live_server, api_key, browser):
    """From an accessibility audit: a refused login left the focus on the page's start, and a name of spaces (which
    the browser's `required` lets through) marked the API key as the field at fault, read out with the name's
    error, while the name field was not marked."""
    from playwright.sync_api import expect

    page = browser.new_page()
    page.goto(f"{live_server}/review/login")
    name, key = page.locator("#reviewer"), page.locator("#api_key")
    name.focus()
    page.keyboard.type("   ")
    page.keyboard.press("Tab")
    page.keyboard.type(api_key)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_accessible_description("Give your name: it is recorded with every review you make.")
    assert key.get_attribute("aria-invalid") is None and key.get_attribute("aria-describedby") is None

    page.keyboard.type("Ola Copywriter")
    page.keyboard.press("Tab")
    page.keyboard.type("tk_not_a_key")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(key).to_be_focused()
    expect(key).to_have_attribute("aria-invalid", "true")
    expect(key).to_have_accessible_description(re.compile("unknown or revoked"))
    assert name.get_attribute("aria-invalid") is None
    page.keyboard.type(api_key)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("#signed-in-as")).to_have_text("reviewing as Ola Copywriter")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_drafts_written_so_far_are_told_to_a_screen_reader_once(
    shop_with_fake_campaign, live_server, api_key, engine, browser
):
    """From an accessibility audit (WCAG 4.1.3): while drafts were written, the count the page asks for every 15 s
    changed on the screen but was in no status region, so a screen reader said nothing of the progress."""
    from playwright.sync_api import expect

    from service.db.models import Campaign
    from service.db.session import session_scope

    with session_scope(engine) as session:
        session.get(Campaign, shop_with_fake_campaign).status = "generating"
    page = _logged_in(browser, live_server, api_key)
    page.clock.install()
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    asked = []
    page.on("requestfinished", lambda request: asked.append(request) if request.resource_type == "fetch" else None)
    progress = page.get_by_role("status").filter(has=page.locator("#written-so-far"))
    expect(progress).to_have_count(1)
    page.evaluate(
        """() => { window.changes = 0; new MutationObserver(rs => { window.changes += rs.length; }).observe(
          document.getElementById("written-so-far"), {childList: true, characterData: true, subtree: true}); }"""
    )
    page.clock.run_for(16_000)
    expect(progress).to_have_text("Now drafts 2.")
    page.clock.run_for(16_000)  # asked again, the same count: nothing new to read out
    for _ in range(50):
        if len(asked) == 2:
            break
        page.wait_for_timeout(100)
    page.wait_for_timeout(300)  # the answer read and compared
    assert len(asked) == 2 and page.evaluate("window.changes") == 1

    # the server out of reach: said in place of the count (which went on showing, as if live), then the count
    page.route("**/review/campaigns/*", lambda route: route.abort("connectionrefused"))
    page.clock.run_for(16_000)
    expect(progress).to_have_text("Tailor cannot be reached just now, so the count may be out of date: asking again.")
    page.unroute("**/review/campaigns/*")
    page.clock.run_for(31_000)  # it waits twice as long after a failure
    expect(progress).to_have_text("Now drafts 2.")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_search_or_a_filter_of_drafts_is_said_in_the_page_title(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """From an accessibility audit (WCAG 2.4.2): the campaign's page had one title whatever it showed, so after
    Find or a status filter reloaded it a screen reader said the same words, and a search that found no one said
    so only in a paragraph further down."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    name = page.title().removesuffix(" · Tailor")  # the campaign's whole list: its name alone
    page.locator("#find-customer input[name=customer]").focus()
    page.keyboard.type("Nobody")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_title(f"{name}: drafts for “Nobody”, none found · Tailor")
    expect(page.locator("#no-such-customer")).to_be_visible()
    page.goto(f"{live_server}/review/campaigns/{shop_with_fake_campaign}")
    page.get_by_role("navigation", name="drafts to show").get_by_role("link", name=re.compile("^pending")).focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_title(f"{name}: pending drafts · Tailor")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_what_was_typed_before_a_conflict_is_grouped_and_named_as_the_form_names_it(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """From an accessibility audit (WCAG 1.3.1, 2.4.6): after an edit conflict the read-only copy of what was typed
    had fields named "Subject", "Preheader"… like the form's below, in no group its heading named, and its product
    lines were "Product line 1…" where the form says "Line for <product>"."""
    from playwright.sync_api import expect

    context = browser.new_context()
    mine = _logged_in(context, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    draft_url = live_server + mine.locator("#drafts tr[data-draft-id] a").first.get_attribute("href")
    mine.goto(draft_url)
    form = mine.locator(".card.selected form")
    line_name = form.locator("label:has(input[name=product_line])").first.inner_text().strip()
    assert line_name.startswith("Line for ") and line_name != "Line for product 1"
    other = context.new_page()  # another reviewer approves the draft meanwhile
    other.goto(draft_url)
    other.click("#approve")
    expect(other.locator("#status")).to_have_text("approved")

    form.locator("input[name=subject]").fill("Typed while another approved")
    form.locator("input[name=product_line]").first.fill("A line typed while another approved.")
    form.locator("button[name=save]").click()
    typed = mine.get_by_role("group", name=re.compile("^What you typed"))
    expect(typed.get_by_role("textbox", name="Subject", exact=True)).to_have_value("Typed while another approved")
    line = typed.get_by_role("textbox", name=line_name, exact=True)
    expect(line).to_have_value("A line typed while another approved.")
    expect(typed.get_by_role("textbox", name=re.compile("^Product line"))).to_have_count(0)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_draft_search_says_what_it_finds_by_in_words_that_can_be_read(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """From an accessibility audit (WCAG 1.4.3, 3.3.2): "id, email or first name" was only the search box's
    placeholder, drawn in Chromium's grey at about 2.3:1 against white, and gone once anything was typed."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    search = page.get_by_role("searchbox", name=re.compile("id, email or first name"))
    search.fill("Sab")
    hint = page.locator("#find-customer label")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("id, email or first name")  # still said with something typed
    muted = page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--muted').trim()")
    color = hint.evaluate("label => getComputedStyle(label).color")
    assert muted == "#5b6575" and color == "rgb(91, 101, 117)", color
    assert search.get_attribute("placeholder") is None


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_the_draft_page_never_scrolls_sideways_around_its_breakpoint(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """The draft page's two columns need 848 px (360 + 20 + 420 and the page's padding) and the one-column layout
    began at 820 px: at 821, 822 and 823 px the page scrolled sideways by 3, 2 and 1 px. The page is loaded once and
    resized to each width: its layout is its style sheet's alone, which the browser applies again at every size (no
    script of the page reads its width), and loading it anew at each of the 51 widths took half a minute."""
    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.goto(live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href"))
    scrolled = {}
    for width in [*range(810, 860), 1024]:
        page.set_viewport_size({"width": width, "height": 900})
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if overflow > 0:
            scrolled[width] = overflow
    assert scrolled == {}


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_screen_reader_finds_the_drafts_by_heading_each_row_by_its_customer_and_variants_by_their_names(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """The drafts table had no heading to jump to, its cells were read without the customer they belong to, and
    a variant's heading was read "Variant B preview variant B", its preview link inside it."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    expect(page.get_by_role("heading", name="Drafts", level=2)).to_have_count(1)
    table = page.get_by_role("region", name="Drafts").get_by_role("table")
    rows = table.get_by_role("row").filter(has=page.get_by_role("rowheader"))
    assert rows.count() == page.locator("#drafts tr[data-draft-id]").count() > 0
    page.locator("#drafts tr[data-draft-id] a").first.click()
    headings = page.get_by_role("heading", level=2, name=re.compile("^Variant"))
    assert headings.count() >= 2
    assert not [text for text in headings.all_text_contents() if "preview" in text]
    expect(page.get_by_role("link", name=re.compile("^preview variant"))).not_to_have_count(0)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_reviewed_flagged_draft_does_not_widen_the_campaign_page_on_a_phone(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """A draft rejected (or approved) while flagged carries a "flagged" badge whose reasons are read aloud but not
    shown; those hidden words, placed where the drafts table's last column lies, escaped the table's sideways
    scrolling, and on a phone the whole campaign page scrolled sideways onto an empty band."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key)
    campaign = f"{live_server}/review/campaigns/{shop_with_fake_campaign}"
    page.goto(campaign)
    page.locator("#drafts tr[data-draft-id] a").first.click()
    page.locator(".card.selected input[name=subject]").fill("BUY NOW!!! Everything must go")
    page.locator(".card.selected button[name=save]").click()
    expect(page.locator("#status")).to_have_text("flagged")
    page.fill("#reject-form input[name=comment]", "reads as spam")
    page.click("#reject")
    expect(page.locator("#status")).to_have_text("rejected")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=3)
    page = _logged_in(phone, live_server, api_key)
    page.goto(campaign)
    expect(page.locator("#drafts .badge.flagged")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert page.evaluate("window.innerWidth") == 390 and width <= 390, width


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_link_clicked_in_the_preview_opens_its_page_in_a_tab_of_its_own(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """A product's link clicked in the email's preview opened the shop's page inside the preview, which the page's
    policy refused to frame: the preview turned into the browser's error picture until the page was reloaded."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.locator("#drafts tr[data-draft-id] a").first.click()
    preview = page.frame_locator("iframe.preview")
    link = preview.locator("a[href^='http']").first
    href = link.get_attribute("href")
    page.context.route(href, lambda route: route.fulfill(body="the shop's page", content_type="text/plain"))
    with page.context.expect_page() as opened:
        link.click()
    assert opened.value.url == href
    expect(preview.locator("a[href^='http']").first).to_have_attribute("href", href)  # the email still shown


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_long_unbroken_subject_wraps_on_a_reviewed_draft(shop_with_fake_campaign, live_server, api_key, browser):
    """An approved draft shows its copy as text, not in fields: a subject with no space to wrap at (a pasted link,
    a run of hashtags) stretched its card, and the page scrolled sideways by a thousand pixels, on a phone too."""
    from playwright.sync_api import expect

    unbroken = "#" + "tea" * 60  # 181 characters, within the subject's 200
    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.locator("#drafts tr[data-draft-id] a").first.click()
    page.locator(".card.selected input[name=subject]").fill(unbroken)
    page.locator(".card.selected input[name=preheader]").fill(unbroken)
    page.locator(".card.selected button[name=save]").click()
    page.check("#override input[name=override_checks]")
    page.fill("#approve-form input[name=comment]", "the campaign's hashtag, as marketing asked")
    page.click("#approve")
    expect(page.locator("#status")).to_have_text("approved")
    expect(page.locator(".card.selected strong")).to_have_text(unbroken)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow == 0, (width, overflow)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_an_edit_refused_for_its_values_is_still_not_saved_to_the_page(
    shop_with_fake_campaign, live_server, api_key, browser
):
    """An edit refused for one field (a product line left empty) comes back in its form as typed, and there the page
    took it for the copy as it is: Approve asked nothing, and approved the old subject while the new one stood in
    the field."""
    from playwright.sync_api import expect

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.locator("#drafts tr[data-draft-id] a").first.click()
    status = page.locator("#status").inner_text()
    page.locator(".card.selected input[name=subject]").fill("A better subject")
    page.locator(".card.selected input[name=product_line]").first.fill("")
    page.locator(".card.selected button[name=save]").click()
    expect(page.locator(".edit-error")).to_contain_text("cannot be empty")
    expect(page.locator(".card.selected input[name=subject]")).to_have_value("A better subject")
    asked = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click("#approve")
    expect(page.locator("#status")).to_have_text(status)  # nothing was sent
    assert asked and "not saved" in asked[0]
    page.locator(".card.selected input[name=product_line]").first.fill("Worth a closer look.")
    page.locator(".card.selected button[name=save]").click()  # saving it asks nothing
    expect(page.locator("#done")).to_contain_text("is saved")
    assert len(asked) == 1


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_suggested_version_is_asked_for_read_beside_the_copy_and_saved_as_an_edit(
    shop_with_fake_campaign, live_server, api_key, monkeypatch, browser
):
    """A copywriter asks the model for another version of a variant, with a note, by keyboard; reads it beside the
    copy; puts it into the edit form and saves it. A model that cannot be reached is said, the note kept."""
    from playwright.sync_api import expect

    from tests.service.conftest import use_an_unreachable_model

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{shop_with_fake_campaign}")
    page.goto(live_server + page.locator("#drafts tr[data-draft-id] a").first.get_attribute("href"))
    chosen = page.locator(".card.selected")
    label = chosen.locator("h2").inner_text().split()[1]
    before = chosen.locator("input[name=subject]").input_value()
    note = chosen.get_by_label("Note for the model")
    note.fill("warmer")
    note.press("Enter")  # the keyboard's way to send the form
    expect(page.locator("#done")).to_contain_text(f"The model suggests another version of variant {label}")
    region = page.get_by_role("region", name=re.compile(f"Suggested version of variant {label}"))
    expect(region).to_contain_text("for your note “warmer”")
    expect(region.get_by_role("row", name=re.compile("^Subject"))).to_contain_text(before)  # now, beside it
    suggested = region.locator(".suggested-subject").inner_text()
    assert suggested and suggested != before
    chosen = page.locator(".card.selected")
    expect(chosen.locator("input[name=subject]")).to_have_value(before)  # nothing changed yet
    use = region.get_by_role("button", name="Put into the edit form")
    use.focus()
    page.keyboard.press("Enter")
    subject = chosen.locator("input[name=subject]")
    expect(subject).to_have_value(suggested)
    expect(subject).to_be_focused()
    expect(region.get_by_role("status")).to_have_text(
        "The suggestion is in the edit form above, not saved yet: read it, then Save edit."
    )
    chosen.locator("button[name=save]").click()
    expect(page.locator("#done")).to_have_text(f"Your edit of variant {label} is saved; the preview shows it.")
    expect(page.locator(".card.selected input[name=subject]")).to_have_value(suggested)
    expect(
        page.get_by_text(re.compile(f"edit by Ola Copywriter .*: variant {label}: intro, preheader, subject"))
    ).to_be_visible()

    use_an_unreachable_model(monkeypatch)
    note = page.locator(".card.selected").get_by_label("Note for the model")
    note.fill("shorter subject")
    page.locator(".card.selected button[name=suggest]").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#error")).to_contain_text(f"Variant {label}: The model 'openai/gpt-4o-mini'")
    expect(page.locator(".card.selected .suggest-form .error")).to_contain_text("edit the copy yourself")
    expect(page.locator(".card.selected").get_by_label("Note for the model")).to_have_value("shorter subject")


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_copywriter_sorts_the_drafts_and_keeps_the_order_through_a_filter_and_a_draft(
    live_server, api_key, engine, browser
):
    """The drafts came flagged first only; now the page's order control sorts them, and the order stays through a
    status filter, a draft opened and "← campaign" back to the list, and, after approving the draft, through "next to
    review" (which walked flagged first, whatever the list)."""
    from playwright.sync_api import expect

    from service.db.session import session_scope
    from service.drafts import list_drafts
    from tests.service.test_draft_sorting import _campaign_of_ties

    with session_scope(engine) as session:
        campaign_id = _campaign_of_ties(session)
    with session_scope(engine) as session:
        by_opens = [str(d.id) for d in list_drafts(session, campaign_id, sort="p_open")]
        pending_by_opens = [str(d.id) for d in list_drafts(session, campaign_id, "pending", sort="p_open")]

    page = _logged_in(browser, live_server, api_key, landing=f"/review/campaigns/{campaign_id}")
    rows = page.locator("#drafts tr[data-draft-id]")
    page.get_by_label("order").select_option(label="predicted opens, highest first")
    page.locator("#sort-drafts").get_by_role("button", name="Sort").click()
    expect(page).to_have_url(re.compile(r"\?sort=p_open$"))
    expect(rows).to_have_count(len(by_opens))
    assert [rows.nth(i).get_attribute("data-draft-id") for i in range(rows.count())] == by_opens
    expect(page.get_by_role("columnheader", name="P(open)")).to_have_attribute("aria-sort", "descending")

    page.get_by_role("navigation", name="drafts to show").get_by_role("link", name=re.compile("^pending")).click()
    expect(page).to_have_url(re.compile(r"\?status=pending&sort=p_open$"))
    expect(page).to_have_title("Ties: pending drafts, in order of predicted opens, highest first · Tailor")
    expect(page.get_by_label("order")).to_have_value("p_open")
    assert [rows.nth(i).get_attribute("data-draft-id") for i in range(rows.count())] == pending_by_opens
    rows.first.locator("a").click()
    page.click("#back-to-campaign")
    expect(page).to_have_url(re.compile(r"\?status=pending&sort=p_open$"))

    # approved, the draft's page leads on to the next pending draft by predicted opens, and back to that list
    rows.first.locator("a").click()
    page.click("#approve")
    expect(page.locator("#status")).to_have_text("approved")
    page.click("#next-to-review")
    expect(page).to_have_url(re.compile(rf"/review/drafts/{pending_by_opens[1]}\?status=pending&sort=p_open$"))
    page.click("#back-to-campaign")
    expect(page).to_have_url(re.compile(r"\?status=pending&sort=p_open$"))


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_bulk_approval_sent_after_signing_out_in_another_tab_is_offered_again_on_the_campaign_page(
    live_server, api_key, client, engine, browser
):
    """Approving every pending draft after a sign-out in another tab led, after the login, to a page of its own,
    away from the campaign; now the campaign's page says it was not done and offers it again, comment kept, and
    nothing is approved until it is sent and confirmed."""
    from playwright.sync_api import expect

    from tests.service.test_campaign_forms_after_the_session_ended import two_pending_drafts

    campaign_id = two_pending_drafts(client, engine)
    campaign_page = f"{live_server}/review/campaigns/{campaign_id}"
    page = _logged_in(browser.new_context(), live_server, api_key)  # a context: two tabs share its cookie
    page.goto(campaign_page)
    other_tab = page.context.new_page()
    other_tab.goto(campaign_page)
    other_tab.click("#sign-out")

    page.locator("#approve-pending input[name=comment]").fill("checked a sample")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#approve-pending button")
    expect(page.locator("#login-note")).to_contain_text("nothing was saved or recorded")
    page.fill("#reviewer", "Ola Copywriter")
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")

    expect(page).to_have_url(campaign_page)
    expect(page.locator("#not-done")).to_contain_text("“Approve the pending drafts” was not done")
    comment = page.locator("#approve-pending input[name=comment]")
    expect(comment).to_have_value("checked a sample")
    expect(comment).to_be_focused()
    # the field the focus goes to is described by the alert: tied to nothing, the alert went unread
    expect(comment).to_have_accessible_description(re.compile(r"“Approve the pending drafts” was not done.*characters"))
    expect(page.locator("#drafts .badge.pending")).to_have_count(2)  # nothing done without asking
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.click("#approve-pending button")
    expect(page.locator("#drafts .badge.approved")).to_have_count(2)
    assert asked == ["Approve the 2 pending drafts? They will be sent with the campaign."]
