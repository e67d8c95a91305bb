"""What every area's bodies share: the moments and scores as the API writes them, row ids, the words its descriptions
reuse, and RequestBody, the base of every request body."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from annotated_types import Ge, Le
from pydantic import BaseModel, BeforeValidator, PlainSerializer, Strict, WithJsonSchema, field_validator

from service.bounds import ROW_ID_MAX
from service.clock import as_text
from service.moments import with_a_time

# A moment the API gives: kept as UTC without a zone, written in JSON with its zone, 2026-12-01T20:11:35.805549Z, and
# documented as the RFC 3339 date-time it is (the serializer alone made it a plain string in /openapi.json).
DATE_TIME = {"type": "string", "format": "date-time"}
UtcMoment = Annotated[
    datetime,
    PlainSerializer(as_text, return_type=str, when_used="json"),
    WithJsonSchema(DATE_TIME, mode="serialization"),
]
# A moment the API is given (a query's or a body's): a day without a time is refused, not read as its midnight in UTC.
GivenMoment = Annotated[datetime, BeforeValidator(with_a_time)]


def shown_score(score: float | None) -> float | None:
    """A recommender's score as the API shows it: to 6 significant digits, without the float noise of the sums that
    made it (0.8200000000000001); a list's order is its ranks', which the scores were ranked by unrounded."""
    return None if score is None else float(f"{score:.6g}")


Score = Annotated[float, PlainSerializer(shown_score, return_type=float, when_used="json")]
SCORE = "the recommender's score of the product for the customer, to 6 significant digits (`rank` gives the order)"

# A product is named by `product_id` in every answer, as the orders file and a draft's products name it; the names
# answers gave it before (`sku`, `product`) are still given beside it, for the marketing tools that read them.
PRODUCT_ID = "the product's id, the shop's own (its sku: the products file's `sku`, the orders file's `product_id`)"


def replaced_by(field: str) -> str:
    """The description of a field an answer still gives under its old name, for the clients that read it."""
    return f"deprecated: the same as `{field}`, which replaces it; still given for the clients that read this name"


# The characters of a search for a customer (a list of drafts' `customer`: an id, an email address or a first name):
# as many as the longest the customers' table holds, an address's 320; any length was searched, and echoed back.
CUSTOMER_SEARCH_MAX = 320

# A row's id in a path, a query or a form, where it is text read as a number.
DatabaseId = Annotated[int, Ge(1), Le(ROW_ID_MAX)]
# A row's id in a JSON body: a number, so that `true` is not read as id 1.
BodyId = Annotated[int, Strict(), Ge(1), Le(ROW_ID_MAX)]


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


class RequestBody(BaseModel):
    """A request's JSON body. No text in it may hold a NUL character: PostgreSQL cannot store one (the request
    failed with a plain-text 500 there, and was stored on SQLite), and no name, copy or id needs one."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("holds a NUL character (\\x00), which no text may")
        return value
