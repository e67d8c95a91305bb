"""Request fields the API renamed, still taken by their old names, so that the clients that send them keep working:
a request may give either name, or both alike; both at odds are refused, naming both."""

from __future__ import annotations

from typing import TypeVar

from service.errors import InvalidInput, Problem

Value = TypeVar("Value")


def either_name(what: str, new: str, given_new: Value | None, old: str, given_old: Value | None) -> Value | None:
    """The value a request gives the query parameter ``new`` by its name or by its old name ``old`` (None: by
    neither); InvalidInput naming both when it gives both, at odds: which one it meant, nobody can tell."""
    if given_new is not None and given_old is not None and given_new != given_old:
        said = f"{old} is the old name of {new}, and they differ ({old}={given_old}, {new}={given_new}): give one"
        raise InvalidInput(what, [Problem(None, name, said, "parameter") for name in (old, new)], outcome="refused")
    return given_old if given_new is None else given_new
