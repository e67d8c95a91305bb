"""A customer's subject access request (GDPR Art. 15, and Art. 20's copy in a portable form): everything Tailor
holds about one customer in one document, for the shop to hand over (GET /customers/{id}/export, `tailor customers
export`). Drafts and sends are shown as their own routes show them.

The document is read in a fixed number of queries, one per kind of record (the drafts' variants, reviews and sends,
and the sends' events and the products they clicked, each loaded for all of them at once), however long the
customer's history; it is whole, not paged, as an answer to the customer must be. What Tailor keeps of them outside
these records is named in its ``not_included``."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from service.clock import utcnow
from service.consent import consent_history
from service.customers import customer_out, get_customer
from service.db.models import Assignment, Campaign, Draft, Event, Interaction, Product, Send
from service.drafts import AS_SHOWN, draft_out
from service.schemas import (
    AssignmentOut,
    ConsentChangeOut,
    HeldCampaignOut,
    HeldCustomerOut,
    HeldDraftOut,
    HeldSendOut,
    OrderLineOut,
    SubjectAccessOut,
)

NOT_INCLUDED = (
    "The trained models (the server's models folder): the recommender and the engagement model learnt from the "
    "customer's orders and sends and hold their customer id until the next training; they hold figures, not records.",
    "The jobs' messages and results (GET /jobs), and the answers kept 24 hours for retried requests, which may name "
    "the customer in passing: an address a send was refused for, an import's warning.",
    "The server's logs, wherever its operator keeps them: a request's line names no customer, but a failed job's "
    "line holds its error, which may name their address.",
    "The files written out of Tailor: campaign exports (tailor export) and the drafts an email service was handed, "
    "an import's problems file, and what the email service keeps of the emails it sent.",
    "Backups of the database, kept outside Tailor.",
)


def subject_access(session: Session, external_id: str) -> SubjectAccessOut:
    """Everything Tailor holds about the customer ``external_id``; NotFound for one it does not hold, saying so
    when they were erased."""
    customer = get_customer(session, external_id)
    order_lines = session.execute(
        select(Interaction, Product.sku, Product.name)
        .join(Product, Product.id == Interaction.product_id)
        .where(Interaction.customer_id == customer.id)
        .order_by(Interaction.timestamp, Interaction.id)
    )
    drafts = session.scalars(
        select(Draft).where(Draft.customer_id == customer.id).options(*AS_SHOWN).order_by(Draft.id)
    ).all()
    sends = session.scalars(
        select(Send)
        .where(Send.customer_id == customer.id)
        .options(selectinload(Send.events).selectinload(Event.product), selectinload(Send.earlier_messages))
        .order_by(Send.sent_at.desc(), Send.id.desc())
    ).all()
    assignments = session.scalars(
        select(Assignment).where(Assignment.customer_id == customer.id).order_by(Assignment.id)
    ).all()
    history = consent_history(session, customer.id)
    named = {draft.campaign_id for draft in drafts} | {a.campaign_id for a in assignments}
    named |= {send.campaign_id for send in sends if send.campaign_id is not None}
    campaigns = session.scalars(select(Campaign).where(Campaign.id.in_(named)).order_by(Campaign.id)) if named else []
    return SubjectAccessOut(
        exported_at=utcnow(),
        customer=HeldCustomerOut(
            **customer_out(customer, max(history, key=lambda change: change.id, default=None)).model_dump(),
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            bounced_email=customer.bounced_email,
        ),
        orders=[
            OrderLineOut(
                order_id=line.order_id,
                product_id=sku,
                sku=sku,
                product_name=name,
                product=name,
                quantity=line.quantity,
                amount=line.amount,
                discount=line.discount,
                kind=line.kind,
                timestamp=line.timestamp,
            )  # fmt: skip
            for line, sku, name in order_lines
        ],
        campaigns=[HeldCampaignOut.model_validate(campaign, from_attributes=True) for campaign in campaigns],
        drafts=[_held_draft(draft) for draft in drafts],
        sends=[HeldSendOut.model_validate(send, from_attributes=True) for send in sends],
        experiment_assignments=[AssignmentOut.model_validate(a, from_attributes=True) for a in assignments],
        consent_history=[ConsentChangeOut.model_validate(change, from_attributes=True) for change in history],
        not_included=list(NOT_INCLUDED),
    )


# A household's draft is flagged naming the other customer id at its address ("Customer C00017 has the same address
# ...", service.pipeline.generate; "Not sent: customer C00017 has ...", service.pipeline.sending): someone else's.
_OTHER_CUSTOMER = re.compile(r"\b([Cc])ustomer (.+?) has the same address")


def _held_draft(draft: Draft) -> HeldDraftOut:
    """The draft as GET /drafts/{id} shows it, but for the other customer id its flags name and the API keys its
    reviews were made with: the export is handed to this customer, that id is another person's, and the keys are
    the shop's credentials."""
    shown = HeldDraftOut.model_validate(draft_out(draft).model_dump())
    shown.flag_reasons = [_OTHER_CUSTOMER.sub(_another_customer, reason) for reason in shown.flag_reasons]
    return shown


def _another_customer(named: re.Match) -> str:
    return f"{'A' if named[1] == 'C' else 'a'}nother customer has the same address"
