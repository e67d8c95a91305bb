"""Sending approved drafts through a real SMTP server on loopback: what each message carries, what is held back
for a person, and how a failure reads."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import smtplib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from html import unescape
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from generation.brands import UNSUBSCRIBE_PLACEHOLDER, load_brand
from service.clock import as_text, as_utc, utcnow
from service.db.models import Campaign, Customer, Draft, Event, Job, Review, Send, Variant
from service.db.session import session_scope
from service.jobs import InlineJobRunner
from service.pipeline.sending import send_campaign
from tests.conftest import free_port
from tests.service.conftest import ended_job
from tests.service.test_cli_send_due import campaign_with_drafts

FOOTER = load_brand("hearth").footer_for("en")  # with the {{unsubscribe_url}} placeholder, as generation renders it


CATALOG = pd.DataFrame(
    {
        "sku": ["T1", "K1", "M1"], "name": ["Sencha tea", "Chef knife", "Linen napkins"],
        "category": ["tea", "kitchen", "home"], "price": ["7.5", "49", "12"], "currency": ["EUR"] * 3,
        "description": [""] * 3, "url": [f"https://shop.example/p/{sku}" for sku in ("T1", "K1", "M1")],
        "in_stock": ["1", "1", "1"],
    }
)  # fmt: skip


# CATALOG's rows by SKU, for approved_draft: indexing the frame again took 2.5-4 ms of CPU for each of the suite's
# ~130 drafts, a dict lookup 0.002 ms (CATALOG is never changed in place: tests `assign` a copy of it)
_CATALOG_BY_SKU = {row["sku"]: row for row in CATALOG.to_dict("records")}


def new_campaign(client, brand: str = "hearth") -> int:
    body = {"name": "Send test", "brand": brand, "campaign_type": "cross_sell"}
    return client.post("/campaigns", json=body).json()["id"]


def approved_draft(client, engine, campaign_id: int, external_id: str = "c1", skus: tuple[str, ...] = ()) -> int:
    """A draft of the campaign showing the catalog's products `skus` as they are now, approved through the API."""
    shown = [(sku, _CATALOG_BY_SKU[sku]) for sku in skus]
    recommendations = [
        {
            "rank": rank, "product_id": sku, "name": row["name"], "category": row["category"],
            "price": float(row["price"]), "currency": row["currency"], "url": row["url"], "description": "",
            "score": 1.0, "because_you_bought": [],
        }
        for rank, (sku, row) in enumerate(shown, start=1)
    ]  # fmt: skip
    with session_scope(engine) as session:
        customer = session.scalar(select(Customer).where(Customer.external_id == external_id)) or Customer(
            external_id=external_id, email=f"{external_id}@example.com", marketing_consent=True
        )
        html, text = f"<p>Hello</p><p>{FOOTER}</p>", f"Hello\n--\n{FOOTER}\n"
        variant = Variant(label="A", subject="Hello", html=html, text=text)
        draft = Draft(
            campaign_id=campaign_id, customer=customer, status="pending", variants=[variant],
            recommendations=recommendations,
        )  # fmt: skip
        session.add(draft)
        session.flush()
        draft.selected_variant_id, draft_id = variant.id, draft.id
    assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200
    return draft_id


def upload_products(client, products: pd.DataFrame) -> None:
    body = products.to_csv(index=False).encode()
    response = client.post("/imports/products", files={"file": ("products.csv", body, "text/csv")})
    assert response.status_code == 200, response.text


def send_job(client, campaign_id: int) -> dict:
    response = client.post(f"/campaigns/{campaign_id}/send")
    assert response.status_code == 202, response.text
    return ended_job(client, response.json()["job_id"])


def test_an_unreachable_mail_server_is_named_with_the_settings_to_fix(client, engine, monkeypatch):
    port = free_port()  # nothing listens there
    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(port))
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id)

    job = send_job(client, campaign_id)

    assert job["status"] == "failed"
    assert f"SMTP server at 127.0.0.1:{port}" in job["error"]
    assert "TAILOR_SMTP_HOST" in job["error"] and "TAILOR_SMTP_PORT" in job["error"]
    assert "nothing was sent" in job["error"]
    with session_scope(engine) as session:
        assert session.scalar(select(Draft.status).where(Draft.id == draft_id)) == "approved"  # sent later

    # A campaign scheduled for later needs no mail server now: its send was reported failed, its schedule kept.
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    scheduled = client.post(f"/campaigns/{campaign_id}/send", params={"at": at.isoformat()})
    job = ended_job(client, scheduled.json()["job_id"])
    assert job["status"] == "succeeded" and job["result"]["sent"] == 0, job
    assert client.get(f"/campaigns/{campaign_id}").json()["scheduled_at"].startswith(at.strftime("%Y-%m-%dT%H:%M"))


def test_a_setting_a_job_reads_that_cannot_be_used_fails_it_in_one_line_naming_the_variable(
    client, engine, monkeypatch
):
    """The job's error was pydantic's report ("1 validation error for SmtpSettings\nport\n  Input should be...")
    over several lines, logged as an internal error with its traceback."""
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id)
    monkeypatch.setenv("TAILOR_SMTP_PORT", "abc")  # changed after the server started
    response = client.post(f"/campaigns/{campaign_id}/send")
    job = ended_job(client, response.json()["job_id"])
    assert job["status"] == "failed"
    assert (
        job["error"].startswith("the environment is not valid: TAILOR_SMTP_PORT='abc': ") and "\n" not in job["error"]
    )
    assert job["result"]["error"] == "InvalidEnvironment"


def test_a_login_without_tls_is_refused_unless_the_server_is_on_this_machine(client, engine, monkeypatch):
    """With TAILOR_SMTP_USERNAME set and TLS not, the password went to whatever host TAILOR_SMTP_HOST named as it
    is, for anyone on the way to read."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id)
    monkeypatch.setenv("TAILOR_SMTP_HOST", "smtp.shop.invalid")
    monkeypatch.setenv("TAILOR_SMTP_USERNAME", "shop")
    monkeypatch.setenv("TAILOR_SMTP_PASSWORD", "s3cret")

    job = send_job(client, campaign_id)
    assert job["status"] == "failed" and job["result"]["error"] == "InvalidEnvironment"
    assert job["error"].startswith("the environment is not valid: TAILOR_SMTP_USERNAME='shop': the login to ")
    assert "TAILOR_SMTP_STARTTLS=true" in job["error"] and "TAILOR_SMTP_SSL=true" in job["error"]
    assert "s3cret" not in job["error"]
    with session_scope(engine) as session:
        assert session.scalar(select(Draft.status).where(Draft.id == draft_id)) == "approved"

    # A relay on this machine is reached over no network: its login goes without TLS, as before.
    class Mailbox:
        def __init__(self) -> None:
            self.logins, self.received = [], []

        def authenticate(self, _server, _session, _envelope, _mechanism, login) -> AuthResult:
            self.logins.append((login.login, login.password))
            return AuthResult(success=True)

        async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's hook name)
            self.received.extend(envelope.rcpt_tos)
            return "250 OK"

    mailbox, port = Mailbox(), free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=mailbox.authenticate, auth_require_tls=False
    )
    controller.start()
    try:
        monkeypatch.setenv("TAILOR_SMTP_HOST", "localhost")
        monkeypatch.setenv("TAILOR_SMTP_PORT", str(port))
        job = send_job(client, campaign_id)
    finally:
        controller.stop()
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job
    assert mailbox.logins == [(b"shop", b"s3cret")] and mailbox.received == ["c1@example.com"]


def test_sent_email_carries_its_own_unsubscribe_link_that_unsubscribes(client, engine, mail_server, monkeypatch):
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example/")
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id)

    result = send_job(client, campaign_id)["result"]
    assert result["sent"] == 1 and "warnings" not in result  # a public address: links recipients can follow

    (message,) = messages
    text, html = message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()
    assert UNSUBSCRIBE_PLACEHOLDER not in text and UNSUBSCRIBE_PLACEHOLDER not in html
    link = re.search(r"Unsubscribe: (https://mail\.shop\.example/unsubscribe/\S+)", text).group(1)
    assert f'<a href="{link}" style="word-break:break-all;">{link}</a>' in html  # wraps on a phone's screen
    assert message["List-Unsubscribe"].strip() == f"<{link}>"  # folded: the line is long
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    recipient = TestClient(client.app)  # the recipient has no API key
    path = link.removeprefix("https://mail.shop.example")
    page = recipient.get(path)
    assert page.status_code == 200 and "c1@example.com" in page.text and "Hearth &amp; Leaf" in page.text
    # Behind a proxy that serves Tailor under a path, the page's form and style sheet stay under it: they were
    # /unsubscribe/... and /static/..., the shop's own site's.
    from urllib.parse import urljoin

    action = re.search(r'<form method="post" action="([^"]*)"', page.text).group(1)
    style = re.search(r'<link rel="stylesheet" href="([^"]*)"', page.text).group(1)
    under_a_path = f"https://shop.example/mail{path}"
    assert urljoin(under_a_path, action) == under_a_path
    assert urljoin(under_a_path, style) == "https://shop.example/mail/static/review.css"
    assert client.get("/customers/c1").json()["unsubscribed"] is False  # opening the link is not enough
    assert recipient.get(path[:-1] + ("A" if path[-1] != "A" else "B")).status_code == 404  # a forged signature

    done = recipient.post(path, data={"List-Unsubscribe": "One-Click"})  # what mail clients send (RFC 8058)
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert client.get("/customers/c1").json()["unsubscribed"] is True
    assert recipient.post(path).status_code == 200  # a second click changes nothing
    with session_scope(engine) as session:
        kinds = session.scalars(select(Event.kind).join(Send).where(Send.campaign_id == campaign_id)).all()
        assert sorted(kinds) == ["delivered", "unsubscribe"]
        # c1 has no orders: their segment as the API names it (it was "", "the  segment" in a scoring reason)
        assert session.scalars(select(Send.segment).where(Send.campaign_id == campaign_id)).all() == ["no_orders"]


def test_a_send_whose_unsubscribe_links_only_this_machine_reaches_says_so(client, engine, mail_server, monkeypatch):
    """With TAILOR_PUBLIC_URL unset every email's link was http://127.0.0.1:8000/unsubscribe/..., and nothing said
    that no recipient could follow it."""
    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.delenv("TAILOR_PUBLIC_URL", raising=False)
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id)
    result = send_job(client, campaign_id)["result"]
    assert result["sent"] == 1
    (warning,) = result["warnings"]
    assert "only this machine reaches: set TAILOR_PUBLIC_URL" in warning


def test_mail_to_the_world_with_links_only_this_machine_reaches_is_not_sent(client, engine, monkeypatch):
    """Through a relay on another machine, every email went out with http://127.0.0.1:8000/unsubscribe/... and a
    warning in the job's result afterwards: thousands of people who could not unsubscribe."""
    monkeypatch.setenv("TAILOR_SMTP_HOST", "relay.shop.example")  # never reached: refused before connecting
    monkeypatch.delenv("TAILOR_PUBLIC_URL", raising=False)
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id)
    job = send_job(client, campaign_id)
    assert job["status"] == "failed" and job["error"].startswith("Nothing was sent: the emails' unsubscribe links")
    assert "only this machine reaches, and the mail goes out through relay.shop.example" in job["error"]
    with session_scope(engine) as session:
        assert session.get(Draft, draft_id).status == "approved"  # sent once TAILOR_PUBLIC_URL is set
        assert session.scalar(select(func.count()).select_from(Send)) == 0


def test_links_recipients_cannot_follow_or_click_once_are_named(monkeypatch):
    """An IPv6 host made links without brackets (http://:::8000/...), and a public address over plain http, or a
    loopback one spelt another way, passed without a word."""
    from service.pipeline.unsubscribe_links import unreachable_links
    from service.settings import PublicSettings

    monkeypatch.delenv("TAILOR_PUBLIC_URL", raising=False)
    monkeypatch.setenv("TAILOR_API_PORT", "8000")
    for host, base in (("::1", "http://[::1]:8000"), ("0.0.0.0", "http://0.0.0.0:8000")):
        monkeypatch.setenv("TAILOR_API_HOST", host)
        assert PublicSettings().base_url() == base
        assert "only this machine reaches" in unreachable_links(base)
    for local in ("http://localhost.:8000", "http://127.1:8000", "http://shop.localhost", "http://2130706433"):
        assert "only this machine reaches" in unreachable_links(local), local
    assert "not https" in unreachable_links("http://mail.shop.example")
    assert unreachable_links("https://mail.shop.example") is None


