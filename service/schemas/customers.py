"""A customer as the API gives them: their record, the emails they were sent with those emails' events, and their best
send hour."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, Field

from service.schemas.common import UtcMoment, replaced_by


class CustomerOut(BaseModel):
    customer_id: str
    email: str
    first_name: str
    locale: str
    timezone: str | None = Field(
        None, description="the IANA time zone the customer lives in (a customers file's `timezone`), whose clock their "
        "best send hour is an hour of and their best-hour sends wait for; null: the shop's (TAILOR_SEND_TIMEZONE)",
    )  # fmt: skip
    marketing_consent: bool
    consent_changed_at: UtcMoment | None = Field(
        None, description="when `marketing_consent` took its present value: the customers file's `consent_at` (when "
        "the shop collected it), else when Tailor got it (the import that brought the customer or changed their "
        "consent; the same consent again keeps the time); null for one whose consent is unchanged since before "
        "Tailor kept the time",
    )  # fmt: skip
    consent_source: str | None = Field(
        None, description="the latest change of the customer's consent or subscription and what brought it, in words "
        "(\"withdrawn by import of nightly.csv (job ...)\", \"unsubscribed by unsubscribe link of send 12\"); the "
        "subject access export's `consent_history` lists them all; null for one without a recorded change",
    )  # fmt: skip
    unsubscribed: bool
    unsubscribed_at: UtcMoment | None = Field(
        None, description="when the unsubscribe took effect, as the consent history's change says: an unsubscribe "
        "link's click (also one written later, the database busy), an `unsubscribe` or `complaint` event's "
        "`occurred_at` (also one reported late; never after Tailor took it), else when Tailor took it (a customers "
        "file, another customer at the address): null while subscribed, and for one unsubscribed before Tailor kept "
        "the time",
    )  # fmt: skip
    email_bounced: bool = Field(
        False, description="the address hard-bounced (a `bounce` event, or the mail server refused it for good): "
        "it is not mailed until the customer's email changes",
    )  # fmt: skip
    segment: str = Field(
        description="an RFM segment, or no_orders (no order yet, or none since the last audience refresh), as "
        "GET /segments counts and GET /customers?segment= lists them"
    )
    profile: dict[str, Any] = Field(
        {},
        description="what the latest audience refresh computed, empty before one: `as_of`, the day it describes "
        "(YYYY-MM-DD; orders from that day on are not in it), and `horizon_days` (TAILOR_AUDIENCE_HORIZON_DAYS), "
        "the days ahead of it the forecasts cover; `recency_days` (from the last order's day to `as_of`), "
        "`frequency` (orders), `monetary` (mean order value, net of returns), their 1-5 scores `r_score`, "
        "`f_score`, `m_score` (ranked among the shop's customers) and `rfm_segment`; `cluster`, `cluster_label`; "
        "`repeat_purchase_days` (days with an order after the first), `cycle_days` (expected days between orders); "
        "`p_alive` (0-1, the buying-pattern model's); `churn_risk` (0-1, the chance of no order within the "
        "`horizon_days`); `expected_purchases` (days with an order within them), `expected_purchase_value` (spend "
        "on each, in the orders' currency), `clv` (their product: the spend expected within the horizon, not "
        "discounted, not a lifetime's); `next_purchase_date` (null when not expected back); `reasons`, each in "
        "words. Null where unknown (a shop where nobody has bought twice)",
    )
    attributes: dict[str, Any] = Field(
        {}, description="the customers file's own columns beyond the documented ones (a loyalty tier, a country…)"
    )


class SendTimeOut(BaseModel):
    customer_id: str
    best_hour: int = Field(
        description="the hour of the day (0–23) on the customer's clock: `timezone`, their own (a customers file's "
        "`timezone`) or else the shop's, TAILOR_SEND_TIMEZONE (UTC unless set); the moments the API gives and keeps "
        "are UTC"
    )
    timezone: str = Field("UTC", description="the IANA time zone of best_hour, e.g. Europe/Berlin: the customer's "
                          "own, or the shop's for one without")  # fmt: skip
    expected_open_rate: float
    n_sends: int
    n_opens: int
    source: Literal["own", "population"]


class SendEventOut(BaseModel):
    kind: str
    occurred_at: UtcMoment
    value: float | None = None
    event_id: str | None = Field(
        None, validation_alias="external_id", description="the email service's own id for the event, if it gave one"
    )
    product_id: str | None = Field(
        None, validation_alias="product_sku",
        description="the id of the product whose link a click followed, of those the email showed (its sku); null "
        "for any other event or link",
    )  # fmt: skip
    product: str | None = Field(
        None, validation_alias="product_sku", deprecated=True, description=replaced_by("product_id")
    )
    recorded_at: UtcMoment | None = Field(
        None, description="when Tailor recorded it, which for the email service's report of it may be later than "
        "`occurred_at` (an unsubscribe that happened before an email went may have reached Tailor after it); null "
        "for events recorded before this was kept",
    )  # fmt: skip


class CustomerSendOut(BaseModel):
    """One email a customer was sent: by a Tailor campaign (`campaign_id`, `draft_id`) or in the imported history."""

    id: int
    shop_send_id: str | None = Field(
        None, validation_alias=AliasChoices("shop_send_id", "external_id"),
        description="the shop's own id of an imported send (the sends file's `send_id`); null for Tailor's",
    )  # fmt: skip
    send_id: str | None = Field(
        None, validation_alias="external_id", deprecated=True, description=replaced_by("shop_send_id")
    )
    campaign_id: int | None
    draft_id: int | None
    campaign_type: str
    subject: str
    sent_at: UtcMoment
    message_id: str | None
    earlier_message_ids: list[str] = Field(
        [], description="the Message-IDs of the send's earlier emails, earliest first: a draft mailed again (approved "
        "again after its email's answer was lost) goes on its one send, whose `message_id` is the latest email's",
    )  # fmt: skip
    to_email: str | None = Field(description="the address it went to; null for imported history")
    locale: str = Field(
        description="the language the email was written in (for imported history, the customer's when imported)"
    )
    variant_id: int | None = Field(
        None, description="the draft's variant that was mailed (GET /drafts/{draft_id} shows it); null for imported "
        "history",
    )  # fmt: skip
    segment: str = Field(description="the customer's segment when the email went out")
    churn_risk: float | None = Field(description="the customer's churn risk when the email went out")
    arm: str | None = Field(
        None, description="the experiment's arm the customer was in (the variant's label); null outside an "
        "experiment, and for a draft its reviewer pinned",
    )  # fmt: skip
    perhaps_sent: bool = Field(
        False, description="Tailor's email whose mail server's answer was lost (a dropped connection, a killed "
        "process), with no event heard of it since: the customer may or may not have it; false for imported history",
    )  # fmt: skip
    tracking: str | None = Field(
        None, description="what Tailor's email told it of the customer's reading (TAILOR_TRACK_OPENS and "
        "TAILOR_TRACK_CLICKS when it went): `opens,clicks`, `opens`, `clicks`, or \"\" for neither; null for imported "
        "history and email sent before Tailor recorded it",
    )  # fmt: skip
    events: list[SendEventOut]
