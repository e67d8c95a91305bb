"""Sends a campaign's approved drafts through SMTP and records each send, so its events can be tracked."""

from __future__ import annotations

import smtplib
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from service.db.models import Campaign, Customer, Draft, Event, Send
from service.db.session import session_scope
from service.drafts import selected_variant
from service.settings import SmtpSettings


def build_message(sender: str, customer: Customer, subject: str, preheader: str, text: str, html: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = customer.email
    message["Subject"] = subject
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "tailor.local"
    message["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain)
    message["List-Unsubscribe"] = f"<mailto:unsubscribe@{domain}?subject=unsubscribe-{customer.external_id}>"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def send_campaign(progress, engine: Engine, campaign_id: int, settings: SmtpSettings | None = None) -> dict[str, Any]:
    """Job: send every approved, not yet sent draft; customers who unsubscribed meanwhile are skipped."""
    settings = settings or SmtpSettings()
    with session_scope(engine) as session:
        draft_ids = list(
            session.scalars(select(Draft.id).where(Draft.campaign_id == campaign_id, Draft.status == "approved"))
        )
    sent = skipped = 0
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        for done, draft_id in enumerate(draft_ids):
            with session_scope(engine) as session:
                draft = session.scalar(
                    select(Draft)
                    .where(Draft.id == draft_id)
                    .options(selectinload(Draft.variants), selectinload(Draft.customer))
                )
                customer = draft.customer
                variant = selected_variant(draft)
                if variant is None or customer.unsubscribed or not customer.marketing_consent:
                    draft.status = "skipped"
                    skipped += 1
                    continue
                message = build_message(
                    settings.sender, customer, variant.subject, variant.preheader, variant.text, variant.html
                )
                smtp.send_message(message)
                now = datetime.now()
                campaign = session.get(Campaign, campaign_id)
                recommended_prices = [r.get("price", 0.0) for r in draft.recommendations]
                send = Send(
                    customer_id=customer.id, campaign_id=campaign_id, draft_id=draft.id, variant_id=variant.id,
                    subject=variant.subject, preheader=variant.preheader, intro=variant.intro,
                    campaign_type=campaign.campaign_type, locale=customer.locale, segment=customer.segment or "",
                    n_products=len(recommended_prices),
                    mean_price=sum(recommended_prices) / len(recommended_prices) if recommended_prices else 0.0,
                    sent_at=now, message_id=message["Message-ID"],
                )  # fmt: skip
                send.events.append(Event(kind="delivered", occurred_at=now))
                session.add(send)
                draft.status = "sent"
                sent += 1
            progress(done + 1, len(draft_ids), f"sent {sent}")
    with session_scope(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        if sent:
            campaign.status = "sent"
    return {"sent": sent, "skipped": skipped}