def test_the_unsubscribe_page_names_every_brand_it_stops(client, engine, mail_server, monkeypatch):
    """It asked "Stop marketing email from Hearth & Leaf?", and the customer's Maison Atelier email stopped too: an
    unsubscribe is the shop's, for all its brands."""
    from service.campaigns import ensure_brand

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example")
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id)
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    path = re.search(r"https://mail\.shop\.example(/unsubscribe/\S+)", messages[0].get_body(("plain",)).get_content())
    recipient = TestClient(client.app)
    assert "from Hearth &amp; Leaf to" in recipient.get(path.group(1)).text  # one brand: as before
    with session_scope(engine) as session:
        ensure_brand(session, "atelier")  # the shop's second brand, once a campaign uses it
    page = recipient.get(path.group(1)).text
    assert "Stop marketing email from Hearth &amp; Leaf, Maison Atelier to c1@example.com?" in page
    # The page names the address the email went to, not one the customer has given since: the person at the old
    # address is who clicked (the address now was shown with no test failing).
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == "c1")).email = "new.c1@example.com"
    moved = recipient.get(path.group(1)).text
    assert "to c1@example.com?" in moved and "new.c1@example.com" not in moved
    # a link checker's HEAD: the page's answer without its body (it was 405, read as a broken link); nothing changes
    checked = recipient.head(path.group(1))
    assert checked.status_code == 200 and checked.text == "" and checked.headers["content-type"].startswith("text/html")
    assert recipient.head("/unsubscribe/12.cut-short").status_code == 404
    assert client.get("/customers/c1").json()["unsubscribed"] is False


def test_a_link_that_names_no_email_is_answered_in_the_browsers_language(client):
    """The page of a cut-short link, or of an erased customer's email, spoke English to every reader: with no send
    there is no email's language, and the browser's was not asked."""
    from service.unsubscribe import browser_locale

    recipient = TestClient(client.app)
    french = recipient.get("/unsubscribe/12.cut-short", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert french.status_code == 404 and '<html lang="fr">' in french.text
    assert french.headers["Vary"] == "Accept-Language"  # a cache must not answer the next reader in French
    assert "<h1>Désinscription</h1>" in french.text and "Ce lien de désinscription n’est pas valide" in french.text
    plain = recipient.get("/unsubscribe/12.cut-short")
    assert '<html lang="en">' in plain.text and "This unsubscribe link is not valid" in plain.text
    assert browser_locale("sv-SE, en;q=0.2, de;q=0.8") == "de"  # by weight, a language the page speaks
    assert browser_locale("*, pl;q=0") == browser_locale("de;q=abc") == "en"
    # Spaces around ";", an upper-case Q and other parameters are the header's too; a weight past 1 is not.
    assert [browser_locale(h) for h in ("pl ; q=0.9, en;q=0.5", "bg;Q=0.9,en;q=0.1", "en;q=0.5, it;q=2")] == [
        "pl", "bg", "en",
    ]  # fmt: skip
    assert browser_locale("nl;q=1.0;level=1, de;q=0.5") == "nl"


def test_sent_email_carries_the_date_it_was_sent(client, engine, mail_server, monkeypatch):
    """RFC 5322 requires a Date header; without one, receiving servers add their own or score the message as spam."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id)
    before = datetime.now(UTC).replace(microsecond=0)

    assert send_job(client, campaign_id)["result"]["sent"] == 1

    (message,) = messages
    assert message["Date"] is not None
    sent_at = parsedate_to_datetime(message["Date"])
    assert sent_at.tzinfo is not None and before <= sent_at <= datetime.now(UTC)


def test_an_email_whose_product_changed_since_it_was_written_goes_back_to_review(
    client, engine, mail_server, monkeypatch
):
    from service.pipeline import freshness

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setattr(freshness, "HOLD_BACK_BATCH", 2)  # checked a few drafts at a time, as a big campaign is
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    repriced = approved_draft(client, engine, campaign_id, "c1", ("T1", "M1"))
    sold_out = approved_draft(client, engine, campaign_id, "c2", ("K1",))
    unchanged = approved_draft(client, engine, campaign_id, "c3", ("M1",))
    upload_products(client, CATALOG.assign(price=["8.25", "49", "12"], in_stock=["1", "0", "1"]))

    result = send_job(client, campaign_id)["result"]

    assert result["sent"] == 1 and [m["To"] for m in messages] == ["c3@example.com"]
    assert result["held_back"] == [
        {"draft_id": repriced, "customer_id": "c1", "changes": ["Sencha tea (T1) now costs 8.25 EUR; the email "
                                                                "shows 7.50 EUR"]},
        {"draft_id": sold_out, "customer_id": "c2", "changes": ["Chef knife (K1) is out of stock"]},
    ]  # fmt: skip
    for draft_id, change in ((repriced, "now costs 8.25 EUR"), (sold_out, "is out of stock")):
        draft = client.get(f"/drafts/{draft_id}").json()
        assert draft["status"] == "flagged" and draft["flagged"]
        assert any(change in reason and "or reject it" in reason for reason in draft["flag_reasons"])
    assert client.get(f"/drafts/{unchanged}").json()["status"] == "sent"

    again = send_job(client, campaign_id)  # nothing left approved: the job says so (its message was empty)
    assert again["result"]["sent"] == 0 and len(messages) == 1
    assert (
        again["message"]
        == "nothing to send now: no approved draft is due; 2 drafts wait for review: approve them first"
    )


def test_a_send_that_mails_nothing_says_which_drafts_wait_for_review_or_that_there_are_none(
    client, engine, mail_server, monkeypatch
):
    """A campaign generated and sent without a review, or created and sent without a generation, mailed nothing:
    its job said "no approved draft is due" and `tailor send` "sent 0 emails", not that its drafts wait for a
    person, nor that it has none."""
    from service.cli_sending import _send_words

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    for external_id in ("c1", "c2"):
        draft_id = approved_draft(client, engine, campaign_id, external_id, ("T1",))
        assert client.post(f"/drafts/{draft_id}/reopen", json={}).json()["status"] == "pending"

    unreviewed = send_job(client, campaign_id)
    never_generated = send_job(client, new_campaign(client))

    assert unreviewed["status"] == "succeeded" and messages == []
    assert unreviewed["message"] == (
        "nothing to send now: no approved draft is due; 2 drafts wait for review: approve them first"
    )
    assert unreviewed["result"]["awaiting_review"] == 2
    assert "2 drafts wait for review (pending or flagged): approve them first (tailor drafts list)" in _send_words(
        unreviewed["result"]
    )
    assert never_generated["status"] == "succeeded"
    assert never_generated["message"].endswith("has no drafts; generate it first")
    assert never_generated["result"]["awaiting_review"] == 0


def test_a_draft_held_back_is_told_what_can_be_done_and_not_approved_into_the_same_hold_again(
    client, engine, mail_server, monkeypatch
):
    """A held-back draft looped: its flag said to regenerate the campaign (409 once it has sent mail, and a
    reviewed draft is kept by generation anyway), its approval went through without a word, and the next send held
    it back again, saying only that nothing was due."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    sold_out = approved_draft(client, engine, campaign_id, "c1", ("K1",))
    approved_draft(client, engine, campaign_id, "c2", ("M1",))
    upload_products(client, CATALOG.assign(in_stock=["1", "0", "1"]))

    assert send_job(client, campaign_id)["result"]["held_back"][0]["draft_id"] == sold_out
    (reason,) = client.get(f"/drafts/{sold_out}").json()["flag_reasons"]
    assert reason == (
        "Held back at sending: Chef knife (K1) is out of stock; approve it again once it is back in stock, or "
        "reject it."
    )
    regenerated = client.post(f"/campaigns/{campaign_id}/generate")
    assert regenerated.status_code == 409 and "has sent 1 email" in regenerated.json()["message"]

    refused = client.post(f"/drafts/{sold_out}/approve", json={})
    assert refused.status_code == 409 and refused.json()["message"] == (
        f"Draft {sold_out} cannot be approved: its email is out of date with the catalog, so sending would hold it "
        "back again. Chef knife (K1) is out of stock; approve it again once it is back in stock, or reject it."
    )
    assert client.get(f"/drafts/{sold_out}").json()["status"] == "flagged"  # nothing of the approval was kept

    upload_products(client, CATALOG)  # back in stock: the email is true again
    assert client.post(f"/drafts/{sold_out}/approve", json={}).status_code == 200
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    assert [m["To"] for m in messages] == ["c2@example.com", "c1@example.com"]


def test_each_brand_sends_from_its_own_address(client, engine, mail_server, monkeypatch):
    """Every brand's email came from the one TAILOR_SMTP_SENDER ("Tailor <news@shop.example>"), Maison Atelier's
    and Hearth & Leaf's alike; the review page's preview said the same."""
    from service.pipeline import mail

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SMTP_SENDER", "Shop <news@shop.example>")
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "0")
    atelier, hearth = new_campaign(client, "atelier"), new_campaign(client, "hearth")
    atelier_draft = approved_draft(client, engine, atelier, "c1")
    approved_draft(client, engine, hearth, "c2")
    assert send_job(client, atelier)["result"]["sent"] == send_job(client, hearth)["result"]["sent"] == 1
    assert [m["From"] for m in messages] == [
        "Maison Atelier <client@atelier.example>",
        "Hearth & Leaf <hello@hearth.example>",
    ]
    assert messages[0]["Message-ID"].endswith("@atelier.example>")
    inbox = client.get(f"/review/drafts/{atelier_draft}").text.split('id="inbox"', 1)[1]
    assert "Maison Atelier &lt;client@atelier.example&gt;" in inbox.split("</div>", 1)[0]

    no_sender = mail.load_brand("hearth").model_copy(update={"sender": ""})  # a kit that names none
    monkeypatch.setattr(mail, "load_brand", lambda slug: no_sender)
    approved_draft(client, engine, other := new_campaign(client), "c3")
    assert send_job(client, other)["result"]["sent"] == 1 and messages[-1]["From"] == "Shop <news@shop.example>"


@contextmanager
def serving_smtp(handler, monkeypatch) -> Iterator[int]:
    """A real SMTP server on loopback with ``handler`` (aiosmtpd's hooks), the service's SMTP settings pointed at
    it, for the block; its port."""
    from aiosmtpd.controller import Controller

    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("TAILOR_SMTP_PORT", str(port))
        yield port
    finally:
        controller.stop()


class _InterruptedWhileAnswering:
    """An SMTP server that takes each email, and before it answers, Ctrl-C is pressed where the send runs (SIGINT to
    the test's main thread, where `tailor send` runs its job)."""

    def __init__(self) -> None:
        self.received = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.received.extend(envelope.rcpt_tos)
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        await asyncio.sleep(0.5)
        return "250 OK queued"


def test_ctrl_c_while_the_mail_server_answers_an_email_cancels_the_send(engine, monkeypatch):
    """The QUIT on the way out read the server's late answer to the email as its own: `tailor send` ended in a
    traceback of "SMTPResponseException: (250, b'OK queued')", its job failed with that, not cancelled."""
    campaign_id = campaign_with_drafts(engine, "autumn", due=2)
    server = _InterruptedWhileAnswering()
    # Ctrl-C raises KeyboardInterrupt, as in `tailor send`, whatever an earlier test in this worker left to handle
    # SIGINT, or blocked of it (the full suite's run once sent the email, no interruption raised)
    earlier = signal.signal(signal.SIGINT, signal.default_int_handler)
    blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        with serving_smtp(server, monkeypatch), pytest.raises(KeyboardInterrupt):
            InlineJobRunner(engine).submit("send", send_campaign, engine=engine, campaign_id=campaign_id)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        signal.signal(signal.SIGINT, earlier)

    with session_scope(engine) as session:
        job = session.scalar(select(Job).where(Job.kind == "send"))
        drafts = select(Draft.status).where(Draft.campaign_id == campaign_id).order_by(Draft.position)
        statuses = session.scalars(drafts).all()
    assert (job.status, job.error) == ("cancelled", "cancelled: interrupted (Ctrl-C)")
    assert server.received == ["autumn0@example.com"]
    assert statuses == ["sending", "approved"]  # the first perhaps mailed: to review at the next send, not mailed again


