"""How warnings and messages count and name what they are about: words that agree with their number, and the first
few of a list with how many more were left unnamed."""

from __future__ import annotations


def counted(count: int, one: str, many: str) -> str:
    """``count`` with the words that agree with it: "1 customer has", "3 customers have"."""
    return f"{count:,} {one if count == 1 else many}"


def first_named(items: list[str], shown: int) -> str:
    """The first ``shown`` of ``items`` joined by semicolons, and how many more there were: "a; b; and 3 more"."""
    more = f"; and {len(items) - shown:,} more" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more
