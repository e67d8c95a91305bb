"""Names and comments in a right-to-left script on the review page, beside left-to-right words: each is isolated
(<bdi>, or dir="auto" on a field), so that it neither takes the punctuation next to it into its own direction nor
lends its direction to what follows ("by דנה: מעולה!" read with its colon on the wrong side); and each copy field
takes the direction of what is typed in it. Product names and the titles and headings that name a campaign or a
customer are isolated alike (<bdi> in HTML; in a title, which holds no markup, Unicode's isolates)."""

from __future__ import annotations

import re

import pytest

from tests.service.conftest import CHROMIUM
from tests.service.test_review_page_audit import _flagged_draft

REVIEWER = "דנה כהן"
CUSTOMER = "سارة"
COMMENT = "מעולה, לשלוח!"
CAMPAIGN = "מבצע סתיו"
PRODUCT = "شاي أخضر"


def _rtl_draft(client, engine) -> int:
    """A flagged draft of a customer whose first name is Arabic; its id."""
    from service.db.models import Customer
    from service.db.session import session_scope

    draft_id = _flagged_draft(client, engine, product_lines=["A line for a tea"])
    with session_scope(engine) as session:
        session.query(Customer).filter_by(external_id="c1").one().first_name = CUSTOMER
    return draft_id


def _reviewed_page(client, engine, api_key) -> str:
    """The draft's page after a reviewer with a Hebrew name rejected it with a Hebrew comment."""
    from fastapi.testclient import TestClient

    draft_id = _rtl_draft(client, engine)
    browser = TestClient(client.app)
    browser.post("/review/login", data={"api_key": api_key, "reviewer": REVIEWER})
    browser.post(f"/review/drafts/{draft_id}/reject", data={"comment": COMMENT, "reviewing_as": REVIEWER})
    return browser.get(f"/review/drafts/{draft_id}").text


def test_names_and_comments_shown_inline_are_isolated(client, engine, api_key):
    page = _reviewed_page(client, engine, api_key)
    assert re.search(rf'id="signed-in-as">reviewing as <bdi>{REVIEWER}</bdi>', page)  # the header
    assert f"<h1>Draft for <bdi>{CUSTOMER}</bdi>" in page
    history = re.search(r"<h2>History</h2>(.*?)</div>", page, re.S).group(1)
    assert f"by <bdi>{REVIEWER}</bdi>" in history and f": <bdi>{COMMENT}</bdi>" in history


def test_product_names_and_the_titles_and_headings_naming_a_campaign_or_customer_are_isolated(client, engine):
    from service.db.models import Campaign, Draft
    from service.db.session import session_scope
    from service.review.resend import CarriedForm

    draft_id = _rtl_draft(client, engine)
    with session_scope(engine) as session:
        draft = session.get(Draft, draft_id)
        draft.recommendations = [{"product_id": "T1", "name": PRODUCT, "price": 4.5, "currency": "EUR",
                                  "because_you_bought": [PRODUCT]}]  # fmt: skip
        session.get(Campaign, draft.campaign_id).name = CAMPAIGN
        campaign_id = draft.campaign_id
    isolated = f"\u2068{CAMPAIGN}\u2069"  # first-strong isolate ... pop directional isolate

    page = client.get(f"/review/drafts/{draft_id}").text
    assert f"<title>Draft {draft_id} for \u2068{CUSTOMER}\u2069 (flagged) · Tailor</title>" in page
    assert f"<li><bdi>{PRODUCT}</bdi> " in page and f"because you bought <bdi>{PRODUCT}</bdi>" in page
    assert f"Line for <bdi>{PRODUCT}</bdi><input" in page
    form = CarriedForm(f"/review/drafts/{draft_id}/variants/1/edit", (("product_line", "a"),))
    assert form.shown([PRODUCT])[0]["label"] == f"Line for \u2068{PRODUCT}\u2069"  # the page offering it again
    page = client.get(f"/review/campaigns/{campaign_id}", params={"customer": CUSTOMER}).text
    assert f"<title>{isolated}: drafts for “\u2068{CUSTOMER}\u2069” · Tailor</title>" in page
    assert f"<h1><bdi>{CAMPAIGN}</bdi> " in page
    assert f"<bdi>{CAMPAIGN}</bdi></a>" in client.get("/review").text
    page = client.get(f"/review/campaigns/{campaign_id}/experiment").text
    assert f"<title>Experiment · {isolated} · Tailor</title>" in page and f"<bdi>{CAMPAIGN}</bdi></a></h1>" in page


def test_every_field_a_person_types_in_takes_the_direction_of_its_text(client, engine, api_key):
    from fastapi.testclient import TestClient

    draft_id = _rtl_draft(client, engine)
    browser = TestClient(client.app)
    browser.post("/review/login", data={"api_key": api_key, "reviewer": REVIEWER})
    page = browser.get(f"/review/drafts/{draft_id}").text
    fields = re.findall(r'<(?:input type="text"|textarea) name="(\w+)"[^>]*>', page)
    tags = re.findall(r'<(?:input type="text"|textarea) name="\w+"[^>]*>', page)
    assert set(fields) == {"subject", "preheader", "intro", "product_line", "note", "comment"}
    assert all('dir="auto"' in tag for tag in tags), [tag for tag in tags if 'dir="auto"' not in tag]


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (make test installs it as root)")
def test_a_right_to_left_comment_keeps_its_punctuation_where_it_ends(client, engine, live_server, api_key, browser):
    """In the history line "… by דנה כהן: מעולה, לשלוח!", the comment's "!" ends it, on its left as Hebrew runs:
    unisolated, it took the left-to-right line's direction and was drawn on the far right, after the sentence."""
    draft_id = _rtl_draft(client, engine)
    page = browser.new_page(viewport={"width": 2400, "height": 900})  # the history line on one line
    page.goto(f"{live_server}/review/login")
    page.fill("#reviewer", REVIEWER)
    page.fill("#api_key", api_key)
    page.click("button[type=submit]")
    page.goto(f"{live_server}/review/drafts/{draft_id}")
    page.get_by_label("Why reject?", exact=True).fill(COMMENT)
    page.click("#reject")
    page.wait_for_selector("#reopen-form")
    # where the comment's "!" and its first letter are drawn in the history's line
    ends, begins, on_one_line = page.evaluate(
        """comment => {
            const item = [...document.querySelectorAll('li')].find(li => li.textContent.includes(comment));
            const walker = document.createTreeWalker(item, NodeFilter.SHOW_TEXT);
            for (let node; (node = walker.nextNode());) {
                const at = node.data.indexOf(comment);
                if (at < 0) { continue; }
                const box = offset => { const range = document.createRange(); range.setStart(node, offset);
                    range.setEnd(node, offset + 1); return range.getBoundingClientRect(); };
                const ends = box(at + comment.length - 1), begins = box(at);
                return [ends.left, begins.left, ends.top === begins.top];
            }
        }""",
        COMMENT,
    )
    assert on_one_line and ends < begins  # the "!" on the comment's left, where a right-to-left sentence ends
    typed = page.get_by_label("Why?", exact=True)
    typed.fill(COMMENT)
    assert typed.evaluate("field => field.matches(':dir(rtl)')")  # the field runs as its text does
