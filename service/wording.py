"""How warnings and messages count and name what they are about: words that agree with their number, and the first
few of a list with how many more were left unnamed."""

from __future__ import annotations


def counted(count: int, one: str, many: str, grouped: bool = True) -> str:
    """``count`` with the words that agree with it: "1 customer has", "3 customers have"; its thousands grouped
    ("1,234") unless ``grouped`` is false, for a line whose other figures are not."""
    return f"{count:{',' if grouped else ''}} {one if count == 1 else many}"


def first_named(items: list[str], shown: int) -> str:
    """The first ``shown`` of ``items`` joined by semicolons, and how many more there were: "a; b; and 3 more"."""
    more = f"; and {len(items) - shown:,} more" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more
