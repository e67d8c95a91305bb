"""The email service's events (deliveries, opens, clicks, conversions, unsubscribes, bounces) as POST /events takes
them, and what it answers."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    PlainValidator,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)

from service.bounds import AMOUNT_MAX, ROW_ID_MAX
from service.db.models import EVENT_ID_MAX
from service.schemas.common import GivenMoment, RequestBody

# bounce: a hard bounce (the address is not mailed again); complaint: marked as spam (unsubscribes, as unsubscribe)
# machine_click: a click a link scanner made, not a reader (service.machine_clicks), counted apart from clicks;
# machine_open: an open a machine made (a mail gateway, a privacy proxy: service.machine_opens), apart from opens.
EventKind = Literal[
    "delivered", "open", "machine_open", "click", "machine_click", "conversion", "unsubscribe", "bounce", "complaint"
]


SHOP_SEND_ID_MAX = 128  # characters of the shop's own id of an imported send, as Send.external_id stores it


def _send_reference(value: object) -> int | str:
    """Tailor's id of a send (a number, never true/false) or, as `send_id` took it before `shop_send_id`, the shop's
    own id of an imported send (a string); one error naming the field, not one for each form it might have taken."""
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= ROW_ID_MAX:
            raise ValueError(f"Tailor's send ids are from 1 to {ROW_ID_MAX}")
        return value
    if isinstance(value, str) and 1 <= len(value.strip()) <= SHOP_SEND_ID_MAX:
        return value.strip()
    raise ValueError(
        f"must be Tailor's id of the send (a number) or an imported send's own id (a string of 1 to "
        f"{SHOP_SEND_ID_MAX} characters)"
    )


ShopSendId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SHOP_SEND_ID_MAX)]
SendReference = Annotated[
    int | str,
    PlainValidator(_send_reference),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX},
                {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": SHOP_SEND_ID_MAX,
                    "deprecated": True,
                    "description": "deprecated: an imported send's own id, which `shop_send_id` takes now; still "
                    "taken for the clients that send it so",
                },
            ]
        }
    ),
]
# The most one conversion may be worth, in the shop's currency: as much as an imported order line may be.
CONVERSION_VALUE_MAX = float(AMOUNT_MAX)


# A link's address as long as a browser takes one (tracked links of 8,700 characters were followed).
CLICKED_URL_MAX = 16_384


class EventIn(RequestBody):
    model_config = ConfigDict(extra="forbid")

    send_id: SendReference | None = Field(
        None,
        description="the send by Tailor's id, a number (the `id` GET /customers/{id}/sends gives); else "
        "`shop_send_id` or `message_id`. Deprecated as a string, the shop's own id, which `shop_send_id` takes now",
    )
    shop_send_id: ShopSendId | None = Field(
        None,
        description="an imported send by the shop's own id (the sends file's `send_id` column, the `shop_send_id` GET "
        "/customers/{id}/sends gives); with `send_id` too, the same string (its old use) or the event is refused",
    )
    message_id: str | None = Field(None, max_length=998, description="the send's Message-ID (a header line's length)")
    event_id: str | None = Field(
        None, min_length=1, max_length=EVENT_ID_MAX,
        description="the email service's own id for the event: one whose send already has an event with this id "
        "is a duplicate (a retry), not recorded again",
    )  # fmt: skip
    kind: EventKind
    occurred_at: GivenMoment | None = Field(
        None,
        description="when it happened (default: now); with a time zone it is converted to UTC, without one it is UTC",
    )
    # Finite and bounded: 1e309 (infinity) was stored, and so were two of 1.7e308, whose sum overflows; either way
    # the campaign's revenue read null from then on.
    value: FiniteFloat | None = Field(
        None, ge=0, le=CONVERSION_VALUE_MAX,
        description="what a conversion was worth, in the shop's currency; only a conversion carries one",
    )  # fmt: skip

    url: str | None = Field(
        None, min_length=1, max_length=CLICKED_URL_MAX,
        description="the address a click followed, as the email service reports it: when it is the link of one of "
        "the products the email showed (tracking parameters such as utm_*, their order, `&amp;`, encoding, case, "
        "http, www., a trailing slash and a #fragment aside), the click is the product's (the campaign's "
        "`product_clicks`), and the recommender learns it as the customer's view of it; only a click carries one",
    )  # fmt: skip

    @property
    def send_reference(self) -> tuple[str, int | str] | None:
        """The field by which the event names its send by an id, and the id: Tailor's (a number) by `send_id`, the
        shop's (a string) by `shop_send_id` or, its old use, `send_id`; None for one named by `message_id` alone."""
        if self.send_id is not None:
            return "send_id", self.send_id
        return ("shop_send_id", self.shop_send_id) if self.shop_send_id is not None else None

    @field_validator("url")
    @classmethod
    def _only_a_click_has_a_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if url is not None and kind is not None and kind != "click":
            raise ValueError(f"only a click carries a url, not an event of kind {kind!r}")
        return url

    @field_validator("value")
    @classmethod
    def _only_a_conversion_has_a_value(cls, value: float | None, info: ValidationInfo) -> float | None:
        """An open or a click worth something is a mistake of the email service's mapping, not revenue: taken, it
        was stored and shown with the send's events."""
        kind = info.data.get("kind")  # absent when the kind itself was refused
        if value is not None and kind is not None and kind != "conversion":
            raise ValueError(f"only a conversion carries a value, not an event of kind {kind!r}")
        return value


class EventsIn(RequestBody):
    events: list[EventIn] = Field(min_length=1, max_length=10_000)


class SkippedEventOut(BaseModel):
    """An event of the batch not recorded: its send was erased (with its customer, or as old history)."""

    index: int = Field(description="the event's place in the batch, from 0")
    send_id: int | None = Field(None, description="the send it named, when it named one by Tailor's `send_id`")
    shop_send_id: str | None = Field(
        None, description="the imported send it named by the shop's id (`shop_send_id`, or `send_id` as a string)"
    )
    message_id: str | None = Field(None, description="the Message-ID it named, when it named its send so")
    reason: str


class EventsRecorded(BaseModel):
    recorded: int = Field(description="events written")
    duplicates: int = Field(description="events their send had already (same `event_id`, or kind and time)")
    skipped: list[SkippedEventOut] = Field(
        default_factory=list, description="present when events were not recorded: those of erased sends"
    )