class _CancelledWhileMailing:
    """An SMTP server that refuses the first address for good, takes the next email, and as it does the send's job
    is cancelled (POST /jobs/{id}/cancel)."""

    def __init__(self, engine) -> None:
        self.engine, self.received, self.refused = engine, [], []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if not self.refused:
            self.refused.append(address)
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        from service.jobs.runner import request_cancel

        self.received.extend(envelope.rcpt_tos)
        with session_scope(self.engine) as session:
            job_id = session.scalar(select(Job.id).where(Job.kind == "send"))
        request_cancel(self.engine, job_id)
        return "250 OK"


def test_a_cancelled_send_s_job_says_what_went_before_it_stopped(engine, monkeypatch):
    """A send cancelled part way kept no result ({}, in GET /jobs/{id} and its webhook), where a failed one counts
    what was sent, skipped and refused: the refused addresses were told on their drafts alone."""
    from service.errors import JobCancelled

    campaign_id = campaign_with_drafts(engine, "autumn", due=4)
    server = _CancelledWhileMailing(engine)
    with serving_smtp(server, monkeypatch), pytest.raises(JobCancelled):
        InlineJobRunner(engine).submit("send", send_campaign, engine=engine, campaign_id=campaign_id)
    with session_scope(engine) as session:
        job = session.scalar(select(Job).where(Job.kind == "send"))
    assert job.status == "cancelled" and job.error.startswith("cancelled on request after 2 of 4")
    assert server.received == ["autumn1@example.com"]
    assert (job.result["sent"], job.result["skipped"]) == (1, 0)
    assert [refusal["answer"] for refusal in job.result["refused"]] == ["550 5.1.1 no such mailbox"]


class _PickyServer:
    """An SMTP server that refuses one address and, after ``accept`` messages, answers 421 and gives up."""

    def __init__(self, refuse: str, accept: int) -> None:
        self.refuse, self.accept, self.received = refuse, accept, []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if address == self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        if len(self.received) >= self.accept:
            return "421 4.3.2 service shutting down"
        self.received.append(envelope.rcpt_tos[0])
        return "250 OK"


def test_a_refused_address_skips_one_draft_and_a_server_that_gives_up_says_how_far_it_got(client, engine, monkeypatch):
    """A refused recipient stopped the whole job with smtplib's bare error, as did a server that failed part way."""
    picky = _PickyServer(refuse="c2@example.com", accept=2)
    with serving_smtp(picky, monkeypatch) as port:
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 6)]
        job = send_job(client, campaign_id)
    assert job["status"] == "failed"
    assert job["error"].startswith(f"The SMTP server at 127.0.0.1:{port} failed after 2 of 5 emails (SMTPDataError")
    assert "send the campaign again" in job["error"]
    # what went before the failure, as a send that ends tells it, for a client that reads the result, not prose
    assert (job["result"]["sent"], job["result"]["skipped"]) == (2, 0)
    assert [refusal["customer_id"] for refusal in job["result"]["refused"]] == ["c2"]
    assert picky.received == ["c1@example.com", "c3@example.com"]
    with session_scope(engine) as session:
        drafts = {d.id: d for d in session.scalars(select(Draft).where(Draft.id.in_(ids)))}
        assert [drafts[i].status for i in ids] == ["sent", "skipped", "sent", "approved", "approved"]
        assert "refused the address: 550 5.1.1 no such mailbox" in drafts[ids[1]].flag_reasons[-1]
        assert session.scalar(select(Send.id).where(Send.draft_id == ids[3])) is None  # no phantom send
    # a refusal for good (5xx) is a bounce: no later campaign mails that address
    assert client.get("/customers/c2").json()["email_bounced"] is True
    assert client.get("/customers/c1").json()["email_bounced"] is False
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "sent"  # 2 went out: it said "ready"


class _NamingServer(_PickyServer):
    """Refuses an address naming it, as many servers answer."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if address == self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_refused_address_is_not_in_the_job_s_result_a_webhook_carries(client, engine, monkeypatch):
    """The server's answer named the address, and the job's result carried it to the webhook's receiver, whom an
    erasure cannot reach; the reviewer still reads it on the draft."""
    naming = _NamingServer(refuse="c2@example.com", accept=99)
    with serving_smtp(naming, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 3)]
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded", job["error"]
    [refused] = job["result"]["refused"]
    assert refused["customer_id"] == "c2" and "c2@example.com" not in str(job)
    assert refused["answer"] == "550 5.1.1 [address]: Recipient address rejected: User unknown"
    from service.pipeline.send_outcomes import without_address as _without_address

    answer = '550 5.1.1 <mary.o\'neil@example.com>: no such user; "a b"@example.com too'  # an apostrophe, a quote
    assert _without_address(answer, '"a b"@example.com') == "550 5.1.1 [address]: no such user; [address] too"
    with session_scope(engine) as session:
        assert "<c2@example.com>: Recipient address rejected" in session.get(Draft, ids[1]).flag_reasons[-1]


class _GreylistingServer(_PickyServer):
    """Refuses an address for now (4xx) the first ``times`` times it is asked for, as greylisting and rate limits do
    (a full mailbox, every time)."""

    def __init__(self, refuse: str, answer: str, times: int = 1) -> None:
        super().__init__(refuse=refuse, accept=99)
        self.answer, self.asked, self.times = answer, 0, times

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if address == self.refuse and (asked := self.asked) < self.times:
            self.asked = asked + 1
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _wait_over(engine, draft_id: int) -> None:
    """As if the wait before trying the draft's address again had passed."""
    with session_scope(engine) as session:
        session.get(Draft, draft_id).retry_after = utcnow() - timedelta(seconds=1)


@pytest.mark.parametrize(
    "answer", ["450 4.2.1 mailbox busy, try again later", "421 4.7.0 Too many messages, closing connection"]
)
def test_an_address_refused_for_now_is_tried_again_after_a_wait_not_skipped(client, engine, monkeypatch, answer):
    """A 4xx answer to RCPT skipped the draft for good, as a 5xx does: greylisting or a relay's rate limit lost the
    customer's email, and a skipped draft cannot be approved again. Then it was asked for again at once, by the
    next send and by every due-check of a scheduled campaign (every 5 minutes, without end); a campaign sent now was
    never tried again by the due-check at all."""
    from service.pipeline.due_drafts import has_due_drafts
    from service.pipeline.send_outcomes import RETRY_MINUTES
    from service.pipeline.sending import send_due_drafts

    greylisting = _GreylistingServer(refuse="c2@example.com", answer=answer)
    with serving_smtp(greylisting, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 4)]
        before = utcnow()
        first = send_job(client, campaign_id)
        assert first["status"] == "succeeded" and first["result"]["sent"] == 2, first
        (refused,) = first["result"]["refused"]
        assert refused["customer_id"] == "c2" and refused["approved"] is True and answer in refused["answer"]
        with session_scope(engine) as session:
            draft = session.get(Draft, ids[1])
            assert (draft.status, draft.flagged, draft.refusals_for_now) == ("approved", False, 1)
            wait, retry_after = draft.retry_after - before, draft.retry_after
        assert timedelta(minutes=RETRY_MINUTES[0]) <= wait < timedelta(minutes=RETRY_MINUTES[0], seconds=30)
        assert refused["retry_after"] == client.get(f"/drafts/{ids[1]}").json()["retry_after"]
        assert client.get("/customers/c2").json()["email_bounced"] is False  # not a bounce
        page = client.get(f"/review/campaigns/{campaign_id}").text
        assert f"tried again {retry_after:%a %H:%M} UTC" in page
        # why, in words under the list: the tooltip alone was never shown on a touch screen
        key = unescape(re.search(r'<p[^>]* id="draft-times-key"[^>]*>(.*?)</p>', page, re.S)[1])
        assert "tried again: the mail server refused the address for now" in key and 'title="the mail' not in page

        again = send_job(client, campaign_id)["result"]  # before the wait is over: not asked for
        assert (again["sent"], again["refused"], again["waiting"]) == (0, [], 1)
        assert again["next_send_at"] == refused["retry_after"] and not has_due_drafts(engine)

        _wait_over(engine, ids[1])
        assert has_due_drafts(engine)  # the due-check tries it, though the campaign was sent now, not scheduled
        assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["sent"] == 1
    assert greylisting.received == ["c1@example.com", "c3@example.com", "c2@example.com"]


def test_a_send_of_one_email_at_a_time_goes_past_an_address_refused_for_now(client, engine, monkeypatch):
    """A draft refused for now stayed first in the audience's order: every `batch_size=1` send asked for it again
    and sent nothing, the campaign's other customers never mailed."""
    full = _GreylistingServer(refuse="c1@example.com", answer="452 4.2.2 mailbox full", times=99)
    with serving_smtp(full, monkeypatch):
        campaign_id = new_campaign(client)
        for i in range(1, 4):
            approved_draft(client, engine, campaign_id, external_id=f"c{i}")
        batches = []
        for _ in range(2):
            response = client.post(f"/campaigns/{campaign_id}/send", params={"batch_size": 1})
            batches.append(ended_job(client, response.json()["job_id"])["result"])
    assert [batch["sent"] for batch in batches] == [0, 1] and full.asked == 1
    assert full.received == ["c2@example.com"]


def test_the_due_check_tries_an_address_refused_for_now_not_the_drafts_left_for_a_person_s_send(
    client, engine, monkeypatch
):
    """A batch of one email whose address was refused for now: 15 minutes on, the due-check mailed the campaign's
    every approved draft (4 of 4 here), though the person had asked for one, to learn from it first."""
    from service.pipeline.sending import send_due_drafts

    greylisting = _GreylistingServer(refuse="c1@example.com", answer="450 4.2.1 mailbox busy, try again later")
    with serving_smtp(greylisting, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 5)]
        response = client.post(f"/campaigns/{campaign_id}/send", params={"batch_size": 1})
        assert ended_job(client, response.json()["job_id"])["result"]["refused"][0]["draft_id"] == ids[0]
        _wait_over(engine, ids[0])
        due = send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]
    assert due["sent"] == 1 and greylisting.received == ["c1@example.com"]
    with session_scope(engine) as session:
        left = session.scalars(select(Draft.status).where(Draft.id.in_(ids[1:]))).all()
    assert left == ["approved"] * 3  # for the person's next send


def test_an_address_refused_for_now_at_every_try_goes_back_to_a_person(client, engine, monkeypatch):
    """A mailbox full for days was asked for at every send for ever, its draft approved and never sent, and no
    person told."""
    from service.pipeline.send_outcomes import RETRY_MINUTES

    full = _GreylistingServer(refuse="c1@example.com", answer="452 4.2.2 <c1@example.com> mailbox full", times=99)
    with serving_smtp(full, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id)
        for _ in RETRY_MINUTES:
            (refused,) = send_job(client, campaign_id)["result"]["refused"]
            assert refused["approved"] is True
            _wait_over(engine, draft_id)
        (last,) = send_job(client, campaign_id)["result"]["refused"]
        assert "approved" not in last and last["answer"] == "452 4.2.2 [address] mailbox full"
        draft = client.get(f"/drafts/{draft_id}").json()
        assert (draft["status"], draft["flagged"], draft["retry_after"]) == ("flagged", True, None)
        assert draft["flag_reasons"][-1].startswith(
            f"The mail server refused the address for now at each of {len(RETRY_MINUTES) + 1} tries over about 16 "
            "hours; the last answer: 452 4.2.2 <c1@example.com> mailbox full."
        )
        assert full.asked == len(RETRY_MINUTES) + 1 and full.received == []

        assert client.post(f"/drafts/{draft_id}/approve", json={}).status_code == 200  # a person tries again
        with session_scope(engine) as session:
            draft = session.get(Draft, draft_id)
            assert (draft.refusals_for_now, draft.retry_after) == (0, None)
        (again,) = send_job(client, campaign_id)["result"]["refused"]
        assert again["approved"] is True and full.asked == len(RETRY_MINUTES) + 2


