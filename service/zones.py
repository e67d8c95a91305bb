"""IANA time zone names as people write them (a customers file's `timezone`): known whatever their case, and
kept as the zone database spells them, so that every reader (Python's zoneinfo, PostgreSQL's ``timezone()``)
finds the zone; zoneinfo on Linux finds "America/Los_Angeles" and not "america/los_angeles"."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

ZONE_EXAMPLES = "give an IANA name, such as Europe/Berlin or America/New_York"


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {zone.casefold(): zone for zone in available_timezones()}


def zone_named(name: str) -> str | None:
    """The zone ``name`` names, as the zone database spells it (surrounding spaces and case aside); None for a
    name that is no zone's."""
    return _zones_by_folded_name().get(name.strip().casefold())
