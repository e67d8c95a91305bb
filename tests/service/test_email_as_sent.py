"""The emails of a generated campaign as a recipient's mail client gets them: sent through a real SMTP server on
loopback and read from the MIME it received, judged as inboxes and mail clients read them."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.service.conftest import CHROMIUM, generated_campaign, trained_shop, wait_for_job

# Characters that take no room in an inbox's line (combining grapheme joiner, zero-width joiners, soft hyphen).
_NO_WIDTH = re.compile("[\u034f\u200b\u200c\u200d\u00ad]")


def inbox_preview(html: str) -> str:
    """The line an inbox shows after the subject, as Gmail, Apple Mail and Outlook build it: the text of the body
    in order, hidden elements included (no client lays the email out for it), tags dropped, each run of ordinary
    white space as one space; a non-breaking space takes its room."""

    class BodyText(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.in_body, self.parts = False, []

        def handle_starttag(self, tag, attrs):
            self.in_body = self.in_body or tag == "body"
            self.parts.append(" ")

        def handle_data(self, data):
            if self.in_body:
                self.parts.append(data)

    reader = BodyText()
    reader.feed(html)
    return re.sub(r"[ \t\r\n]+", " ", _NO_WIDTH.sub("", "".join(reader.parts))).lstrip(" ")


def sent_campaign(
    client, demo_files, mail_server, monkeypatch, tracked: bool = False, **body
) -> tuple[list, dict[str, dict]]:
    """The messages the SMTP server received for a campaign generated with the fake model, every draft approved,
    and the variant each address was sent; ``tracked``, with opens and clicks tracked. Tracking is turned on once the
    shop is trained, which reads none of it: set before, it made the shop's settings another set, trained again
    (10 s of CPU) instead of the one the other tests trained being copied in."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_LLM_MODEL", "fake")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example")
    trained_shop(client, demo_files)
    if tracked:
        monkeypatch.setenv("TAILOR_TRACK_OPENS", "true")
        monkeypatch.setenv("TAILOR_TRACK_CLICKS", "true")
    campaign_id = generated_campaign(client, **body)
    sent_variants = {}
    for draft in client.get(f"/campaigns/{campaign_id}/drafts").json():
        assert client.post(f"/drafts/{draft['id']}/approve", json={}).status_code == 200
        sent_variants[draft["email"]] = next(v for v in draft["variants"] if v["id"] == draft["selected_variant_id"])
    job = wait_for_job(client, client.post(f"/campaigns/{campaign_id}/send").json()["job_id"])
    assert job["status"] == "succeeded" and job["result"]["sent"] == len(messages) > 0, job
    return messages, sent_variants


def test_the_inbox_preview_shows_the_preheader_and_none_of_the_body(client, demo_files, mail_server, monkeypatch):
    """An inbox fills the line after the subject with the preheader and then the email's first text: every email
    showed "A few ideas we picked for you Hearth & Leaf Hi Emily, We have missed you. Here are a few ideas we
    picked for you…", the brand's name, the greeting and the intro repeating the preheader's words."""
    messages, sent_variants = sent_campaign(
        client, demo_files, mail_server, monkeypatch, campaign_type="win_back", max_customers=6
    )
    for message in messages:
        preheader = sent_variants[message["To"]]["preheader"]
        preview = inbox_preview(message.get_body(("html",)).get_content())
        assert preview.startswith(preheader)
        # What the widest inbox previews show of the line after a preheader (about 140 characters) is blank.
        assert preview[len(preheader) : len(preheader) + 140].strip() == "", (message["To"], preview[:200])


def as_outlook_reads_it(html: str) -> str:
    """The HTML as Outlook for Windows (Word's engine) lays it out: what ``<!--[if mso]>`` comments hold is read as
    markup, and max-width is not known."""
    html = html.replace("<!--[if mso]>", "").replace("<![endif]-->", "")
    return re.sub(r"max-width:[^;\"]*;?", "", html)


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_the_email_stays_600_px_wide_in_outlook_and_fits_a_phone(client, demo_files, mail_server, monkeypatch, browser):
    """The email's column was held to 600 px by max-width alone, which Outlook for Windows does not know: in a
    1,200 px reading pane its lines of text ran 1,152 px wide."""
    messages, _ = sent_campaign(client, demo_files, mail_server, monkeypatch, campaign_type="win_back", max_customers=2)
    html = messages[0].get_body(("html",)).get_content()
    column = "document.querySelector('h1').parentElement.getBoundingClientRect().width"
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.set_content(as_outlook_reads_it(html))
    assert page.evaluate(column) <= 600
    page.set_content(html)  # one page, laid out again at each width: a page of its own for each took a context more
    for width in (1200, 375):  # every other client: the same column, and no sideways scrolling on a phone
        page.set_viewport_size({"width": width, "height": 800})
        assert page.evaluate(column) == min(width, 600)
        assert page.evaluate("document.documentElement.scrollWidth") == width


def test_a_tracked_email_leads_each_product_link_on_to_its_product_and_previews_as_before(
    client, demo_files, mail_server, monkeypatch
):
    """With opens and clicks tracked, every product link of a generated email goes through Tailor and on to the
    product the draft showed, and the image at its end changes nothing an inbox shows."""
    from fastapi.testclient import TestClient

    messages, sent_variants = sent_campaign(
        client, demo_files, mail_server, monkeypatch, tracked=True, campaign_type="cross_sell", max_customers=3
    )
    products = {
        draft["email"]: [r["url"] for r in draft["recommendations"] if r.get("url")]
        for campaign in client.get("/campaigns").json()
        for draft in client.get(f"/campaigns/{campaign['id']}/drafts").json()
    }
    recipient = TestClient(client.app)
    for message in messages:
        html = message.get_body(("html",)).get_content()
        links = [href.replace("&amp;", "&") for href in re.findall(r'<a href="([^"]*)"', html)]
        tracked = [link for link in links if "/track/click/" in link]
        assert tracked and all(link.startswith("https://mail.shop.example/") for link in links), links
        led_to = [
            recipient.get(link.removeprefix("https://mail.shop.example"), follow_redirects=False).headers["location"]
            for link in tracked
        ]
        assert sorted(set(led_to)) == sorted(set(products[message["To"]])), message["To"]
        assert inbox_preview(html).startswith(sent_variants[message["To"]]["preheader"])
        assert html.count("/track/open/") == 1


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
def test_a_long_word_in_a_product_s_name_or_the_copy_does_not_widen_the_email_on_a_phone(browser):
    """A catalog's name with no space to wrap at (a German compound, a code: "Weihnachtsbaumschmuckaufbewahrungsbox
    mitdeckel…", 75 letters) widened the email to 630 px on a 360 px phone, in the review page's preview and in the
    recipient's inbox: only the footer could break a word."""
    from generation.brands import load_brand
    from generation.render import render_email
    from tests.generation.conftest import POT, make_request

    word = "Weihnachtsbaumschmuckaufbewahrungsboxmitdeckelundgriffenausrecycelterpappe"
    request = make_request(products=[POT.model_copy(update={"name": word})], locale="de")
    html, _ = render_email(
        request, load_brand("hearth"), subject="s", preheader="p", intro=f"Die {word} ist da.", product_lines=[word]
    )
    page = browser.new_page(viewport={"width": 360, "height": 800})
    page.set_content(html)
    assert page.evaluate("document.documentElement.scrollWidth") == 360
