"""A campaign's audience as it would be chosen today, and the RFM segments' figures."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from service.schemas.campaigns import CampaignType
from service.schemas.common import DATE_TIME


class AudienceCustomerOut(BaseModel):
    customer_id: str
    first_name: str = ""
    segment: str = Field(description="the RFM segment, or no_orders (no orders yet)")
    churn_risk: float | None = None
    clv: float | None = None
    reason: str = Field("", description="why the customer is in the audience, in words")
    offer: dict[str, Any] | None = Field(None, description="the customer's offer (kind, value, code), if any")


class AudienceOut(BaseModel):
    campaign_type: CampaignType
    query: str | None
    as_of: str = Field(
        description="the day the audience is chosen on (YYYY-MM-DD): the profiles' day, `TAILOR_AUDIENCE_AS_OF` or "
        "the day after the latest order, which the reasons' days since the last order and due dates count from"
    )
    customers: int = Field(description="mailable customers the campaign would target today")
    mailed_recently: int = Field(description="of them, mailed within the contact policy's days: their email waits")
    held_out: int = Field(description="of them, held out by an experiment within its conversion window")
    sample: list[AudienceCustomerOut] = Field(
        description="`limit` customers after `offset`, in the campaign's order, with why and their offer"
    )


class SegmentOut(BaseModel):
    segment: str = Field(description="an RFM segment, or no_orders")
    customers: int
    revenue: float
    orders: int
    average_order_value: float | None = Field(description="null when the segment has no orders")
    retention_rate: float | None = Field(
        description="the share of the customers in the segment on retention_since who ordered again since (null: "
        "none were)"
    )
    retention_base: int
    retention_since: str = Field(description="a date (YYYY-MM-DD)")
    retention_days: int
    label: str = Field(description="the segment's name as a person reads it (\"can't lose\")")
    description: str = Field(description="what its customers have in common, in words")
    last_order_days_min: int | None = Field(
        None, description="the fewest days from a customer's last order to as_of in the segment at the refresh"
    )
    last_order_days_max: int | None = Field(
        None, description="the most such days (both null for no_orders, or a refresh stored before they were kept)"
    )
    as_of: str = Field(description="the day the segments describe (YYYY-MM-DD)")
    computed_at: str = Field(description="when the audience refresh computed them (UTC)", json_schema_extra=DATE_TIME)
