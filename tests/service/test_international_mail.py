"""Email to customers of many languages: addresses in other scripts, and the words around the email (its
unsubscribe page, its headers) in the language it was written in."""

from __future__ import annotations

import re
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from generation.brands import load_brand
from service.db.models import Customer, Draft, Variant
from service.db.session import session_scope
from tests.conftest import free_port
from tests.service.test_sending import approved_draft, new_campaign, send_job


class _Mailbox:
    """Keeps each message with the envelope's recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], object]] = []

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


@contextmanager
def relay(monkeypatch, smtputf8: bool):
    """A real SMTP server on loopback, offering SMTPUTF8 or not (many relays do not), that Tailor sends through."""
    from aiosmtpd.controller import Controller

    mailbox, port = _Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(port))
    try:
        yield mailbox.received
    finally:
        controller.stop()


def _addressed(client, engine, campaign_id: int, emails: list[str]) -> list[int]:
    """Approved drafts of the campaign for customers c1, c2 … with these addresses."""
    ids = [approved_draft(client, engine, campaign_id, external_id=f"c{i}") for i in range(1, len(emails) + 1)]
    with session_scope(engine) as session:
        for i, email in enumerate(emails, start=1):
            session.scalar(select(Customer).where(Customer.external_id == f"c{i}")).email = email
    return ids


def test_an_address_in_another_script_does_not_stop_the_campaign_on_a_relay_without_smtputf8(
    client, engine, monkeypatch
):
    """ольга@пример.рф made smtplib raise SMTPNotSupportedError, which failed the job after 0 emails and left every
    draft approved: each resend and due-check hit the same wall, and nobody got mail."""
    emails = ["anna@example.com", "ольга@пример.рф", "olga@пример.рф", "jorg@straße.de"]
    with relay(monkeypatch, smtputf8=False) as received:
        campaign_id = new_campaign(client)
        ids = _addressed(client, engine, campaign_id, emails)
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["sent"] == 3
    # a domain in its ASCII (IDNA 2008) form: straße.de is xn--strae-oqa.de, not strasse.de (another domain)
    assert [rcpt for rcpt, _ in received] == [
        ["anna@example.com"], ["olga@xn--e1afmkfd.xn--p1ai"], ["jorg@xn--strae-oqa.de"],
    ]  # fmt: skip
    assert received[1][1]["To"] == "olga@xn--e1afmkfd.xn--p1ai"
    with session_scope(engine) as session:
        drafts = {d.id: d for d in session.scalars(select(Draft).where(Draft.id.in_(ids)))}
        assert [drafts[i].status for i in ids] == ["sent", "skipped", "sent", "sent"]
        reason = drafts[ids[1]].flag_reasons[-1]
        assert reason.startswith("The mail server cannot take the address: ольга@пример.рф has letters outside")
        assert "SMTPUTF8" in reason and drafts[ids[1]].flagged
    assert [r["customer_id"] for r in job["result"]["refused"]] == ["c2"]
    assert client.get("/customers/c2").json()["email_bounced"] is False  # another server could take it


def test_a_relay_that_offers_smtputf8_gets_the_address_as_it_is(client, engine, monkeypatch):
    with relay(monkeypatch, smtputf8=True) as received:
        campaign_id = new_campaign(client)
        _addressed(client, engine, campaign_id, ["ольга@пример.рф"])
        job = send_job(client, campaign_id)
    assert job["status"] == "succeeded" and job["result"]["sent"] == 1, job
    assert [rcpt for rcpt, _ in received] == [["ольга@xn--e1afmkfd.xn--p1ai"]]


def test_a_sender_name_with_a_comma_stays_one_from_address():
    """A TAILOR_SMTP_SENDER such as "Maison Atelier, Lyon <client@atelier.example>" went into the From header as
    written: two addresses, one of them "Maison Atelier" with no domain (and a brand kit could not name it)."""
    from generation.brands import BrandKit, load_brand
    from service.pipeline.mail import build_message

    sender = "Maison Atelier, Lyon <client@atelier.example>"
    kit = load_brand("atelier").model_dump()
    assert BrandKit(**{**kit, "sender": sender}).sender == sender  # the kit takes it
    message = build_message(
        sender=sender, to="anna@example.com", subject="Hello", text="Hi", html="<p>Hi</p>",
        message_id="<1@atelier.example>", unsubscribe_url="https://shop.example/unsubscribe/1",
    )  # fmt: skip
    sent = message_from_bytes(message.as_bytes(), policy=default)
    (address,) = sent["From"].addresses
    assert (address.display_name, address.addr_spec) == ("Maison Atelier, Lyon", "client@atelier.example")


def test_a_sender_whose_domain_is_in_another_script_is_written_in_its_ascii_form():
    """ "Café Müller <hallo@café.example>" went out as From: ... <hallo@=?utf-8?q?caf=C3=A9?=.example>: an
    encoded-word inside an address, which no mail client reads as one."""
    from email import policy as policies

    from service.pipeline.mail import build_message

    message = build_message(
        sender="Café Müller <hallo@café.example>", to="anna@example.com", subject="Hallo", text="Hi",
        html="<p>Hi</p>", message_id="<1@xn--caf-dma.example>", unsubscribe_url="https://shop.example/unsubscribe/1",
    )  # fmt: skip
    written = message.as_bytes(policy=policies.SMTP).decode("ascii")  # as smtplib writes it without SMTPUTF8
    header = next(line for line in written.splitlines() if line.startswith("From:"))
    assert header.endswith("<hallo@xn--caf-dma.example>") and "=?" in header  # the name encoded, the address not
    (address,) = message_from_bytes(message.as_bytes(), policy=default)["From"].addresses
    assert (address.display_name, address.addr_spec) == ("Café Müller", "hallo@xn--caf-dma.example")


def _written_in(engine, draft_id: int, locale: str) -> None:
    """Give the draft's variant the email frame's HTML in ``locale`` (its <html lang>) and the brand's footer."""
    footer = load_brand("hearth").footer_for(locale)
    with session_scope(engine) as session:
        variant = session.scalar(select(Variant).join(Draft, Draft.selected_variant_id == Variant.id).where(
            Draft.id == draft_id
        ))  # fmt: skip
        variant.html = f'<!doctype html>\n<html lang="{locale}">\n<body><p>…</p><p>{footer}</p></body></html>'


