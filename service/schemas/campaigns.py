"""Campaigns: what creating one takes, and a campaign with its drafts' counts, forecast and performance."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, Strict, StringConstraints, field_validator

from service.bounds import COUNT_MAX
from service.schemas.common import PRODUCT_ID, RequestBody, UtcMoment, replaced_by
from service.schemas.copy_edits import ONE_LINE, as_the_reader_sees

CampaignType = Literal["welcome", "cross_sell", "win_back", "replenishment", "vip"]


CampaignStatus = Literal["created", "generating", "ready", "failed", "sent"]


class CampaignIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    # One line: a line break split `tailor campaigns list`'s row for it in two.
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
    brand: str = Field(min_length=1, max_length=100, description="Brand kit name, one of prompts/brands/*.yaml")
    campaign_type: CampaignType
    audience_query: str | None = Field(
        default=None, description="Optional filter, e.g. `segment in (at_risk, cant_lose) and clv > 100`"
    )
    max_customers: Annotated[int, Strict()] | None = Field(default=None, ge=1, le=COUNT_MAX)
    holdout_share: FiniteFloat | None = Field(
        default=None, ge=0, lt=1, description="Run as an A/B/n experiment holding out this share (e.g. 0.1)"
    )

    @field_validator("name", mode="before")
    @classmethod
    def _name_as_the_reader_sees(cls, name: Any) -> Any:
        """Typed by a person, as a copywriter's edit is (as_the_reader_sees): a direction control is refused, as the
        review page and the command line show the name turned around by it; characters that take no room are
        dropped, and a name of nothing else is empty."""
        return as_the_reader_sees(name)


class ProductClicksOut(BaseModel):
    """One of the products of a campaign's email clicked most (its `performance`'s `product_clicks`)."""

    product_id: str = Field(description=PRODUCT_ID)
    product: str = Field(deprecated=True, description=replaced_by("product_id"))
    name: str = Field(description="the product's name")
    clicks: int = Field(description="the emails whose reader clicked it (twice counts once)")


class CampaignOut(BaseModel):
    id: int
    name: str
    brand: str
    campaign_type: CampaignType
    audience_query: str | None
    max_customers: int | None
    status: CampaignStatus
    created_at: UtcMoment
    drafts: dict[str, int] = Field(
        {}, description="the drafts by status, every status named (0 for none), each draft counted once (`flagged`: "
        "flagged and still waiting for a person), and their `total`"
    )  # fmt: skip
    stats: dict[str, Any] = {}
    forecast: dict[str, Any] = {}
    performance: dict[str, Any] = Field(
        {}, description="once it has sent: `sent`, the sends known to have gone out, and of them `opened`, "
        "`clicked`, `converted`, `unsubscribed`, `complained` and `bounced` with their rates over `sent` (null while "
        "it is 0), and `revenue` (the conversions' value), from the events recorded so far; to set beside "
        "`forecast`. `tracked_opens` and `tracked_clicks`: of `sent`, the emails Tailor sent with its open image and "
        "with its links through it (TAILOR_TRACK_OPENS, TAILOR_TRACK_CLICKS); of the others only an email service's "
        "events tell. `perhaps_sent`: emails whose mail server's answer was lost (a dropped connection, a killed "
        "process) and of which nothing was heard since, left out of `sent` and the rates. `machine_clicked`: the "
        "emails whose links a link scanner clicked (a `machine_click`: as the email was sent, or two links within a "
        "second), which are not counted as clicked or opened. `machine_opened`: the emails whose open a machine made "
        "(a `machine_open`: Tailor's image loaded as the email was sent, or an email service's report of one), which "
        "are not counted as opened. `product_clicks`: the 10 "
        "products of its email clicked most (`product_id`, `name`, `clicks` the emails whose reader clicked "
        "it; `product`, deprecated, the same as `product_id`), from Tailor's tracked links and the click events "
        "that give their address (`url`)",
        json_schema_extra={
            "properties": {
                "product_clicks": {"type": "array", "items": ProductClicksOut.model_json_schema(mode="serialization")}
            }
        },
    )  # fmt: skip
    holdout_share: float | None = None
    scheduled_at: UtcMoment | None = Field(
        None,
        description="the moment (UTC) a scheduled send mails the approved drafts (POST /campaigns/{id}/send?at=...)",
    )
    at_best_hour: bool = Field(
        False,
        description="whether the scheduled send mails each customer at their best hour from `scheduled_at` on "
        "(drafts approved later too)",
    )
    waiting: int = Field(
        0,
        description="approved drafts waiting for a later send time (a scheduled moment, the "
        "customer's best hour, the contact policy); the server sends them as they fall due",
    )
    next_send_at: UtcMoment | None = Field(None, description="when (UTC) the next waiting draft falls due")
    mailed_recently_by_then: int | None = Field(
        None,
        description="in a campaign scheduled for later: how many approved drafts go to customers mailed within the "
        "contact policy's days (TAILOR_SEND_MIN_DAYS_BETWEEN) before `scheduled_at`, by the emails sent so far; "
        "their emails will wait past it (at best hours, at most this many)",
    )