def test_a_draft_taken_back_and_approved_with_the_others_is_tried_at_the_next_send(client, engine, monkeypatch):
    """A draft refused for now, reopened and approved again with the campaign's pending ones kept its wait (2 hours
    after 4 refusals: the next send passed it by) and its count (back to a person after 3 more tries, not 7); the
    reopened draft, waiting for review, still told when it would be tried again."""
    full = _GreylistingServer(refuse="c1@example.com", answer="452 4.2.2 mailbox full", times=99)
    with serving_smtp(full, monkeypatch):
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id)
        for _ in range(4):
            send_job(client, campaign_id)
            _wait_over(engine, draft_id)
        assert full.asked == 4 and client.get(f"/drafts/{draft_id}").json()["retry_after"] is not None
        reopened = client.post(f"/drafts/{draft_id}/reopen", json={"comment": "the offer changes"}).json()
        assert (reopened["status"], reopened["retry_after"]) == ("pending", None)
        assert client.post(f"/campaigns/{campaign_id}/drafts/approve", json={}).json()["approved"] == 1

        (refused,) = send_job(client, campaign_id)["result"]["refused"]
        assert refused["approved"] is True and full.asked == 5
    with session_scope(engine) as session:
        assert session.get(Draft, draft_id).refusals_for_now == 1


class _NoRelayServer(_PickyServer):
    """A relay that wants a login before it carries mail anywhere: every address refused, as Postfix answers."""

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        return f"554 5.7.1 <{address}>: Relay access denied"


def test_a_relay_that_refuses_every_address_for_its_own_reasons_marks_none_bounced(client, engine, monkeypatch):
    """ "554 5.7.1 Relay access denied" (a relay that wants TAILOR_SMTP_USERNAME) was taken as each address bouncing:
    the campaign's customers were all marked bounced, never to be mailed again, and their drafts skipped for good."""
    with serving_smtp(_NoRelayServer(refuse="", accept=99), monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 3)]
        job = send_job(client, campaign_id)
    assert job["result"]["sent"] == 0 and [r["approved"] for r in job["result"]["refused"]] == [True, True]
    assert "Relay access denied" in job["result"]["refused"][0]["answer"]
    assert [client.get(f"/customers/c{i}").json()["email_bounced"] for i in (1, 2)] == [False, False]
    with session_scope(engine) as session:
        assert [session.get(Draft, i).status for i in ids] == ["approved", "approved"]  # sent once the login is set


class _LoginWantingRelay(_NoRelayServer):
    """Carries the first ``carry`` addresses it is asked for, then refuses every other for its own reasons; keeps
    the addresses it was asked for."""

    def __init__(self, carry: int) -> None:
        super().__init__(refuse="", accept=99)
        self.carry, self.asked = carry, []

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        self.asked.append(address)
        if len(self.asked) <= self.carry:
            envelope.rcpt_tos.append(address)
            return "250 OK"
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_a_relay_that_refuses_the_first_addresses_for_its_own_reasons_stops_the_send(client, engine, monkeypatch):
    """A relay that wants a login was asked for each of a campaign's addresses in turn, 100,000 of them, and the job
    ended "succeeded, sent 0", the reason only in its ``refused``."""
    from service.pipeline.sending import REFUSALS_TO_STOP

    relay = _LoginWantingRelay(carry=0)
    with session_scope(engine) as session:  # at two domains: a relay's refusal of one domain is no sign of the rest
        session.add_all(
            Customer(external_id=f"c{i}", email=f"c{i}@shop{i % 2}.example", marketing_consent=True)
            for i in range(1, REFUSALS_TO_STOP + 3)
        )
    with serving_smtp(relay, monkeypatch) as port:
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, f"c{i}") for i in range(1, REFUSALS_TO_STOP + 3)]
        job = send_job(client, campaign_id)
        assert job["status"] == "failed" and len(relay.asked) == REFUSALS_TO_STOP
        assert job["error"].startswith(
            f"The SMTP server at 127.0.0.1:{port} refused {REFUSALS_TO_STOP} addresses in a row, at 2 domains, for its "
            "own reasons, not theirs (554 5.7.1 [address]: Relay access denied)"
        )
        assert "TAILOR_SMTP_USERNAME and TAILOR_SMTP_PASSWORD" in job["error"] and "@" not in job["error"]
        with session_scope(engine) as session:
            drafts = session.scalars(select(Draft).where(Draft.id.in_(ids))).all()
            assert {(draft.status, draft.flagged) for draft in drafts} == {("approved", False)}  # none skipped
        assert not any(client.get(f"/customers/c{i}").json()["email_bounced"] for i in range(1, len(ids) + 1))

        # Once an email went the relay carries mail: refusals after it are no reason to stop the others.
        relay.carry, relay.asked = 1, []
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job
    assert [entry["approved"] for entry in job["result"]["refused"]] == [True] * (len(ids) - 1)


class _DomainRefusingRelay(_PickyServer):
    """Refuses every address at one domain for its own reasons, as a relay that will not mail it does."""

    def __init__(self, domain: str) -> None:
        super().__init__(refuse="", accept=99)
        self.domain = domain

    async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if address.endswith(f"@{self.domain}"):
            return f"554 5.7.1 <{address}>: Recipient address rejected: domain not accepted"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_relay_refusing_the_first_addresses_of_one_domain_does_not_stop_the_send(client, engine, monkeypatch):
    """Five addresses first in the audience at a domain the relay will not mail stopped every send at them, with
    "check TAILOR_SMTP_USERNAME", and the sixth customer, at another domain, was never mailed."""
    from service.pipeline.sending import REFUSALS_TO_STOP

    with session_scope(engine) as session:
        session.add_all(
            Customer(external_id=f"c{i}", email=f"c{i}@blocked.example", marketing_consent=True)
            for i in range(1, REFUSALS_TO_STOP + 1)
        )
    relay = _DomainRefusingRelay("blocked.example")
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        for i in range(1, REFUSALS_TO_STOP + 2):
            approved_draft(client, engine, campaign_id, f"c{i}")
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job
    assert relay.received == [f"c{REFUSALS_TO_STOP + 1}@example.com"]
    assert [entry["approved"] for entry in job["result"]["refused"]] == [True] * REFUSALS_TO_STOP


class _PolicyFilter:
    """A relay that refuses by policy (5.7.x) the emails to ``refused`` addresses (all: None), takes the others."""

    def __init__(self, answer: str, refused: set[str] | None = None) -> None:
        self.answer, self.refused, self.received = answer, refused, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        if self.refused is None or envelope.rcpt_tos[0] in self.refused:
            return self.answer
        self.received.append(envelope.rcpt_tos[0])
        return "250 OK"


def _sent_with_c1_refused(client, engine, monkeypatch, answer: str) -> list[int]:
    """Three approved drafts, c1's to c3's, sent through a mail server that gives c1's email ``answer``: the others
    go, the send succeeds and its result names c1's refusal; the drafts' ids."""
    refusing = _PolicyFilter(answer, refused={"c1@example.com"})
    with serving_smtp(refusing, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 4)]
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 2, job
    assert refusing.received == ["c2@example.com", "c3@example.com"]
    ((refused),) = job["result"]["refused"]
    assert refused["customer_id"] == "c1" and refused["answer"] == answer
    return ids


@pytest.mark.parametrize(
    "answer", ["554 5.6.0 Message content rejected", "550 5.7.1 Message content rejected, UBE"]
)  # for what it holds; by a filter's policy, as Postfix's body checks and amavis answer
def test_an_email_refused_for_its_content_goes_back_to_review_and_the_rest_still_go(
    client, engine, monkeypatch, answer
):
    """The refusal stopped the job with its draft approved, first in the audience's order: every send of the
    campaign stopped at that email again, and no other customer was ever mailed."""
    ids = _sent_with_c1_refused(client, engine, monkeypatch, answer)
    with session_scope(engine) as session:
        draft = session.get(Draft, ids[0])
        assert (draft.status, draft.flagged) == ("flagged", True)  # a person changes it, and approves it again
        assert draft.flag_reasons[-1] == f"The mail server refused this email: {answer}"
        assert session.scalar(select(Send.id).where(Send.draft_id == ids[0])) is None  # not recorded as sent
    assert client.get("/customers/c1").json()["email_bounced"] is False  # the address is fine


@pytest.mark.parametrize(
    ("answer", "status", "bounced"),
    [("552 5.2.2 Mailbox full", "skipped", True), ("452 4.2.2 Mailbox full, try again later", "approved", False)],
)  # a server that checks the recipient only once it has the email (a filter before the mailbox) answers at DATA
def test_an_email_refused_at_data_for_its_recipient_is_that_address_s_refusal_and_the_rest_still_go(
    client, engine, monkeypatch, answer, status, bounced
):
    """The refusal failed the send, naming no draft, with that draft still approved and first in the audience's
    order: every later send of the campaign, and every due-check, stopped at it again."""
    ids = _sent_with_c1_refused(client, engine, monkeypatch, answer)
    with session_scope(engine) as session:
        draft = session.get(Draft, ids[0])
        assert (draft.status, draft.retry_after is not None) == (status, not bounced)  # as RCPT's refusal leaves it
        assert session.scalar(select(Send.id).where(Send.draft_id == ids[0])) is None  # not recorded as sent
    assert client.get("/customers/c1").json()["email_bounced"] is bounced


def test_a_send_stopped_by_the_mail_server_s_answer_to_one_email_names_that_draft(client, engine, monkeypatch):
    """A refusal the send cannot class ("554 Transaction failed") stops it, the draft approved, first in the audience's
    order: each send again stopped at it, and no message said which draft, so a person could not take it out."""
    server = _PolicyFilter("554 Transaction failed", refused={"c1@example.com"})
    with serving_smtp(server, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 3)]
        job = send_job(client, campaign_id)
    assert job["status"] == "failed" and server.received == [], job
    assert "failed after 0 of 2 emails (SMTPDataError: (554, b'Transaction failed'))" in job["error"]
    assert f"It gave that answer to draft {ids[0]}'s email: should a send stop there again, reject or " in job["error"]
    with session_scope(engine) as session:
        assert session.scalars(select(Draft.status).where(Draft.id.in_(ids))).all() == ["approved", "approved"]


class _CutOffServer:
    """An SMTP server that takes ``accept`` messages, then takes one more and drops the connection before it
    answers: the email went, and only the answer was lost."""

    def __init__(self, accept: int) -> None:
        self.accept, self.received = accept, []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.received.append(envelope.rcpt_tos[0])
        if len(self.received) > self.accept:
            server.transport.close()
        return "250 OK"


def test_an_email_whose_answer_was_lost_goes_back_to_review_not_to_be_sent_twice(client, engine, monkeypatch):
    """The connection lost while the server took an email put its draft back to approved: sending the campaign
    again, as the error said, mailed that customer a second time."""
    cut_off = _CutOffServer(accept=1)
    with serving_smtp(cut_off, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 4)]
        job = send_job(client, campaign_id)
        assert job["status"] == "failed" and "failed after 1 of 3 emails" in job["error"]
        assert f"draft {ids[1]}'s email was handed over: the customer may have it" in job["error"]
        cut_off.accept = 99
        again = send_job(client, campaign_id)
    assert again["status"] == "succeeded" and again["result"]["sent"] == 1
    assert cut_off.received == ["c1@example.com", "c2@example.com", "c3@example.com"]  # c2 once only
    with session_scope(engine) as session:
        drafts = {d.id: d for d in session.scalars(select(Draft).where(Draft.id.in_(ids)))}
        assert [drafts[i].status for i in ids] == ["sent", "flagged", "sent"]
        assert drafts[ids[1]].flagged and drafts[ids[1]].claimed_by is None
        assert drafts[ids[1]].flag_reasons[-1].startswith("Sending was cut off: the connection to the mail server")
        kept = session.scalar(select(Send).where(Send.draft_id == ids[1]))  # for its link (test_send_transactions)
        assert kept.to_email == "c2@example.com" and not kept.events  # not known to be delivered


class _OneMessageAConnection:
    """A relay that closes the connection once it has answered an email: its answer reaches the sender."""

    def __init__(self) -> None:
        self.received = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        import asyncio

        self.received.append(envelope.rcpt_tos[0])
        asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 OK"


