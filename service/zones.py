"""IANA time zone names as people write them (a customers file's `timezone`): known whatever their case, and
kept as the zone database spells them, so that every reader (Python's zoneinfo, PostgreSQL's ``timezone()``)
finds the zone; zoneinfo on Linux finds "America/Los_Angeles" and not "america/los_angeles". And the zone a
country's code gives (a customers file's `country`, where it gives no `timezone`), for a country whose clocks all
show one time, from CLDR's zones of each country as Babel, a dependency, ships them: no file of the system's
(/usr/share/zoneinfo/zone1970.tab is missing from slim installs) nor the network is needed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

ZONE_EXAMPLES = "give an IANA name, such as Europe/Berlin or America/New_York"


@cache
def _zones_by_folded_name() -> dict[str, str]:
    return {zone.casefold(): zone for zone in available_timezones()}


def zone_named(name: str) -> str | None:
    """The zone ``name`` names, as the zone database spells it (surrounding spaces and case aside); None for a
    name that is no zone's."""
    return _zones_by_folded_name().get(name.strip().casefold())


# How far ahead a country's zones must show one time for the country to give a zone: a year of sends, and the next.
AGREEING_DAYS = 2 * 366


# The zone people of a country of several zones know as its own: its capital's, or the one of most of its people
# (zone.tab's "most of"), which the zone database does not mark and CLDR, whose zones Babel lists by their BCP 47 ids,
# names first only by chance: of clocks that agree, CLDR's first gave Cyprus Famagusta's (Northern Cyprus), Malaysia
# Kuching's (Borneo), the Marshall Islands Kwajalein's; and Windows' zone for a region gave Kazakhstan Qyzylorda's.
# Each country CLDR gives several zones, but Antarctica and the United States' outlying islands (AQ, UM): no one's home.
MAIN_ZONES = {
    "AR": "America/Argentina/Buenos_Aires", "AU": "Australia/Sydney", "BR": "America/Sao_Paulo",
    "CA": "America/Toronto", "CD": "Africa/Kinshasa", "CL": "America/Santiago", "CN": "Asia/Shanghai",
    "CY": "Asia/Nicosia", "DE": "Europe/Berlin", "EC": "America/Guayaquil", "ES": "Europe/Madrid",
    "FM": "Pacific/Pohnpei", "GL": "America/Nuuk", "ID": "Asia/Jakarta", "KI": "Pacific/Tarawa", "KZ": "Asia/Almaty",
    "MH": "Pacific/Majuro", "MN": "Asia/Ulaanbaatar", "MX": "America/Mexico_City", "MY": "Asia/Kuala_Lumpur",
    "NZ": "Pacific/Auckland", "PF": "Pacific/Tahiti", "PG": "Pacific/Port_Moresby", "PS": "Asia/Hebron",
    "PT": "Europe/Lisbon", "RU": "Europe/Moscow", "UA": "Europe/Kyiv", "US": "America/New_York", "UZ": "Asia/Tashkent",
}  # fmt: skip


def zone_of_country(country: object) -> str | None:
    """The zone of a country, by its ISO 3166 code or English name (any case: `FR`, `fr`, `France`), whose clocks all
    show one time: its one zone, or of zones that agree hour by hour over the next AGREEING_DAYS its main one
    (MAIN_ZONES: Germany's Berlin, not Büsingen; Cyprus's Nicosia), else the first CLDR lists; none for a country of
    several times (the United States; Spain, with the Canaries), or anything that names no country (an empty cell, a
    number)."""
    code = _country_code(country)
    return _zone_of_country(code) if code else None


def names_a_country(country: object) -> bool:
    """Whether ``country`` is a country's ISO 3166 code or English name (any case), as ``zone_of_country`` reads it."""
    return _country_code(country) is not None


def same_country(one: object, other: object) -> bool:
    """Whether both name one country (`FR` and `france`), as ``zone_of_country`` reads them."""
    return _country_code(one) is not None and _country_code(one) == _country_code(other)


def _country_code(country: object) -> str | None:
    return _country_codes().get(country.strip().casefold()) if isinstance(country, str) else None


@cache
def _country_codes() -> dict[str, str]:
    """Each country's code by its code and its English name, casefolded (Online Retail's customers give "Germany")."""
    from babel import Locale

    codes = {code for code in Locale("en").territories if len(code) == 2 and code.isalpha()}
    names = {name.casefold(): code for code, name in Locale("en").territories.items() if code in codes}
    return names | {code.casefold(): code for code in codes}


def gives_the_zone(country: object, zone: str | None) -> bool:
    """Whether ``zone`` is one of the zones of ``country``, whose clocks show one time, as ``zone_of_country`` reads
    it: the one it gives, or one of the same clock (Büsingen's for Germany; Kuching's, which an earlier Tailor gave
    Malaysia's customers)."""
    code = _country_code(country)
    return code is not None and zone in _one_time_zones(code)


@cache
def _zone_of_country(code: str) -> str | None:
    zones = _one_time_zones(code)
    if not zones:
        return None
    return MAIN_ZONES[code] if MAIN_ZONES.get(code) in zones else zones[0]


@cache
def _one_time_zones(code: str) -> tuple[str, ...]:
    """The country's zones, as CLDR lists them, where their clocks show one time; none otherwise."""
    from babel.core import get_global  # CLDR's data, read once it is asked for

    zones = tuple(zone for zone in map(zone_named, get_global("territory_zones").get(code, ())) if zone is not None)
    return zones if zones and _one_time(list(zones)) else ()


def _one_time(zones: list[str]) -> bool:
    """Whether the zones' clocks show one time at every hour of the next AGREEING_DAYS: compared day by day, and
    hour by hour through a day in which a clock changed (read hourly throughout, Argentina's 12 zones took 0.9 s)."""
    clocks = [ZoneInfo(zone) for zone in zones]

    def offsets(moment: datetime) -> tuple[timedelta | None, ...]:
        return tuple(moment.astimezone(clock).utcoffset() for clock in clocks)

    day = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    before = offsets(day)
    if len(set(before)) > 1:
        return False
    for _ in range(AGREEING_DAYS if len(clocks) > 1 else 0):
        after = offsets(day + timedelta(days=1))
        hours = range(1, 25) if after != before else ()
        if any(len(set(offsets(day + timedelta(hours=hour)))) > 1 for hour in hours):
            return False
        day, before = day + timedelta(days=1), after
    return True
