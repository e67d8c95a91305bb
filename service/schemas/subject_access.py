"""A subject access request's answer: everything Tailor holds about one customer (GDPR Art. 15 and 20)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from service.schemas.common import PRODUCT_ID, Score, UtcMoment, replaced_by
from service.schemas.customers import CustomerOut, CustomerSendOut
from service.schemas.drafts import DraftOut, HeldReviewOut


class HeldCustomerOut(CustomerOut):
    """The customer's record as a subject access request shows it: as GET /customers/{id}, and what it keeps
    besides."""

    created_at: UtcMoment = Field(description="when the customer was first imported")
    updated_at: UtcMoment = Field(description="when their record last changed (an import, an unsubscribe, a bounce)")
    bounced_email: str | None = Field(
        description="the address a hard bounce came back from, which may be an earlier one than `email`"
    )


class OrderLineOut(BaseModel):
    """A line of the customer's orders as the orders file gave it (a purchase, cart addition, view or return)."""

    order_id: str
    product_id: str = Field(description=PRODUCT_ID)
    sku: str = Field(deprecated=True, description=replaced_by("product_id"))
    product_name: str = Field(description="the product's name")
    product: str = Field(deprecated=True, description=replaced_by("product_name"))
    quantity: float
    amount: float = Field(description="what was paid for the line")
    discount: float | None = None
    kind: str
    timestamp: UtcMoment


class HeldCampaignOut(BaseModel):
    """A campaign that holds a draft, a send or an experiment assignment of the customer."""

    id: int
    name: str
    campaign_type: str
    created_at: UtcMoment


class HeldSendOut(CustomerSendOut):
    """An email the customer was sent, with what it recorded of them when it went out."""

    preheader: str
    intro: str
    n_products: int = Field(description="how many products the email showed")
    mean_price: float = Field(description="the mean price of the products the email showed")
    rec_score: Score | None = Field(
        description="how well the recommender rated the email's products for the customer (their mean score, to 6 "
        "significant digits)"
    )


class ConsentChangeOut(BaseModel):
    """One change of whether the customer may be sent marketing email (GDPR Art. 7(1))."""

    change: Literal["given", "withdrawn", "unsubscribed"] = Field(
        description="their marketing consent given or withdrawn (the shop's customers file), or their unsubscribe, "
        "which stops the mail whatever the consent says"
    )
    took_effect_at: UtcMoment = Field(
        description="when it took effect: the customers file's `consent_at`, an event's time, else when recorded"
    )
    recorded_at: UtcMoment = Field(description="when Tailor recorded it")
    source: str = Field(
        description="what brought it: `import`, `unsubscribe link`, `unsubscribe event` or `complaint event` (an "
        "email service's), `address unsubscribed` (their address, unsubscribed under another customer id at it or "
        "from an email to an erased customer), or `stored before 0045` (what the customer's record said when Tailor "
        "began keeping the history)"
    )
    import_file: str | None = Field(description="the imported file's name, for an import")
    import_job_id: str | None = Field(description="the import's job, for an import run as one (GET /jobs/{id})")
    send_id: int | None = Field(description="the email whose link or event it was")


class AssignmentOut(BaseModel):
    campaign_id: int
    arm: str = Field(description="the experiment's arm: a variant's label, or holdout (sent nothing)")
    send_id: int | None
    assigned_at: UtcMoment


class HeldDraftOut(DraftOut):
    """A draft as a subject access request shows it: as GET /drafts/{id}, its reviews without the shop's API keys."""

    reviews: list[HeldReviewOut]


class SubjectAccessOut(BaseModel):
    """Everything Tailor holds about one customer, for the shop to hand over (GDPR Art. 15 and 20)."""

    exported_at: UtcMoment
    customer: HeldCustomerOut
    orders: list[OrderLineOut] = Field(description="their order lines, oldest first")
    campaigns: list[HeldCampaignOut] = Field(description="the campaigns the drafts, sends and assignments name")
    drafts: list[HeldDraftOut] = Field(description="their email in each campaign, with its variants and review history")
    sends: list[HeldSendOut] = Field(description="the emails they were sent, newest first, each with its events")
    experiment_assignments: list[AssignmentOut]
    consent_history: list[ConsentChangeOut] = Field(
        description="every change of their consent and subscription Tailor recorded, in the order they took effect"
    )
    not_included: list[str] = Field(description="what else may hold something of them, which this does not list")