class _OneMessageThen421(_OneMessageAConnection):
    """A relay that caps one connection at one email, as Exim's smtp_accept_max_per_connection does: the next MAIL on
    it is answered 421, the connection left open."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.received.append(envelope.rcpt_tos[0])
        session.capped = True
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        if getattr(session, "capped", False):
            return "421 4.7.0 Too many messages for this connection"
        envelope.mail_from = address
        return "250 OK"


@pytest.mark.parametrize("relay_kind", [_OneMessageAConnection, _OneMessageThen421])
def test_a_connection_the_server_closed_between_emails_is_opened_again(client, engine, monkeypatch, relay_kind):
    """A relay that closes idle connections made the next email's draft "perhaps sent", flagged, and stopped the
    campaign, though the server never saw it; one that caps the emails of a connection stopped it too."""
    relay = relay_kind()
    with serving_smtp(relay, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 4)]
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["sent"] == 3 and relay.received == ["c1@example.com", "c2@example.com", "c3@example.com"]
    with session_scope(engine) as session:
        assert {d.status for d in session.scalars(select(Draft).where(Draft.id.in_(ids)))} == {"sent"}


class _RefusingTheSender:
    """A relay that refuses the sender, as one does for an address of a domain it may not send from."""

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: N802 (aiosmtpd's hook)
        return "553 5.7.1 Sender address rejected: not owned by user"


def test_a_refused_sender_points_at_where_the_sender_is_set(client, engine, monkeypatch):
    """A send the relay stopped at MAIL FROM named the sender and nothing of where a person sets it."""
    monkeypatch.setenv("TAILOR_SMTP_SENDER", "Shop <news@elsewhere.example>")
    with serving_smtp(_RefusingTheSender(), monkeypatch):
        campaign_id = new_campaign(client)
        approved_draft(client, engine, campaign_id, external_id="c1")
        job = send_job(client, campaign_id)
    assert job["status"] == "failed"
    assert "It refused the sender 'hello@hearth.example': the From of the brand kit's `sender`" in job["error"]
    assert "TAILOR_SMTP_SENDER for a kit that names none" in job["error"]


def test_an_email_is_written_while_no_write_lock_is_held(client, engine, mail_server, monkeypatch):
    """On SQLite the send's transaction holds the database's one write lock: the email's parts were put together
    inside it (a few milliseconds an email, every approval and unsubscribe meanwhile waiting), not after it."""
    import sqlite3

    from service.pipeline import sending

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    for number in (1, 2):
        approved_draft(client, engine, campaign_id, external_id=f"c{number}")
    write_lock_held = []

    def build_message(**parts):
        other = sqlite3.connect(engine.url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # refused at once while another connection holds the write lock
            write_lock_held.append(False)
        except sqlite3.OperationalError as error:
            write_lock_held.append(str(error))
        finally:
            other.close()
        return real_build_message(**parts)

    real_build_message = sending.build_message
    monkeypatch.setattr(sending, "build_message", build_message)
    job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 2, job
    assert len(messages) == 2 and write_lock_held == [False, False]


def test_an_email_that_cannot_be_written_is_skipped_and_the_rest_still_go(client, engine, mail_server, monkeypatch):
    """A subject with a line break (an edit through the API) stopped the whole send job with the mail library's
    ValueError after the emails before it: those after never went, and the campaign still read 'ready'."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 4)]
    with session_scope(engine) as session:
        session.scalar(select(Variant).join(Draft).where(Draft.id == ids[1])).subject = "Hello\r\nX-Injected: yes"
    job = send_job(client, campaign_id)
    assert job["status"] == "succeeded", job["error"]
    assert sorted(message["To"] for message in messages) == ["c1@example.com", "c3@example.com"]
    assert all("X-Injected" not in message for message in messages)
    with session_scope(engine) as session:
        drafts = {d.id: d for d in session.scalars(select(Draft).where(Draft.id.in_(ids)))}
        assert [drafts[i].status for i in ids] == ["sent", "skipped", "sent"]
        assert drafts[ids[1]].flag_reasons[-1].startswith("The email could not be written: ")
        assert session.scalar(select(Send).where(Send.draft_id == ids[1])) is None  # no email, no send kept
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "sent"
    edit = client.patch(f"/drafts/{ids[1]}/variants/{drafts[ids[1]].selected_variant_id}",
                        json={"subject": "Hello\nBcc: x@evil.test"})  # fmt: skip
    assert edit.status_code == 422 and edit.json()["problems"][0]["field"] == "subject"
    for separator in ("\u2028", "\u2029", "\u0085"):  # line breaks to the mail library too: the email was skipped
        edit = client.patch(f"/drafts/{ids[2]}/variants/{drafts[ids[2]].selected_variant_id}",
                            json={"preheader": f"Two{separator}lines"})  # fmt: skip
        assert edit.status_code == 422 and edit.json()["problems"][0]["field"] == "preheader", separator


def _sent_to_three(client, engine, campaign_id: int) -> dict[str, int]:
    """The campaign's drafts for c1, c2 and c3 approved and sent: each customer's send id, for the events to name."""
    for external_id in ("c1", "c2", "c3"):
        approved_draft(client, engine, campaign_id, external_id)
    assert send_job(client, campaign_id)["result"]["sent"] == 3
    with session_scope(engine) as session:
        return dict(session.execute(select(Customer.external_id, Send.id).join(Send.customer)).all())


def test_bounces_and_spam_complaints_stop_the_mail_to_that_customer(client, engine, mail_server, monkeypatch):
    """A hard bounce or a spam complaint reported by the email service provider changed nothing: the next campaign
    mailed the dead address and the customer who had marked the last email as spam."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "0")
    first = new_campaign(client)
    sends = _sent_to_three(client, engine, first)
    events = [{"send_id": sends["c1"], "kind": "bounce"}, {"send_id": sends["c2"], "kind": "complaint"}]
    assert client.post("/events", json={"events": events}).json()["recorded"] == 2
    c1, c2 = client.get("/customers/c1").json(), client.get("/customers/c2").json()
    assert (c1["email_bounced"], c1["unsubscribed"]) == (True, False)
    assert (c2["email_bounced"], c2["unsubscribed"]) == (False, True)

    second = new_campaign(client)
    drafts = {external_id: approved_draft(client, engine, second, external_id) for external_id in ("c1", "c2", "c3")}
    reasons = {external_id: client.get(f"/drafts/{i}").json()["cannot_mail"] for external_id, i in drafts.items()}
    assert reasons == {"c1": "the address c1@example.com bounced", "c2": "unsubscribed", "c3": None}
    page = client.get(f"/review/drafts/{drafts['c1']}").text
    assert 'id="cannot-mail"' in page and "cannot be mailed now: the address c1@example.com bounced" in page
    assert 'id="cannot-mail"' not in client.get(f"/review/drafts/{drafts['c3']}").text
    assert send_job(client, second)["result"]["skipped"] == 2
    assert [m["To"] for m in messages][3:] == ["c3@example.com"]
    exported = [json.loads(line) for line in client.get(f"/campaigns/{second}/export").text.splitlines()]
    assert {r["customer_id"]: r["mailable"] for r in exported} == {"c1": False, "c2": False, "c3": True}

    with session_scope(engine) as session:  # the customer gave a new address (as a customers import does)
        session.scalar(select(Customer).where(Customer.external_id == "c1")).email = "c1.new@example.com"
    assert client.get("/customers/c1").json()["email_bounced"] is False
    third = new_campaign(client)
    approved_draft(client, engine, third, "c1")
    assert send_job(client, third)["result"]["sent"] == 1
    assert messages[-1]["To"] == "c1.new@example.com"


def test_a_sent_email_s_page_says_what_the_catalog_says_now_where_it_no_longer_agrees(
    client, engine, mail_server, monkeypatch
):
    """A customer wrote "the price in your email was wrong": the page of the email sent showed its prices, and
    nothing said the catalog had changed since; support had to look each product up to find it now costs more."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    upload_products(client, CATALOG)
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "c1", ("T1", "M1"))
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    assert 'id="changed-since-sent"' not in client.get(f"/review/drafts/{draft_id}").text  # as it was

    upload_products(client, CATALOG.assign(price=["8.25", "49", "12"], in_stock=["1", "1", "0"]))

    page = client.get(f"/review/drafts/{draft_id}").text
    assert 'id="changed-since-sent"' in page and 'id="out-of-date"' not in page
    assert "The catalog has changed since this email was sent" in page
    assert "Sencha tea (T1) now costs 8.25 EUR; the email shows 7.50 EUR" in page
    assert "Linen napkins (M1) is out of stock" in page
    assert "approve it again" not in page  # a sent email is not approved again


def test_a_sent_draft_does_not_say_its_customer_cannot_be_mailed_when_they_unsubscribed_after(
    client, engine, mail_server, monkeypatch
):
    """A customer who unsubscribed after their email went had a sent draft reading `cannot_mail: unsubscribed`, as
    if Tailor had mailed someone unsubscribed; the review page already left it out for sent drafts."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "c1")
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    with session_scope(engine) as session:
        send_id = session.scalar(select(Send.id))
    assert client.post("/events", json={"events": [{"send_id": send_id, "kind": "unsubscribe"}]}).status_code == 200
    assert client.get("/customers/c1").json()["unsubscribed"] is True
    draft = client.get(f"/drafts/{draft_id}").json()
    assert (draft["status"], draft["cannot_mail"]) == ("sent", None)


def test_a_draft_skipped_as_its_customer_could_not_be_mailed_keeps_why(client, engine, mail_server, monkeypatch):
    """A friend asked why they got no email: their draft read "skipped" and nothing more, on the review page
    always, and in the API once the customer could be mailed again (a new address after a bounce), as `cannot_mail`
    says only why they cannot be mailed now. Every other skip (an address mailed under another id, a refusal, an
    email that cannot be written) kept its why."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    with session_scope(engine) as session:
        session.add_all([
            Customer(external_id="c1", email="c1@example.com", marketing_consent=True, bounced_email="c1@example.com"),
            Customer(external_id="c2", email="c2@example.com", marketing_consent=True, unsubscribed=True),
        ])  # fmt: skip
    campaign_id = new_campaign(client)
    drafts = {external_id: approved_draft(client, engine, campaign_id, external_id) for external_id in ("c1", "c2")}
    before = utcnow().replace(second=0, microsecond=0)

    assert send_job(client, campaign_id)["result"]["skipped"] == 2

    with session_scope(engine) as session:  # the customer gave a new address (as a customers import does)
        session.scalar(select(Customer).where(Customer.external_id == "c1")).email = "c1.new@example.com"
    bounced, unsubscribed = (client.get(f"/drafts/{drafts[c]}").json() for c in ("c1", "c2"))
    assert (bounced["status"], bounced["cannot_mail"], bounced["flagged"]) == ("skipped", None, False)
    reason = bounced["flag_reasons"][-1]
    assert reason.startswith("Not sent: the customer could not be mailed when it was due (")
    assert reason.endswith(" UTC): the address c1@example.com bounced"), reason
    moment = datetime.strptime(reason.split("(")[1].split(" UTC")[0], "%Y-%m-%d %H:%M")
    assert before <= moment <= utcnow()
    assert unsubscribed["flag_reasons"][-1].endswith(": unsubscribed")
    page = client.get(f"/review/drafts/{drafts['c1']}").text
    assert 'id="not-sent"' in page and "the address c1@example.com bounced" in page


