"""A review page's address that its route refuses (a hand-edited ``?preview=abc``, ``?page=0``, a search pasted
whole), told in words that name the part of the address and what it takes: the page showed pydantic's own,
"query.preview: Input should be a valid integer", to a copywriter."""

from __future__ import annotations

from typing import Any

QUOTED_MAX = 40  # characters of a refused value the message quotes

# What a part of the address takes, by pydantic's error type (its ``ctx`` filled in).
_TAKES = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "greater_than_equal": "a number of at least {ge:,}",
    "greater_than": "a number over {gt:,}",
    "less_than_equal": "a number of at most {le:,}",
    "less_than": "a number under {lt:,}",
    "string_too_short": "at least {min_length:,} characters",
    "literal_error": "one of {expected}",
    "enum": "one of {expected}",
}


def address_problem(error: dict[str, Any]) -> str | None:
    """One refused part of the address (a query parameter or a path segment; ``error``: one of a
    RequestValidationError's), in words; None for a form's or a body's field, told as the API tells it."""
    where, name = error["loc"][0], error["loc"][-1]
    if where not in ("query", "path"):
        return None
    given, context = error.get("input"), error.get("ctx") or {}
    if error["type"] == "missing":
        return f"The address lacks its {name}."
    if error["type"] == "value_error":  # our own validators' words ("given 2 times; give it once")
        return f"The address's {name}: {error['msg'].removeprefix('Value error, ')}."
    if error["type"] == "string_too_long":
        return (
            f"The address's {name} is {len(given):,} characters long: it should be at most {context['max_length']:,}."
        )
    takes = _TAKES.get(error["type"])
    takes = takes.format(**context) if takes else error["msg"].removeprefix("Input should be ").rstrip(".")
    shown = given if len(str(given)) <= QUOTED_MAX else f"{str(given)[: QUOTED_MAX - 1]}…"
    if where == "path":  # its name is the route's, not a word of the address
        return f"The address holds “{shown}” where it should hold {takes}."
    return f"The address's {name} is “{shown}”: it should be {takes}."