def test_the_unsubscribe_page_speaks_the_language_the_email_was_written_in(client, engine, mail_server, monkeypatch):
    """A Russian email's link opened an English page (lang="en", "Stop marketing email … ?"), and the send recorded
    the customer's locale rather than the email's (GET /customers/{id}/sends showed none at all)."""
    controller, messages = mail_server
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("TAILOR_PUBLIC_URL", "https://mail.shop.example/")
    campaign_id = new_campaign(client)
    russian, czech = _addressed(client, engine, campaign_id, ["petr@example.ru", "jana@example.cz"])
    _written_in(engine, russian, "ru")
    with session_scope(engine) as session:  # the customer's language changed after the email was written
        session.scalar(select(Customer).where(Customer.external_id == "c1")).locale = "de"
        session.scalar(select(Customer).where(Customer.external_id == "c2")).locale = "cs"  # no templates: en

    assert send_job(client, campaign_id)["result"]["sent"] == 2

    assert [m["Content-Language"] for m in messages] == ["ru", "en"]
    assert [s["locale"] for s in client.get("/customers/c1/sends").json()] == ["ru"]
    assert [s["locale"] for s in client.get("/customers/c2/sends").json()] == ["en"]
    link = re.search(r"https://mail\.shop\.example(/unsubscribe/\S+)", messages[0].get_body(("plain",)).get_content())
    recipient = TestClient(client.app)  # the recipient has no API key
    page = recipient.get(link.group(1)).text
    assert '<html lang="ru">' in page and "<title>Отписка от рассылки</title>" in page
    assert "Больше не присылать рекламные письма от Hearth &amp; Leaf на адрес petr@example.ru?" in page
    assert ">Отписаться</button>" in page and ">Unsubscribe<" not in page
    done = recipient.post(link.group(1)).text
    assert "Вы отписались от рассылки" in done and "больше не будут приходить" in done