def test_a_bounce_reported_after_the_address_changed_does_not_stop_the_new_address(client, engine, mail_server,
                                                                                    monkeypatch):  # fmt: skip
    """A bounce for an email to the customer's old address, reported after they gave a new one, marked the new
    address as bounced: the customer was never mailed again."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "0")
    first = new_campaign(client)
    approved_draft(client, engine, first, "c1")
    assert send_job(client, first)["result"]["sent"] == 1
    [old_send] = client.get("/customers/c1/sends").json()
    assert old_send["to_email"] == "c1@example.com"
    with session_scope(engine) as session:  # the customer gave a new address (as a customers import does)
        session.scalar(select(Customer).where(Customer.external_id == "c1")).email = "c1.new@example.com"

    events = [{"send_id": old_send["id"], "kind": "bounce"}]
    assert client.post("/events", json={"events": events}).json()["recorded"] == 1
    assert client.get("/customers/c1").json()["email_bounced"] is False
    second = new_campaign(client)
    approved_draft(client, engine, second, "c1")
    assert send_job(client, second)["result"]["sent"] == 1
    new_send = client.get("/customers/c1/sends").json()[0]
    assert new_send["to_email"] == "c1.new@example.com"
    # the new address bouncing too is what stops the mail
    assert client.post("/events", json={"events": [{"send_id": new_send["id"], "kind": "bounce"}]}).status_code == 200
    assert client.get("/customers/c1").json()["email_bounced"] is True


def test_a_campaign_that_has_sent_is_not_generated_again(client, engine, mail_server, monkeypatch):
    """Generating a campaign again after it had sent took in customers beyond its max_customers and made it
    "ready" again, so it left the list of sent campaigns."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "c1")
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    again = client.post(f"/campaigns/{campaign_id}/generate")
    assert again.status_code == 409
    assert again.json()["message"].startswith(f"Campaign {campaign_id} has sent 1 email: it is the record")
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "sent"


def test_an_approval_that_did_not_override_a_failed_check_is_held_back_at_sending(client, engine, mail_server,
                                                                                 monkeypatch):  # fmt: skip
    """Approvals recorded before overrides existed (or written straight to the database) could send a variant
    that failed grounding; one that overrode the check on purpose still goes."""
    from service.db.models import Review
    from service.pipeline import freshness

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setattr(freshness, "HOLD_BACK_BATCH", 1)
    campaign_id = new_campaign(client)
    silent, overridden = (approved_draft(client, engine, campaign_id, external_id=name) for name in ("c1", "c2"))
    failed = [{"name": "grounding", "passed": False, "reason": "the intro mentions 70"}]
    with session_scope(engine) as session:
        for draft_id in (silent, overridden):
            session.get(Draft, draft_id).variants[0].checks = failed
        review = session.scalars(select(Review).where(Review.draft_id == overridden)).one()
        review.overridden_checks, review.comment = ["grounding"], "the 70 is the shop's own anniversary"
    job = send_job(client, campaign_id)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["sent"] == 1 and [m["To"] for m in messages] == ["c2@example.com"]
    assert job["result"]["held_back"][0]["changes"] == [
        "variant A fails facts from the data, and its approval did not override it"
    ]
    with session_scope(engine) as session:
        assert session.get(Draft, silent).status == "flagged"


def test_a_batch_is_as_large_as_asked_when_some_customers_may_not_be_mailed_any_more(
    client, engine, mail_server, monkeypatch
):
    """`batch_size=2` with the first two customers unsubscribed since approval mailed nobody: the drafts to skip
    counted towards the batch."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    for external_id in ("c1", "c2", "c3", "c4", "c5"):
        approved_draft(client, engine, campaign_id, external_id)
    with session_scope(engine) as session:
        for customer in session.scalars(select(Customer).where(Customer.external_id.in_(["c1", "c2"]))):
            customer.unsubscribed = True

    response = client.post(f"/campaigns/{campaign_id}/send", params={"batch_size": 2})
    assert response.status_code == 202, response.text
    result = ended_job(client, response.json()["job_id"])["result"]
    assert (result["sent"], result["skipped"]) == (2, 2)
    assert result["still_due"] == 1  # left for the next batch: nothing said so
    assert sorted(message["To"] for message in messages) == ["c3@example.com", "c4@example.com"]
    rest = send_job(client, campaign_id)["result"]
    assert rest["sent"] == 1 and "still_due" not in rest  # the rest: c5, with no batch asked for


def test_a_customer_mailed_recently_gets_the_next_campaign_when_the_contact_policy_allows(
    client, engine, mail_server, monkeypatch
):
    """Three campaigns approved the same week all went to a customer the same morning: no contact policy."""
    from datetime import datetime, timedelta

    from service.pipeline.sending import send_due_drafts

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    first, second = new_campaign(client), new_campaign(client)
    approved_draft(client, engine, first, "c1")
    approved_draft(client, engine, first, "c2")
    waits = approved_draft(client, engine, second, "c1")  # mailed by the first campaign just before
    approved_draft(client, engine, second, "c3")
    with session_scope(engine) as session:  # c3 had a mail from the shop's own tool three days ago
        c3 = session.scalar(select(Customer).where(Customer.external_id == "c3"))
        session.add(Send(customer=c3, subject="Old news", campaign_type="vip", sent_at=datetime.now() - timedelta(3)))

    assert send_job(client, first)["result"]["sent"] == 2
    started = datetime.now()
    result = send_job(client, second)["result"]
    assert (result["sent"], result["deferred"], result["waiting"]) == (1, 1, 1)
    assert [m["To"] for m in messages] == ["c1@example.com", "c2@example.com", "c3@example.com"]
    draft = client.get(f"/drafts/{waits}").json()
    assert draft["status"] == "approved"  # still to be sent, two days after the first campaign's email
    with session_scope(engine) as session:
        mailed = session.scalar(select(Send.sent_at).join(Customer).where(Customer.external_id == "c1"))
    assert draft["send_after"] == as_text(mailed + timedelta(days=2)) and result["next_send_at"] == draft["send_after"]
    assert as_utc(datetime.fromisoformat(draft["send_after"])) > started

    with session_scope(engine) as session:  # two days pass
        session.get(Draft, waits).send_after = datetime.now() - timedelta(minutes=1)
        for send in session.scalars(select(Send)):
            send.sent_at -= timedelta(days=2)
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(second)]["sent"] == 1
    assert [m["To"] for m in messages][-1] == "c1@example.com"

    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "0")  # no policy: the next campaign goes at once
    third = new_campaign(client)
    approved_draft(client, engine, third, "c9")
    with session_scope(engine) as session:
        c9 = session.scalar(select(Customer).where(Customer.external_id == "c9"))
        session.add(Send(customer=c9, subject="Just now", campaign_type="vip", sent_at=datetime.now()))
    assert send_job(client, third)["result"]["sent"] == 1


def test_a_draft_the_contact_policy_deferred_says_why_and_until_when(client, engine, mail_server, monkeypatch):
    """A reviewer saw an approved draft's send time moved days on, and nothing said why: the customer's best hour, a
    schedule, or the contact policy (and which email it counted) looked the same."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "3")
    first, second = new_campaign(client), new_campaign(client)
    approved_draft(client, engine, first, "c1")
    waits = approved_draft(client, engine, second, "c1")
    assert send_job(client, first)["result"]["sent"] == 1
    assert send_job(client, second)["result"]["deferred"] == 1
    with session_scope(engine) as session:
        mailed = session.scalar(select(Send.sent_at))
    draft = client.get(f"/drafts/{waits}").json()
    until = datetime.fromisoformat(draft["send_after"]).astimezone(UTC)
    assert draft["flag_reasons"] == [
        f"Deferred by the contact policy to {until:%Y-%m-%d %H:%M} UTC: the customer was mailed "
        f"{mailed:%Y-%m-%d %H:%M} UTC, and 3 days must pass between two emails (TAILOR_SEND_MIN_DAYS_BETWEEN)"
    ]
    assert (draft["status"], draft["flagged"]) == ("approved", False)
    page = client.get(f"/review/drafts/{waits}").text
    assert 'id="deferred"' in page and "3 days must pass between two emails" in page
    assert send_job(client, second)["result"]["deferred"] == 1  # deferred again: one note, the latest
    assert len(client.get(f"/drafts/{waits}").json()["flag_reasons"]) == 1
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "0")  # taken back and approved again: its own send time
    assert client.post(f"/drafts/{waits}/reopen", json={}).status_code == 200
    assert client.post(f"/drafts/{waits}/approve", json={}).status_code == 200
    assert 'id="deferred"' not in client.get(f"/review/drafts/{waits}").text


def test_the_contact_policy_counts_an_address_s_email_under_every_customer_id(client, engine, mail_server, monkeypatch):
    """The policy counted emails per customer id: an address a household's two ids share got a second marketing
    email 13 seconds after the first."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    first, second = new_campaign(client), new_campaign(client)
    approved_draft(client, engine, first, "ann")
    with session_scope(engine) as session:  # the same inbox under another id, typed in another case
        session.add(Customer(external_id="ann-2", email=" Ann@Example.com", marketing_consent=True))
    waits = approved_draft(client, engine, second, "ann-2")
    approved_draft(client, engine, second, "bo")
    assert send_job(client, first)["result"]["sent"] == 1
    result = send_job(client, second)["result"]
    assert (result["sent"], result["deferred"]) == (1, 1)
    assert [m["To"] for m in messages] == ["ann@example.com", "bo@example.com"]
    assert client.get(f"/drafts/{waits}").json()["status"] == "approved"  # for when the address may be mailed


def test_an_imported_email_to_an_address_counts_for_its_other_customer_ids(client, engine, mail_server, monkeypatch):
    """An imported send records no address: the policy, counting by address, passed over the shop's own email of
    last night to the same inbox under another id, and the audience preview counted nobody as mailed recently."""
    from io import BytesIO

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    with session_scope(engine) as session:
        session.add_all([
            Customer(external_id="eve", email="eve@example.com", marketing_consent=True),
            Customer(external_id="eve-2", email="EVE@example.com", marketing_consent=True),
            Customer(external_id="c9", email="c9@example.com", marketing_consent=True),
        ])  # fmt: skip
    last_night = (utcnow() - timedelta(hours=10)).isoformat(timespec="seconds")
    sends = f"send_id,customer_id,subject,campaign_type,sent_at\nS-1,eve,Hello again,win_back,{last_night}\n"
    files = {"file": ("sends.csv", BytesIO(sends.encode()), "text/csv")}
    assert client.post("/imports/sends", files=files).status_code == 200
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "eve-2")
    result = send_job(client, campaign_id)["result"]
    assert (result["sent"], result["deferred"]) == (0, 1) and messages == []
    from service.audiences import mailed_recently

    with session_scope(engine) as session:  # what the audience preview counts as mailed recently
        assert mailed_recently(session, pd.Series(["eve", "eve-2", "c9"])) == 2  # eve-2 at eve's address


def test_a_draft_deferred_from_its_best_hour_waits_for_that_hour_again(client, engine, mail_server, monkeypatch):
    """A draft due at its customer's best hour (07:30), deferred by the contact policy, was given the moment the
    policy's wait ended, 23:10 two days later: the email went out in the night."""
    from datetime import timedelta

    from service.clock import utcnow
    from service.pipeline.sending import send_due_drafts

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "c1")
    now = utcnow()
    mailed = now - timedelta(hours=1)
    best_hour = (now - timedelta(hours=3)).replace(second=0, microsecond=0)  # due: its best hour came today
    with session_scope(engine) as session:
        c1 = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        session.add(Send(customer=c1, subject="Other campaign", campaign_type="vip", sent_at=mailed))
        session.get(Draft, draft_id).send_after = best_hour
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["deferred"] == 1
    assert messages == []
    with session_scope(engine) as session:
        moved = session.get(Draft, draft_id).send_after
    allowed = mailed + timedelta(days=2)
    assert moved.time() == best_hour.time() and allowed <= moved < allowed + timedelta(days=1)


