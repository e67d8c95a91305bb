"""The service's one clock: every moment it stores or compares is UTC without a zone (naive UTC).

The server's own zone plays no part: a server set to America/New_York and one set to UTC record the same send at
the same stored time. A moment that arrives with a zone (an import, an event, a scheduled send's `at`) is
converted to UTC and its zone dropped; one that arrives without a zone is taken to be UTC already. A moment the
service gives out (the API's JSON, a job's result) is written with its zone, `Z`, as RFC 3339 wants (``as_text``).
A time of day on a customer's clock (a best hour, a deferral's) goes between the two by ``wall_clock``,
``on_the_clock`` and ``at_time_of_day``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


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


def wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    """A moment (UTC without a zone) as ``zone``'s clock shows it, without a zone."""
    return moment.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def on_the_clock(shown: datetime, zone: ZoneInfo, fold: int = 0) -> datetime:
    """The moment (UTC without a zone) ``zone``'s clock shows as ``shown``: of a time shown twice, the first
    (``fold`` 0) or the second; of one the clock skips, the moment after the gap (02:30 the night Berlin enters
    summer time is 03:30) with ``fold`` 0."""
    return shown.replace(tzinfo=zone, fold=fold).astimezone(UTC).replace(tzinfo=None)


def at_time_of_day(earliest: datetime, time_of_day: time, zone: ZoneInfo) -> datetime:
    """The first moment at or after ``earliest`` (UTC without a zone) at which ``zone``'s clock shows
    ``time_of_day``. A time of day the clock shows twice (01:30 the night New York leaves summer time) is either
    moment, the first at or after ``earliest``: a wait ending between the two held the email a whole day; one the
    clock skips (02:30 the night Berlin enters it) is the moment after the gap (03:30), that day alone."""
    shown = datetime.combine(wall_clock(earliest, zone).date(), time_of_day)
    # fold 1 is a later moment than fold 0 only for a time shown twice; for one skipped it is earlier, and so passed
    for moment in (on_the_clock(shown, zone, 0), on_the_clock(shown, zone, 1)):
        if moment >= earliest:
            return moment
    return on_the_clock(shown + timedelta(days=1), zone)
