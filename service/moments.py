"""What is wrong with a moment (ISO 8601 text) a request gave that pydantic refused, in words that name it: pydantic
tries a moment, then a day, and says what the day's reading found, so `2026-12-08T25:00` was refused for
"unexpected extra characters at the end of the input" rather than for its hour 25, and `2026-11-31` for a day
"outside expected range", not that November has 30 days. A query's '+' read as a space is named too, and so is a part
written with one digit (`T9:00`, which ISO 8601 and pydantic write `T09:00`). A day without a time (`2026-12-07`),
which pydantic takes as its midnight, is refused by ``with_a_time``."""

from __future__ import annotations

import calendar
import re
from typing import Any

MOMENT_ERRORS = ("datetime_parsing", "datetime_from_date_parsing", "date_parsing", "date_from_datetime_parsing")

# A moment's shape, each part read whatever its value, so that one out of its range can be named; the date's and the
# time's parts with one digit too (their separators say where each ends), so that one can be named for that.
_MOMENT = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[Tt ](?P<hour>\d{1,2})(?::(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:[.,]\d+)?)?)?)?"
    r"(?:[Zz]|[+-](?P<zone_hours>\d{2})(?::?(?P<zone_minutes>\d{2}))?)?"
)

# A moment given in a URL's query with its zone's '+' written as it stands: a query reads '+' as a space, so
# `?at=2026-12-08T09:00+01:00` arrives as "2026-12-08T09:00 01:00", which pydantic calls "unexpected extra
# characters at the end of the input", naming neither the '+' nor what to write.
_PLUS_READ_AS_SPACE = re.compile(r"(?<=\d) (?=\d\d(:?\d\d)?$)")

# A moment's parts of the time and the zone, each with its highest value and the words that name one past it.
_TIME_PARTS = (
    ("hour", 23, "hour {} is not an hour of the day (00 to 23)"),
    ("minute", 59, "minute {} is not a minute of the hour (00 to 59)"),
    ("second", 59, "second {} is not a second of the minute (00 to 59)"),
    ("zone_hours", 23, "the zone's offset of {} hours is more than a day's (00 to 23)"),
    ("zone_minutes", 59, "the zone's offset of {} minutes is past an hour's (00 to 59)"),
)
_TWO_DIGIT_PARTS = ("month", "day", "hour", "minute", "second")


def moment_problem(error: dict) -> str | None:
    """What is wrong with the moment of a pydantic error refusing one, or None for any other error (or a moment
    whose fault pydantic's own words say well enough: text that is no moment at all)."""
    given = error.get("input")
    if error["type"] not in MOMENT_ERRORS or not isinstance(given, str):
        return None
    if (shape := _MOMENT.fullmatch(given.strip())) is not None:
        fault = _out_of_range(shape) or _not_as_written(shape)
        return f"{given!r} is not a moment: {fault}" if fault else None
    if error["loc"][:1] == ("query",) and _PLUS_READ_AS_SPACE.search(given):
        return (
            f"{given!r} has a space where its zone's '+' was, as a URL's query reads a '+': write it as %2B "
            f"({_PLUS_READ_AS_SPACE.sub('%2B', given)}), or give the moment in UTC ending in Z"
        )
    return None


def _out_of_range(shape: re.Match) -> str | None:
    """The first part of a moment's date, time or zone that is past its range, in words; None when all are in it."""
    year, month, day = (int(shape[part]) for part in ("year", "month", "day"))
    if not 1 <= month <= 12:
        return f"month {shape['month']} is not a month (01 to 12)"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"day {shape['day']} is not a day of {calendar.month_name[month]} {year}, which has {days} days"
    for part, most, words in _TIME_PARTS:
        if shape[part] is not None and int(shape[part]) > most:
            midnight = (
                "; midnight at a day's end is 00:00 of the next" if part == "hour" and shape[part] == "24" else ""
            )
            return words.format(shape[part]) + midnight
    return None


def _not_as_written(shape: re.Match) -> str | None:
    """The parts of a moment written with one digit (`T9:00`), and a time without its minutes (`T09`), in words with
    the moment as ISO 8601 writes it (`T09:00`); None when there are none. Told, not taken: the API reads every moment
    by pydantic alone, as RFC 3339 writes it, and a client writing `T9:00` writes it so for the other services too."""
    short = [part for part in _TWO_DIGIT_PARTS if shape[part] is not None and len(shape[part]) == 1]
    without_minutes = shape["hour"] is not None and shape["minute"] is None
    if not short and not without_minutes:
        return None
    written = shape.string
    if without_minutes:
        written = f"{written[: shape.end('hour')]}:00{written[shape.end('hour') :]}"
    for part in reversed(short):  # from the end, so that the spans before it still hold
        start = shape.start(part)
        written = f"{written[:start]}0{written[start:]}"
    faults = []
    if short:
        names = " and ".join([", ".join(short[:-1]), short[-1]] if len(short) > 1 else short)
        faults.append(f"its {names} {'are' if len(short) > 1 else 'is'} written with two digits")
    if without_minutes:
        faults.append("its time with its minutes" if short else "its time is written with its minutes")
    return f"{', and '.join(faults)}: {written}"


def with_a_time(given: Any) -> Any:
    """``given`` as it was, unless it is a day without a time (`2026-12-07`), which pydantic takes as that day's
    midnight: a campaign scheduled so went out at 00:00 UTC, in the small hours in Europe and the evening before in
    America, with nothing said. A ValueError saying to write the time, and that without a zone it is read in UTC."""
    if isinstance(given, str) and (shape := _MOMENT.fullmatch(given.strip())) is not None and shape["hour"] is None:
        day = f"{shape['year']}-{shape['month']:0>2}-{shape['day']:0>2}"
        raise ValueError(
            f"{given!r} is a day without a time: write the time too, in UTC ending in Z ({day}T09:00Z) or with the "
            f"zone's offset ({day}T09:00+01:00); without either it is read as UTC"
        )
    return given