def test_a_sent_campaign_reports_what_its_email_did_beside_its_forecast(client, engine, mail_server, monkeypatch):
    """A campaign showed its forecast before sending and nothing of its outcome after: whether the predictions
    held could not be seen."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    for external_id in ("c1", "c2", "c3", "c4"):
        approved_draft(client, engine, campaign_id, external_id)
    assert client.get(f"/campaigns/{campaign_id}").json()["performance"] == {}  # nothing sent yet
    assert send_job(client, campaign_id)["result"]["sent"] == 4
    with session_scope(engine) as session:
        sends = dict(session.execute(select(Customer.external_id, Send.id).join(Send.customer)).all())
    now = datetime.now()
    events = [
        {"send_id": sends["c1"], "kind": "open", "occurred_at": (now - timedelta(minutes=2)).isoformat()},
        {
            "send_id": sends["c1"],
            "kind": "open",
            "occurred_at": (now - timedelta(minutes=1)).isoformat(),
        },  # twice: one open
        {"send_id": sends["c2"], "kind": "open"},
        {"send_id": sends["c2"], "kind": "click"},
        {"send_id": sends["c2"], "kind": "conversion", "value": 42.5, "event_id": "esp-77"},
        {"send_id": sends["c3"], "kind": "complaint"},
    ]
    assert client.post("/events", json={"events": events}).json()["recorded"] == 6
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert performance == {
        "sent": 4, "perhaps_sent": 0, "opened": 2, "opened_rate": 0.5, "clicked": 1, "clicked_rate": 0.25,
        "converted": 1, "converted_rate": 0.25, "unsubscribed": 0, "unsubscribed_rate": 0.0, "complained": 1,
        "complained_rate": 0.25, "bounced": 0, "bounced_rate": 0.0, "revenue": 42.5, "tracked_opens": 0,
        "tracked_clicks": 0,
        "machine_clicked": 0, "machine_clicked_rate": 0.0, "machine_opened": 0, "machine_opened_rate": 0.0,
        "product_clicks": [],  # the click event gave no address
    }  # fmt: skip
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert "sent 4: opened 2 (50.0%), clicked 1 (25.0%), converted 1, revenue 42.50; unsubscribed 0" in page
    assert "4 · 2 (50%) · 1 (25%)" in client.get("/review").text  # the list of campaigns shows it too

    history = client.get("/customers/c1/sends").json()  # what the shop answers c1 asking what they were sent
    assert [(s["id"], s["campaign_id"], s["subject"]) for s in history] == [(sends["c1"], campaign_id, "Hello")]
    events = history[0]["events"]
    assert sorted(e["kind"] for e in events) == ["delivered", "open", "open"]
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)  # in time order
    assert client.get("/customers/nobody/sends").status_code == 404
    assert "spam complaints 1" in page
    # the ids the shop and its email service gave are shown back: the import's send_id, the event's event_id
    conversion = next(e for e in client.get("/customers/c2/sends").json()[0]["events"] if e["kind"] == "conversion")
    assert conversion["event_id"] == "esp-77" and history[0]["send_id"] is None  # a send of Tailor's own
    imported = pd.DataFrame(
        [
            {
                "send_id": "shop-1",
                "customer_id": "c1",
                "subject": "Spring",
                "campaign_type": "vip",
                "sent_at": "2026-03-01",
            }
        ]
    )
    files = {"file": ("sends.csv", imported.to_csv(index=False).encode(), "text/csv")}
    assert client.post("/imports/sends", files=files).status_code == 200
    assert [s["send_id"] for s in client.get("/customers/c1/sends").json()] == [None, "shop-1"]


def test_a_campaign_is_scheduled_for_a_moment_and_sent_when_it_comes(client, engine, mail_server, monkeypatch):
    """A campaign could be sent now or at each customer's best hour, never 'Tuesday at nine'."""
    from datetime import datetime, timedelta

    from service.pipeline.sending import send_due_drafts

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    drafts = [approved_draft(client, engine, campaign_id, external_id) for external_id in ("c1", "c2")]
    at = (datetime.now() + timedelta(hours=3)).replace(microsecond=0)

    def send(**params) -> dict:
        job = ended_job(client, client.post(f"/campaigns/{campaign_id}/send", params=params).json()["job_id"])
        assert job["status"] == "succeeded", job["error"]
        return job["result"]

    def send_times() -> list[str | None]:
        return [client.get(f"/drafts/{i}").json()["send_after"] for i in drafts]

    url = f"/campaigns/{campaign_id}/send"
    past = client.post(url, params={"at": (datetime.now() - timedelta(minutes=5)).isoformat()})
    assert past.status_code == 422 and past.json()["problems"][0]["field"] == "query.at"  # as ?at=garbage is named
    assert "has passed" in past.json()["problems"][0]["message"]
    batch = client.post(url, params={"at": at.isoformat(), "batch_size": 1})
    assert batch.status_code == 422 and "drop batch_size" in batch.json()["problems"][0]["message"]

    result = send(at=at.isoformat())
    assert (result["sent"], result["waiting"], result["next_send_at"]) == (0, 2, as_text(at))
    assert messages == [] and send_times() == [as_text(at)] * 2
    campaign = client.get(f"/campaigns/{campaign_id}").json()
    assert (campaign["scheduled_at"], campaign["waiting"]) == (as_text(at), 2)
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert f"scheduled for {at:%a %d %b %H:%M}" in page and "2 approved waiting to be sent" in page

    drafts.append(approved_draft(client, engine, campaign_id, "c3"))  # approved after: it waits for the moment too
    assert send_times() == [as_text(at)] * 3
    later = at + timedelta(days=1)
    assert send(at=later.isoformat())["waiting"] == 3 and send_times() == [as_text(later)] * 3  # rescheduled

    assert send_due_drafts(lambda *_: None, engine)["campaigns"] == {}  # not yet
    with session_scope(engine) as session:  # the day comes
        for draft_id in drafts[:2]:
            session.get(Draft, draft_id).send_after = datetime.now() - timedelta(minutes=1)
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["sent"] == 2
    assert sorted(m["To"] for m in messages) == ["c1@example.com", "c2@example.com"]
    with session_scope(engine) as session:  # the moment passes; a draft approved after it goes at the next check
        session.get(Campaign, campaign_id).scheduled_at = datetime.now() - timedelta(minutes=1)
    late = approved_draft(client, engine, campaign_id, "c4")
    assert client.get(f"/drafts/{late}").json()["send_after"] is not None  # it was left unsent, waiting for nothing
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["sent"] == 1
    assert messages[-1]["To"] == "c4@example.com"

    assert send()["sent"] == 1  # sent now after all: unscheduled, the last one goes at once
    assert messages[-1]["To"] == "c3@example.com"
    assert client.get(f"/campaigns/{campaign_id}").json()["scheduled_at"] is None


def test_a_draft_whose_customer_unsubscribed_meanwhile_is_not_counted_as_waiting(
    client, engine, mail_server, monkeypatch
):
    """A scheduled campaign's customer unsubscribed before the moment: the campaign still said "2 approved waiting to be
    sent" and its next send the unsubscribed customer's, though the due-check would skip that draft (as the forecast
    already left it out)."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "c1")
    approved_draft(client, engine, campaign_id, "c2")
    at = (datetime.now() + timedelta(hours=3)).replace(microsecond=0)
    job = client.post(f"/campaigns/{campaign_id}/send", params={"at": at.isoformat()}).json()["job_id"]
    assert ended_job(client, job)["result"]["waiting"] == 2

    customers = "customer_id,email,first_name,marketing_consent,unsubscribed\nc2,c2@example.com,Bo,true,true\n"
    files = {"file": ("unsubscribes.csv", customers.encode(), "text/csv")}
    assert client.post("/imports/customers", files=files).status_code == 200
    assert client.get(f"/campaigns/{campaign_id}").json()["waiting"] == 1
    assert "1 approved waiting to be sent" in client.get(f"/review/campaigns/{campaign_id}").text


def test_the_review_page_shows_a_schedule_on_the_shop_s_clock(client, engine, mail_server, monkeypatch):
    """A marketer in Berlin who scheduled a send for Friday 9:00 read "scheduled for Fri 04 Dec 08:00 UTC"."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id, "c1")
    berlin = timezone(timedelta(hours=1))  # winter: CET
    january = datetime(datetime.now(UTC).year + 1, 1, 1, 9, tzinfo=berlin)  # within the year a schedule may reach
    friday = january + timedelta(days=(4 - january.weekday()) % 7)  # its first Friday, 9:00 in Berlin
    job = client.post(f"/campaigns/{campaign_id}/send", params={"at": friday.isoformat()}).json()["job_id"]
    assert ended_job(client, job)["result"]["waiting"] == 1
    page = client.get(f"/review/campaigns/{campaign_id}").text
    assert f"scheduled for {friday:%a %d %b} 09:00 CET" in page and "UTC" not in page
    assert "sends Fri 09:00 CET" in page
    history = client.get(f"/review/drafts/{draft_id}").text
    approved_at = datetime.now(UTC).astimezone(ZoneInfo("Europe/Berlin"))  # CEST from late March to late October
    assert f"{approved_at:%Y-%m-%d} " in history and f" {approved_at.tzname()} approve" in history
    with session_scope(engine) as session:  # an approval of a summer's day: Berlin's clock is UTC+2 then
        session.execute(update(Review).where(Review.draft_id == draft_id).values(created_at=datetime(2026, 7, 3, 7)))
    assert "2026-07-03 09:00 CEST approve" in client.get(f"/review/drafts/{draft_id}").text


def test_a_scheduled_email_the_service_missed_by_more_than_a_day_goes_back_to_a_person(
    client, engine, mail_server, monkeypatch
):
    """After an outage the due-check mailed everything whenever the server came back: a "Friday 9:00" email went on
    Monday, and an address refused for now was tried days after its wait."""
    from service.pipeline.sending import send_due_drafts

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    drafts = [approved_draft(client, engine, campaign_id, external_id) for external_id in ("c1", "c2", "c3", "c4")]
    at = (utcnow() + timedelta(hours=3)).replace(microsecond=0)
    assert ended_job(client, client.post(f"/campaigns/{campaign_id}/send", params={"at": at.isoformat()}).json()[
        "job_id"
    ])["result"]["waiting"] == 4  # fmt: skip
    now = utcnow()
    with session_scope(engine) as session:  # the server was stopped from Friday to Monday
        session.get(Campaign, campaign_id).scheduled_at = now - timedelta(hours=72)
        session.get(Draft, drafts[0]).send_after = now - timedelta(hours=72)
        session.get(Draft, drafts[1]).send_after = now - timedelta(hours=2)  # a short outage: still sent
        refused = session.get(Draft, drafts[2])
        refused.send_after, refused.retry_after, refused.refusals_for_now = None, now - timedelta(hours=30), 3
        session.get(Draft, drafts[3]).send_after = now + timedelta(hours=1)  # not due yet

    result = send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]
    assert result["sent"] == 1 and [m["To"] for m in messages] == ["c2@example.com"]
    late = {entry["customer_id"]: entry["changes"] for entry in result["held_back"]}
    assert sorted(late) == ["c1", "c3"]
    assert late["c1"] == [f"it was due at {now - timedelta(hours=72):%Y-%m-%d %H:%M} UTC, 3 days ago"]
    assert late["c3"][0].endswith("UTC, 30 hours ago")
    for draft_id in (drafts[0], drafts[2]):
        draft = client.get(f"/drafts/{draft_id}").json()
        assert (draft["status"], draft["send_after"], draft["retry_after"]) == ("flagged", None, None)
        assert "approve it again to send it all the same, or reject it" in draft["flag_reasons"][-1]
    assert client.get(f"/drafts/{drafts[3]}").json()["status"] == "approved"  # its time has not come

    # approved again, it goes at the next due-check (the campaign's moment has passed)
    assert client.post(f"/drafts/{drafts[0]}/approve", json={}).status_code == 200
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["sent"] == 1
    assert messages[-1]["To"] == "c1@example.com"

    monkeypatch.setenv("TAILOR_SEND_TIMEZONE", "Europe/Berlin")  # the reason says when on the shop's clock
    berlin = approved_draft(client, engine, campaign_id, "c5")
    due = (utcnow() - timedelta(hours=30)).replace(second=0, microsecond=0)
    with session_scope(engine) as session:
        session.get(Draft, berlin).send_after = due
    [entry] = send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["held_back"]
    local = due.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin"))
    assert entry["changes"] == [f"it was due at {local:%Y-%m-%d %H:%M} {local.tzname()}, 30 hours ago"]
    monkeypatch.delenv("TAILOR_SEND_TIMEZONE")

    monkeypatch.setenv("TAILOR_SEND_LATE_LIMIT_HOURS", "0")  # no limit: mailed however late
    with session_scope(engine) as session:
        session.get(Draft, drafts[3]).send_after = now - timedelta(days=5)
    assert send_due_drafts(lambda *_: None, engine)["campaigns"][str(campaign_id)]["sent"] == 1
    assert messages[-1]["To"] == "c4@example.com"


