"""IANA time zone names as people write them (a customers file's `timezone`): known whatever their case, and
kept as the zone database spells them, so that every reader (Python's zoneinfo, PostgreSQL's ``timezone()``)
finds the zone; zoneinfo on Linux finds "America/Los_Angeles" and not "america/los_angeles". And the zone a
country's code or name gives (a customers file's `country`, where it gives no `timezone`), for a country whose clocks
all show one time, from CLDR's zones and names of each country as Babel, a dependency, ships them, and the names and
main zones it lacks, kept here: no file of the system's (/usr/share/zoneinfo/zone1970.tab is missing from slim
installs) nor the network is needed.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
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
    """Whether ``country`` is a country's ISO 3166 code or English name (any case; its other names, COUNTRY_ALIASES),
    or a place of one clock (PLACE_ZONES), as ``zone_of_country`` reads it."""
    return _country_code(country) is not None


def same_country(one: object, other: object) -> bool:
    """Whether both name one country (`FR` and `france`), as ``zone_of_country`` reads them."""
    return _country_code(one) is not None and _country_code(one) == _country_code(other)


# Names shops' exports give countries besides CLDR's English ones (as ``_folded`` writes them): Online Retail's (EIRE,
# USA, RSA, Czech Republic, Korea, Hong Kong), CLDR's short and variant names, which Babel leaves out (Turkey, Ivory
# Coast, Swaziland, Myanmar, Palestine, UK), and the common others.
COUNTRY_ALIASES = {
    "eire": "IE", "republic of ireland": "IE",
    "usa": "US", "u.s.a.": "US", "u.s.": "US", "united states of america": "US",
    "uk": "GB", "u.k.": "GB", "great britain": "GB", "britain": "GB",
    "england": "GB", "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "rsa": "ZA", "czech republic": "CZ", "holland": "NL", "turkey": "TR", "russian federation": "RU",
    "korea": "KR", "republic of korea": "KR",  # the South, as a shop's customers mean it: the North's clock is the same
    "hong kong": "HK", "macao": "MO", "macau": "MO", "ivory coast": "CI", "swaziland": "SZ", "cabo verde": "CV",
    "myanmar": "MM", "burma": "MM", "palestine": "PS", "east timor": "TL", "macedonia": "MK", "viet nam": "VN",
    "vatican": "VA", "holy see": "VA",
}  # fmt: skip
# CLDR's territories that are no country to live in: groupings (the European Union, the Eurozone, the United
# Nations, Outlying Oceania) and codes of no place (pseudo-locales; ZZ, "Unknown Region"). Online Retail's
# "European Community" and "Unspecified" are no country either, as a name CLDR does not know.
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
# Places a shop names as a country that are several ISO countries of one clock, by their (folded) name: the zone of
# each. The Channel Islands are Jersey and Guernsey (JE, GG: Alderney and Sark with it), whose zones Europe/Jersey and
# Europe/Guernsey are the zone database's other names for Europe/London: the islands keep the United Kingdom's time.
PLACE_ZONES = {"channel islands": "Europe/London"}


def _country_code(country: object) -> str | None:
    return _code_named(country) if isinstance(country, str) else None


# A file's countries are a few names, each on many rows: folded once each (folding took 10 µs a call, several a row).
@lru_cache(maxsize=1024)
def _code_named(name: str) -> str | None:
    return _country_codes().get(_folded(name))


def _folded(name: str) -> str:
    """A country's name as it is compared: without case, accents or a leading "the", with "&" as "and" and "St." as
    "Saint" ("Sao Tome and Principe" is CLDR's "São Tomé & Príncipe", "Saint Lucia" its "St. Lucia")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    plain = " ".join(plain.replace("’", "'").replace("&", " and ").casefold().split())
    return re.sub(r"^the |\bst\.? ", lambda found: "saint " if found[0].startswith("st") else "", plain)


@cache
def _country_codes() -> dict[str, str]:
    """Each country's code by its code, its English name and its other names (COUNTRY_ALIASES), folded (Online
    Retail's customers give "Germany", "EIRE"); and the key of each of PLACE_ZONES, its name."""
    from babel import Locale

    territories = Locale("en").territories
    codes = {code for code in territories if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES}
    names = {_folded(name): code for code, name in territories.items() if code in codes}
    return names | COUNTRY_ALIASES | {code.casefold(): code for code in codes} | {place: place for place in PLACE_ZONES}


def gives_the_zone(country: object, zone: str | None) -> bool:
    """Whether ``zone`` is one of the zones of ``country``, whose clocks show one time, as ``zone_of_country`` reads
    it: the one it gives, or one of the same clock (Büsingen's for Germany; Kuching's, which an earlier Tailor gave
    Malaysia's customers)."""
    code = _country_code(country)
    return code is not None and zone in _one_time_zones(code)


def renamed_zone(country: object, zone: str | None) -> str | None:
    """The zone ``country`` gives (``zone_of_country``) where ``zone`` is another name of it, as CLDR names zones
    another's (``cldr_zone_aliases``), and shows its time: India's Asia/Kolkata for Asia/Calcutta, the id an earlier
    Babel's CLDR gave India (Babel 2.12: Vietnam's Asia/Saigon, Argentina's America/Buenos_Aires likewise) and an
    earlier Tailor stored. None for any other zone, the country's own included."""
    code = _country_code(country)
    return _renamed_zone(code, zone) if code and zone else None


# Asked for each customer stored with another name (a file's countries are a few, on many rows): the clocks are
# compared once for each country and name, over AGREEING_DAYS (3 ms a pair).
@lru_cache(maxsize=4096)
def _renamed_zone(code: str, zone: str) -> str | None:
    named = _zone_of_country(code)
    if named is None or cldr_zone_aliases().get(zone) != named:
        return None
    # a name this system's zone database lacks (Debian keeps Asia/Calcutta in tzdata-legacy) has no clock to compare
    return named if zone_named(zone) is None or _one_time([zone, named]) else None


@cache
def cldr_zone_aliases() -> dict[str, str]:
    """The zone each name CLDR keeps as another zone's names (Asia/Calcutta: Asia/Kolkata; US/Eastern:
    America/New_York), as Babel ships them."""
    from babel.core import get_global

    return dict(get_global("zone_aliases"))


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

    if code in PLACE_ZONES:
        return (PLACE_ZONES[code],)
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


def country_given(attributes: dict[str, object]) -> object:
    """A customer's `country` among their attributes, its column's name in any case (Online Retail's "Country")."""
    return next((value for name, value in attributes.items() if name.strip().casefold() == "country"), None)
