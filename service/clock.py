"""The service's one clock: every moment it stores or compares is UTC without a zone (naive UTC).

The server's own zone plays no part: a server set to America/New_York and one set to UTC record the same send at
the same stored time. A moment that arrives with a zone (an import, an event, a scheduled send's `at`) is
converted to UTC and its zone dropped; one that arrives without a zone is taken to be UTC already. A moment the
service gives out (the API's JSON, a job's result) is written with its zone, `Z`, as RFC 3339 wants (``as_text``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def utcnow() -> datetime:
    """Now, as the service keeps moments: UTC without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_today() -> date:
    """Today's date in UTC (the day ``utcnow`` falls on)."""
    return utcnow().date()


def as_utc(moment: datetime) -> datetime:
    """``moment`` as the service keeps moments: converted to UTC without a zone when it has one, else taken to be
    UTC already and kept. OverflowError when its zone takes it past the calendar's edge (year 1 or 9999)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def as_text(moment: datetime, timespec: str = "auto") -> str:
    """``moment`` as the API writes it: ISO 8601 in UTC ending in ``Z`` (``2026-12-01T20:11:35Z``), which every
    client reads as the moment it is; a time without a zone, RFC 3339's clients refuse or take as their own."""
    return as_utc(moment).isoformat(timespec=timespec) + "Z"
