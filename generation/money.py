"""How an email writes an amount of money for its reader: the number as ``generation.numbers`` writes it, and the
currency as the reader's locale writes it, by CLDR's data (through Babel): its symbol where the locale has one that
is unambiguous there (£1.65 for en, 1,65 € for de, € 1,65 for nl, CHF 1'234.50 for de-CH, US$ for a reader in
Britain), its ISO code where it has none (PLN in an English email, written PLN 1.65), on the side the locale puts
it. The currency and the number are joined by spaces that never break, so a narrow column or a phone never leaves
the currency alone on the next line.

A locale Babel does not know, or a language the templates do not write (its email is in the brand's default
language, and its numbers are English's), writes the number, then the code: "1.65 XYZ"."""

from __future__ import annotations

import re
from functools import lru_cache

from generation.locales import language_of
from generation.numbers import NO_BREAK_SPACE, WRITTEN_LANGUAGES, written_number

_DIGITS = re.compile(r"[#0][#0,.]*")


def written_amount(value: float, currency: str, locale: str, decimals: int) -> str:
    """``value`` with ``decimals`` decimals and its ``currency`` (an ISO 4217 code), as ``locale`` writes them."""
    number = written_number(value, locale, decimals)
    currency = (currency or "").strip()
    if not currency:
        return number
    prefix, suffix = _placement(currency, locale if language_of(locale) in WRITTEN_LANGUAGES else "en")
    return f"{prefix}{number}{suffix}"


@lru_cache(maxsize=512)
def _placement(currency: str, locale: str) -> tuple[str, str]:
    """What goes before and after the number: ("£", "") for GBP in en, ("", " €") for EUR in de."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_currency_symbol

    cldr = None
    # A region CLDR has no data for (Russian in Estonia, Italian in Germany) writes as its language does.
    for tag in dict.fromkeys((locale.replace("_", "-"), language_of(locale))):
        try:
            cldr = Locale.parse(tag, sep="-")
            break
        except (ValueError, TypeError, UnknownLocaleError):
            continue
    if cldr is None:
        return "", NO_BREAK_SPACE + currency.upper()
    pattern = cldr.currency_formats["standard"].pattern.split(";")[0]
    digits = _DIGITS.search(pattern)
    if digits is None or "¤" not in pattern:
        return "", NO_BREAK_SPACE + currency.upper()
    symbol = get_currency_symbol(currency.upper(), cldr)
    prefix, suffix = pattern[: digits.start()], pattern[digits.end() :]
    prefix = prefix.replace("¤", symbol).replace(" ", NO_BREAK_SPACE)
    suffix = suffix.replace("¤", symbol).replace(" ", NO_BREAK_SPACE)
    # CLDR's currency spacing: a symbol that ends (or starts) in a letter is kept apart from the digits (PLN 1.65).
    if prefix and prefix[-1].isalpha():
        prefix += NO_BREAK_SPACE
    if suffix and suffix[0].isalpha():
        suffix = NO_BREAK_SPACE + suffix
    return prefix, suffix
