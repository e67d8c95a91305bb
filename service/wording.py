"""How warnings and messages count and name what they are about: words that agree with their number, and the first
few of a list with how many more were left unnamed."""

from __future__ import annotations


def counted(count: int, one: str, many: str, grouped: bool = True) -> str:
    """``count`` with the words that agree with it: "1 customer has", "3 customers have"; its thousands grouped
    ("1,234") unless ``grouped`` is false, for a line whose other figures are not."""
    return f"{count:{',' if grouped else ''}} {one if count == 1 else many}"


def span_of(first: int, last: int, total: int) -> str:
    """Items ``first`` to ``last`` (counted from 1) of ``total``, as a job's message says the ones it is at:
    "1-8 of 77", and one alone "9 of 77", not "9-9 of 77"; thousands grouped."""
    span = f"{first:,}" if first == last else f"{first:,}-{last:,}"
    return f"{span} of {total:,}"


def first_named(items: list[str], shown: int) -> str:
    """The first ``shown`` of ``items`` joined by semicolons, and how many more there were: "a; b; and 3 more"."""
    more = f"; and {len(items) - shown:,} more" if len(items) > shown else ""
    return "; ".join(items[:shown]) + more
