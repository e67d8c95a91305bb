"""Dates from shop files: ISO dates as they are, numeric dates (03/04/2024, 03.04.2024) in the order the file uses.

pandas' "mixed" format guesses each value on its own: 31/01/2024 becomes 31 January but 01/02/2024 in the same
file becomes 2 January. Here the order comes from the column's unambiguous dates (a first part above 12 means
day first, a second part above 12 month first); a column with both, or with only ambiguous ones, is a problem
to report rather than a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{2,4}\b"


@dataclass(frozen=True)
class DateOrderProblem:
    """Why the column's numeric dates cannot be read: ``value`` (at 0-based ``position``) is ambiguous, or puts
    day and month the other way round from ``other_value`` (at ``other_position``)."""

    position: int
    value: str
    other_position: int | None = None
    other_value: str = ""

    def describe(self, where: Callable[[int], str] = lambda position: f"value {position + 1}") -> str:
        """The problem in words, with ``where`` naming a position (a file's line, say)."""
        if self.other_position is None:
            return f"'{self.value}' could be day/month or month/day, and no date settles it; use YYYY-MM-DD"
        return (
            f"'{self.value}' puts the day and month the other way round from '{self.other_value}' "
            f"({where(self.other_position)}); use one order, or YYYY-MM-DD"
        )


class DateOrder:
    """What a column's numeric dates say about their order, gathered piece by piece (a big file is read in
    chunks): the first value that puts the day first, the first that puts the month first, and the first
    numeric date of all (ambiguous, when no value decides), each with its 0-based position in the column."""

    def __init__(self) -> None:
        self.day_first_at: tuple[int, str] | None = None
        self.month_first_at: tuple[int, str] | None = None
        self.first_numeric_at: tuple[int, str] | None = None

    def add(self, values: pd.Series, start: int = 0) -> DateOrder:
        """Take the next piece of the column; ``start`` is the position of its first value."""
        text = values.astype("string").reset_index(drop=True)
        parts = text.str.extract(NUMERIC_DATE).dropna().astype(int)
        for found, where in (
            ("day_first_at", parts.index[parts[0] > 12]),
            ("month_first_at", parts.index[parts[1] > 12]),
            ("first_numeric_at", parts.index),
        ):
            if getattr(self, found) is None and len(where):
                setattr(self, found, (start + int(where[0]), str(text[where[0]])))
        return self

    def against(self, day_first: bool) -> tuple[int, str] | None:
        """The first value (its position and text) that only the other order reads, when the order is known
        otherwise (given with the file, or settled by an earlier one): pandas would read it in that other order
        without a word."""
        return self.month_first_at if day_first else self.day_first_at

    def decide(self) -> tuple[bool, DateOrderProblem | None]:
        """Whether the day comes first, or the problem that keeps it from being known."""
        if self.day_first_at and self.month_first_at:
            (first, first_value), (second, second_value) = sorted((self.day_first_at, self.month_first_at))
            return False, DateOrderProblem(second, second_value, first, first_value)
        if self.first_numeric_at and not (self.day_first_at or self.month_first_at):
            return False, DateOrderProblem(*self.first_numeric_at)
        return self.day_first_at is not None, None


def day_first(values: pd.Series) -> tuple[bool, DateOrderProblem | None]:
    """Whether the column's numeric dates put the day first, or the problem that keeps it from being known."""
    return DateOrder().add(values).decide()


def parse_dates(values: pd.Series, day_first_known: bool | None = None) -> tuple[pd.Series, DateOrderProblem | None]:
    """The values as UTC timestamps without a time zone (NaT where unreadable), or all NaT and the problem: a
    value with a zone is converted to UTC, one without is taken to be UTC already.
    Values that are timestamps already (a frame read from the database) are kept, not written out and read
    back: a recommender's training prepares the same interactions dozens of times. ``day_first_known``: the
    order of the whole column when ``values`` is a piece of it (see ``DateOrder``), instead of the piece's own."""
    if pd.api.types.is_datetime64_any_dtype(values):
        aware = isinstance(values.dtype, pd.DatetimeTZDtype)
        return (values.dt.tz_convert("UTC").dt.tz_localize(None) if aware else values.copy()), None
    text = values.astype("string").str.strip()
    first, problem = day_first(text) if day_first_known is None else (day_first_known, None)
    if problem:
        return pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]"), problem
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="mixed")
    if first:  # only the numeric dates: day-first would also turn ISO 2024-01-02 into 1 February
        numeric = text.str.match(NUMERIC_DATE).fillna(False).astype(bool)
        parsed[numeric] = pd.to_datetime(text[numeric], errors="coerce", utc=True, format="mixed", dayfirst=True)
    return parsed.dt.tz_localize(None), None