def test_the_review_preview_names_the_unsubscribe_link_in_the_emails_language(client, engine):
    """The preview showed the English words "unsubscribe link" inside a Polish footer."""
    draft_id = approved_draft(client, engine, new_campaign(client))
    _written_in(engine, draft_id, "pl")
    preview = unescape(client.get(f"/review/drafts/{draft_id}").text.split('srcdoc="', 1)[1].split('"></iframe>')[0])
    assert "Wypisz się: <u" in preview and ">link do rezygnacji z subskrypcji</u>" in preview
    assert "unsubscribe link" not in preview


@pytest.mark.parametrize(
    ("locale", "question", "button", "done", "link"),
    [
        ("fr", "Ne plus recevoir les e-mails promotionnels de Hearth & Leaf à l’adresse ana@example.com\u00a0?",
         "Me désinscrire", "Désinscription confirmée", "lien de désinscription"),
        ("es", "¿Dejar de recibir correos promocionales de Hearth & Leaf en ana@example.com?", "Darme de baja",
         "Baja confirmada", "enlace para darse de baja"),
        ("it", "Non ricevere più email promozionali da Hearth & Leaf all’indirizzo ana@example.com?",
         "Annulla l’iscrizione", "Iscrizione annullata", "link per annullare l’iscrizione"),
        ("pt", "Deixar de receber e-mails promocionais de Hearth & Leaf em ana@example.com?", "Deixar de receber",
         "Envio de e-mails cancelado", "link para deixar de receber estes e-mails"),
        ("nl", "Geen marketingmails meer van Hearth & Leaf ontvangen op ana@example.com?", "Afmelden",
         "U bent afgemeld", "afmeldlink"),
    ],
)  # fmt: skip
def test_the_unsubscribe_page_and_link_speak_french_spanish_italian_portuguese_and_dutch(
    locale, question, button, done, link
):
    """These languages had no words for the unsubscribe page (an email in one of them would have opened an English
    page, as a Russian one once did) nor for the link the review page previews in the footer."""
    from generation.brands import UNSUBSCRIBE_PLACEHOLDER
    from service.review import as_previewed
    from service.unsubscribe import Subscription

    words = Subscription(email="ana@example.com", brand="Hearth & Leaf", unsubscribed=False, locale=locale).words()
    assert (words["question"], words["button"], words["done_title"]) == (question, button, done)
    html = f'<!doctype html>\n<html lang="{locale}">\n<p>{load_brand("hearth").footer_for(locale)}</p>'
    assert f">{link}</u>" in as_previewed(html) and "unsubscribe link" not in as_previewed(html)
    assert UNSUBSCRIBE_PLACEHOLDER not in as_previewed(html)


class _RawMailbox:
    """Keeps each message as the bytes the client sent, with the options of its MAIL command."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.received.append((list(envelope.mail_options), envelope.content))
        return "250 OK"


def test_a_body_in_german_goes_in_seven_bits_without_8bitmime(client, engine, monkeypatch):
    """Short lines with umlauts went as Content-Transfer-Encoding: 8bit, the bytes above 127 as they are, though
    MAIL FROM declared no BODY=8BITMIME (RFC 6152): a relay that recodes them breaks the DKIM signature it made."""
    from aiosmtpd.controller import Controller

    mailbox, port = _RawMailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("TAILOR_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TAILOR_SMTP_PORT", str(port))
    try:
        campaign_id = new_campaign(client)
        draft_id = approved_draft(client, engine, campaign_id)
        with session_scope(engine) as session:
            variant = session.scalar(select(Variant).join(Draft, Draft.selected_variant_id == Variant.id).where(
                Draft.id == draft_id
            ))  # fmt: skip
            variant.text, variant.html = "Grüße aus Köln\n", "<p>Grüße aus Köln</p>\n"
        assert send_job(client, campaign_id)["result"]["sent"] == 1
    finally:
        controller.stop()

    ((options, raw),) = mailbox.received
    assert "BODY=8BITMIME" not in options and raw.isascii(), raw
    sent = message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=default)  # as a mailbox keeps it
    assert sent.get_body(("plain",)).get_content() == "Grüße aus Köln\n"
    assert sent.get_body(("html",)).get_content() == "<p>Grüße aus Köln</p>\n"