def test_events_with_an_impossible_time_or_value_are_refused_naming_the_field(client, engine, mail_server, monkeypatch):
    """A conversion worth -20 lowered the campaign's revenue, and an open dated years before its email was kept;
    a time with a zone lost its zone instead of being converted."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    approved_draft(client, engine, campaign_id, "c1")
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    [send] = client.get("/customers/c1/sends").json()

    negative = client.post("/events", json={"events": [{"send_id": send["id"], "kind": "conversion", "value": -20}]})
    assert negative.status_code == 422 and negative.json()["problems"][0]["field"] == "events[0].value"
    impossible = [
        {"send_id": send["id"], "kind": "open", "occurred_at": "2001-01-01T10:00:00"},
        {"send_id": send["id"], "kind": "click", "occurred_at": (datetime.now() + timedelta(days=1)).isoformat()},
    ]
    refused = client.post("/events", json={"events": impossible})
    assert refused.status_code == 422
    problems = {p["field"]: p["message"] for p in refused.json()["problems"]}
    assert "is before the email was sent" in problems["events[0].occurred_at"]
    assert "has not come yet" in problems["events[1].occurred_at"]
    assert client.get("/customers/c1/sends").json()[0]["events"] == send["events"]  # nothing of it was written

    zoned = datetime.now().astimezone(timezone(timedelta(hours=5, minutes=30)))  # the same moment, another zone
    body = {"events": [{"send_id": send["id"], "kind": "open", "occurred_at": zoned.isoformat()}]}
    assert client.post("/events", json=body).status_code == 200
    [opened] = [e for e in client.get("/customers/c1/sends").json()[0]["events"] if e["kind"] == "open"]
    assert abs(as_utc(datetime.fromisoformat(opened["occurred_at"])) - utcnow()) < timedelta(minutes=1)


def test_a_send_stopped_after_some_emails_leaves_its_campaign_sent(client, engine, mail_server, monkeypatch):
    """A send cancelled (or killed) after mailing people left its campaign "ready": the status filter and the review
    page said it had sent nothing."""
    import pytest

    from service.errors import JobCancelled
    from service.pipeline.sending import send_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    for name in ("c1", "c2", "c3"):
        approved_draft(client, engine, campaign_id, name)

    def cancel_after_the_first(done, total, message=""):
        if done >= 1:
            raise JobCancelled("cancelled on request after 1 of 3")

    with pytest.raises(JobCancelled):
        send_campaign(cancel_after_the_first, engine, campaign_id)
    assert len(messages) == 1
    assert client.get(f"/campaigns/{campaign_id}").json()["status"] == "sent"


def test_a_customer_mailed_by_another_sender_meanwhile_waits_for_the_contact_policy(
    client, engine, mail_server, monkeypatch
):
    """Two servers on one database sending two campaigns to the same customers at once mailed everyone twice: each
    send chose its drafts before the other had mailed anyone, and nothing looked again."""
    from service.pipeline.sending import send_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "2")
    campaign_id, other_campaign = new_campaign(client), new_campaign(client)
    for name in ("meanwhile1", "meanwhile2"):
        approved_draft(client, engine, campaign_id, name)

    def other_server_mails_the_next(done, total, message=""):  # after this send's first email, before its second
        if done != 1:
            return
        with session_scope(engine) as session:
            mailed = set(session.scalars(select(Send.customer_id).where(Send.campaign_id == campaign_id)))
            waiting = session.scalar(
                select(Customer).where(Customer.external_id.in_(("meanwhile1", "meanwhile2")), ~Customer.id.in_(mailed))
            )
            session.add(Send(customer_id=waiting.id, campaign_id=other_campaign, subject="Other", sent_at=utcnow(),
                             campaign_type="cross_sell"))  # fmt: skip

    result = send_campaign(other_server_mails_the_next, engine, campaign_id)
    assert (result["sent"], result["deferred"], len(messages)) == (1, 1, 1)
    drafts = client.get(f"/campaigns/{campaign_id}/drafts").json()
    assert sorted(d["status"] for d in drafts) == ["approved", "sent"]
    waiting = next(d for d in drafts if d["status"] == "approved")
    assert waiting["send_after"] is not None
    assert waiting["flag_reasons"][-1].startswith("Deferred by the contact policy to ") and not waiting["flagged"]


@pytest.mark.parametrize("meanwhile", ["held out by another experiment", "mailed at the address under another id"])
def test_the_second_look_of_the_contact_policy_sees_holdouts_and_shared_addresses(
    client, engine, mail_server, monkeypatch, meanwhile
):
    """The look again as each email goes read only the customer's own sends: a customer held out meanwhile by
    another campaign's experiment, or whose address another server mailed under a household member's id, was
    mailed."""
    from service.db.models import Assignment
    from service.pipeline.sending import send_campaign

    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_SEND_MIN_DAYS_BETWEEN", "2")
    campaign_id, other_campaign = new_campaign(client), new_campaign(client)
    names = ("look1", "look2")
    for name in names:
        approved_draft(client, engine, campaign_id, name)
    with session_scope(engine) as session:  # the household: a second id at each address, known before the send
        for name in names:
            session.add(Customer(external_id=f"{name}-twin", email=f"{name}@example.com", marketing_consent=True))

    def meanwhile_elsewhere(done, total, message=""):  # after this send's first email, before its second
        if done != 1:
            return
        with session_scope(engine) as session:
            mailed = set(session.scalars(select(Send.customer_id).where(Send.campaign_id == campaign_id)))
            waiting = session.scalar(select(Customer).where(Customer.external_id.in_(names), ~Customer.id.in_(mailed)))
            if meanwhile.startswith("held out"):
                session.add(Assignment(campaign_id=other_campaign, customer_id=waiting.id, arm="holdout",
                                       assigned_at=utcnow()))  # fmt: skip
            else:
                twin = session.scalar(select(Customer).where(Customer.external_id == f"{waiting.external_id}-twin"))
                session.add(Send(customer_id=twin.id, campaign_id=other_campaign, subject="Other", sent_at=utcnow(),
                                 campaign_type="cross_sell", to_email=twin.email))  # fmt: skip

    result = send_campaign(meanwhile_elsewhere, engine, campaign_id)
    assert (result["sent"], result["deferred"], len(messages)) == (1, 1, 1)


def test_a_sent_draft_tells_the_address_it_went_to_after_the_customer_s_changed(
    client, engine, mail_server, monkeypatch
):
    """The export of a sent campaign gave the customer's address now beside "sent": true; the mail had gone to
    the one they had then."""
    import json

    controller, _messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    draft_id = approved_draft(client, engine, campaign_id)
    assert client.get(f"/drafts/{draft_id}").json()["sent_to"] is None
    assert send_job(client, campaign_id)["result"]["sent"] == 1
    with session_scope(engine) as session:
        session.scalar(select(Customer).where(Customer.external_id == "c1")).email = "new.c1@example.com"
    draft = client.get(f"/drafts/{draft_id}").json()
    assert (draft["email"], draft["sent_to"]) == ("new.c1@example.com", "c1@example.com")
    (record,) = [json.loads(line) for line in client.get(f"/campaigns/{campaign_id}/export").text.splitlines()]
    assert (record["email"], record["sent"], record["sent_to"]) == ("new.c1@example.com", True, "c1@example.com")


def test_a_customer_erased_while_the_server_answered_for_their_email_fails_no_send(engine):
    """The draft went with its erased customer, and writing the server's refusal on it was an AttributeError that
    failed the whole send job; the answer, which may name their address, is not kept either."""
    from service.pipeline.mail import EmailRefused
    from service.pipeline.send_outcomes import refuse as _refuse
    from service.pipeline.send_outcomes import refused_email as _refused_email
    from service.pipeline.send_outcomes import skip as _skip

    gone = 999_999  # the id of a draft erased with its customer
    refused = smtplib.SMTPRecipientsRefused({"ann@example.com": (450, b"4.2.2 <ann@example.com> mailbox full")})
    erased = {"draft_id": gone, "customer_id": "[erased]", "answer": "the customer was erased meanwhile"}
    claimed = "web-1:4242:0123456789ab/claim"
    assert _skip(engine, gone, claimed, "The mail server refused the address", "550 <ann@example.com>") == erased
    assert _refuse(engine, gone, claimed, refused) == erased
    assert _refused_email(engine, gone, claimed, EmailRefused("554 5.6.0 content rejected")) == erased


def test_a_server_refusing_every_email_by_policy_stops_the_send_and_sends_none_to_review(client, engine, monkeypatch):
    """A sender's domain failing DMARC gets every email refused alike: taken for content, each draft would have gone
    back to review, the whole campaign to be approved again one by one."""
    from service.pipeline.sending import REFUSALS_TO_STOP

    dmarc = _PolicyFilter("550 5.7.26 Unauthenticated email from shop.example is not accepted due to DMARC policy")
    with serving_smtp(dmarc, monkeypatch) as port:
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, f"c{i}") for i in range(1, REFUSALS_TO_STOP + 2)]
        job = send_job(client, campaign_id)
        assert job["status"] == "failed" and job["error"].startswith(
            f"The SMTP server at 127.0.0.1:{port} refused the first {REFUSALS_TO_STOP} emails by its policy (550 5.7.26"
        )
        assert "SPF, DKIM and DMARC" in job["error"]
        with session_scope(engine) as session:
            drafts = session.scalars(select(Draft).where(Draft.id.in_(ids))).all()
            assert {(draft.status, draft.flagged) for draft in drafts} == {("approved", False)}

        few = new_campaign(client)  # fewer than that, all refused: nothing tells content from policy, all approved
        approved_draft(client, engine, few, "d1")
        job = send_job(client, few)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 0
    assert [entry["approved"] for entry in job["result"]["refused"]] == [True]


def test_an_email_refused_by_policy_taken_by_another_meanwhile_is_not_sent_back_to_review(client, engine, monkeypatch):
    """The refused draft stays approved while undecided: another sender may send it (or review take it back) before
    an email of this send goes, and putting it back to review then flagged a sent draft, for a person to send again."""
    from service.pipeline import sending

    content_filter = _PolicyFilter("550 5.7.1 Message content rejected, UBE", refused={"c1@example.com"})
    claim = sending.claim

    def another_sends_the_first(engine, draft_id):  # as this send claims the second, another sent the first
        if draft_id == ids[1]:
            with session_scope(engine) as session:
                session.get(Draft, ids[0]).status = "sent"
        return claim(engine, draft_id)

    monkeypatch.setattr(sending, "claim", another_sends_the_first)
    with serving_smtp(content_filter, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 3)]
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job
    with session_scope(engine) as session:
        draft = session.get(Draft, ids[0])
        assert (draft.status, draft.flagged) == ("sent", False)


def test_a_customer_erased_once_their_draft_was_claimed_fails_no_send(client, engine, monkeypatch):
    """The draft went with its customer between its claim and its reading, and reading its customer was an
    AttributeError that failed the whole send job: the campaign's other customers were not mailed."""
    from service.customers import erase_customer
    from service.pipeline import sending

    picky = _PickyServer(refuse="", accept=99)
    claim = sending.claim

    def erased_once_claimed(engine, draft_id):
        claimed = claim(engine, draft_id)
        if draft_id == ids[0]:
            with session_scope(engine) as session:
                erase_customer(session, "c1")
        return claimed

    monkeypatch.setattr(sending, "claim", erased_once_claimed)
    with serving_smtp(picky, monkeypatch):
        campaign_id = new_campaign(client)
        ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, 3)]
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job
    assert picky.received == ["c2@example.com"]


def test_a_campaign_counts_a_click_with_no_open_recorded_as_opened(client, engine, mail_server, monkeypatch):
    """Images blocked, an email service reports the click of an email it never saw opened: the campaign read
    opened 0 and clicked 1, where the forecast beside it, from the engagement model, counts that email opened."""
    controller, _ = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    campaign_id = new_campaign(client)
    sends = _sent_to_three(client, engine, campaign_id)
    events = [{"send_id": sends["c1"], "kind": "click", "event_id": "c1"},
              {"send_id": sends["c2"], "kind": "conversion", "value": 9.5, "event_id": "v2"}]  # fmt: skip
    assert client.post("/events", json={"events": events}).json()["recorded"] == 2
    performance = client.get(f"/campaigns/{campaign_id}").json()["performance"]
    assert (performance["opened"], performance["clicked"], performance["converted"]) == (2, 2, 1)
    assert performance["opened_rate"] == round(2 / 3, 4) and performance["revenue"] == 9.5
