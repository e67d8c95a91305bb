"""Email to customers of many languages: addresses in other scripts, and the words around the email (its
unsubscribe page, its headers) in the language it was written in."""

from __future__ import annotations

from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default

from sqlalchemy import select

from service.db.models import Customer, Draft
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
