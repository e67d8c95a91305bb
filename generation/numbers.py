"""How an email writes an amount for its reader: the decimal mark and thousands separator of the customer's locale,
region included where the region writes numbers otherwise than its language (es-MX 1,234.50, de-CH 1'234.50).

Each language the templates write has its way (CLDR's, but for two choices made for readers of unknown region:
French, Polish, Russian and Bulgarian group with a space that never breaks; Spanish with the space the Spanish
academies recommend, leaving a four-digit number whole, as Mexico reads 1.234 as a decimal). A region listed in
``_REGIONS`` (from CLDR 47: the regions of those languages whose marks differ) writes its own way; any other
region writes as its language does. Lakh grouping is India's (en-IN 12,34,567.50).
"""

from __future__ import annotations

from dataclasses import dataclass

from generation.locales import language_of

NO_BREAK_SPACE = "\u00a0"


@dataclass(frozen=True)
class NumberStyle:
    decimal: str
    group: str
    four_digits_whole: bool = False  # 1234,50 but 12 345,50
    lakh: bool = False  # groups of two above the thousands: 12,34,567


_ENGLISH = NumberStyle(".", ",")
_POINT = NumberStyle(",", ".")
_SPACE = NumberStyle(",", NO_BREAK_SPACE)
_SWISS = NumberStyle(".", "'")
_LANGUAGES = {
    "en": _ENGLISH, "de": _POINT, "it": _POINT, "nl": _POINT, "pt": _POINT, "fr": _SPACE, "pl": _SPACE,
    "ru": _SPACE, "bg": _SPACE, "es": NumberStyle(",", NO_BREAK_SPACE, four_digits_whole=True),
}  # fmt: skip
# The languages whose numbers are written their own way; any other writes English's.
WRITTEN_LANGUAGES = frozenset(_LANGUAGES)


def _regions(style: NumberStyle, language: str, regions: str) -> dict[str, NumberStyle]:
    return {f"{language}-{region}": style for region in regions.split()}


_REGIONS = {
    **_regions(_POINT, "en", "AT BE DE DK ES ID IT NL PL RO SI"),
    **_regions(_SPACE, "en", "CZ EE FI FR GE HU LT LV NO PT SE SK UA ZA"),
    **_regions(_SWISS, "en", "CH"),
    "en-IN": NumberStyle(".", ",", lakh=True),
    **_regions(_ENGLISH, "es", "419 BR BZ CU DO GT HN MX NI PA PE PR SV US"),
    # Spain and the rest of Spanish America as CLDR writes Spanish: a point, and a four-digit number whole.
    **_regions(NumberStyle(",", ".", four_digits_whole=True), "es", "ES AR BO CL CO EC PY UY VE"),
    **_regions(_SPACE, "es", "CR"),
    **_regions(_SWISS, "de", "CH LI"),
    **_regions(_SWISS, "it", "CH"),
    **_regions(NumberStyle(",", "'"), "fr", "CH"),
    **_regions(_POINT, "fr", "LU"),
    **_regions(_SPACE, "pt", "PT AO CH CV GQ GW LU MO MZ ST TL"),
}


def number_style(locale: str) -> NumberStyle:
    """The marks ``locale`` (a language, or a language and region: 'es-MX', 'pt_PT') writes numbers with; English's
    for a language without templates (its emails are written in the brand's default language)."""
    parts = locale.replace("_", "-").split("-")
    language = language_of(locale)
    region = parts[-1].upper() if len(parts) > 1 else ""
    return _REGIONS.get(f"{language}-{region}") or _LANGUAGES.get(language, _ENGLISH)


def written_number(value: float, locale: str, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, as ``locale`` writes it."""
    style = number_style(locale)
    whole, _, fraction = f"{abs(float(value)):.{decimals}f}".partition(".")
    groups, rest = [whole[-3:]], whole[:-3]
    if style.four_digits_whole and len(whole) == 4:
        groups, rest = [whole], ""
    size = 2 if style.lakh else 3
    while rest:
        groups.insert(0, rest[-size:])
        rest = rest[:-size]
    sign = "-" if float(value) < 0 and (whole + fraction).strip("0") else ""
    return sign + style.group.join(groups) + (style.decimal + fraction if fraction else "")
