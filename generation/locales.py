"""The language each customer's email is written in: the customer's own when the templates and the brand kit
cover it, else the same language without its region ('pt-BR' -> 'pt'), else the brand kit's default locale,
with a note that tells the reviewer (and the customer's own locale kept with the request: a copywriter may
translate the copy into it). A customer's language never stops a campaign."""

from __future__ import annotations

import re

from generation.brands import BrandKit
from generation.schemas import CustomerFacts, DraftRequest
from generation.templates import LANGUAGE_NAMES

# A language tag (BCP 47): the language's two or three letters (ISO 639: en, gsw for Swiss German), then perhaps a
# script and a region (EN, en-gb, pt_BR, gsw-CH, zh-hant-tw, es-419: stored as en, en-GB, pt-BR, gsw-CH,
# zh-Hant-TW, es-419; the email is written in the language, its amounts as the region writes them).
LOCALE_PATTERN = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z]{4})?(?:[-_](?:[A-Za-z]{2}|[0-9]{3}))?$")
# What a value that does not match it is told, wherever a locale is given (a customers file, a setting).
NOT_A_LOCALE = "must be a language code such as en, de, gsw or pt-BR"


def language_of(locale: str) -> str:
    """The language part of a locale code: 'pt-BR' and 'pt_br' are 'pt'."""
    return locale.replace("_", "-").split("-")[0].lower()


def normal_locale(tag: str) -> str:
    """A locale code as Tailor keeps it: the language in lower case, a script in title case, a region in capitals,
    joined by hyphens ('PT_br' -> 'pt-BR', 'zh-hant-tw' -> 'zh-Hant-TW', 'es-419' stays)."""
    language, *rest = tag.strip().replace("_", "-").split("-")
    parts = [language.lower()]
    for part in rest:
        parts.append(part.title() if len(part) == 4 else part.upper())
    return "-".join(parts)


def number_locale(customer: CustomerFacts) -> str:
    """The locale an email writes its amounts in: the customer's own, region and all ('es-MX' writes 1,234.50), when
    the email is written in its language; else the email's."""
    return amounts_locale(customer.own_locale, customer.locale)


def amounts_locale(own: str | None, written_in: str) -> str:
    """``number_locale`` from the customer's own locale and the one their email is written in."""
    return own if own and language_of(own) == language_of(written_in) else written_in


# German as Switzerland and Liechtenstein write it has no ß: "Grüsse", "gross" (the Swiss orthography's rule).
_WITHOUT_ESZETT = ("de-CH", "de-LI")


def regional_spelling(text: str, customer: CustomerFacts) -> str:
    """``text`` as the customer's region spells the email's language: German for Switzerland and Liechtenstein
    without ß (ss). Copy and the frame's fixed wording go through it; product names, the shop's data, do not."""
    if number_locale(customer) in _WITHOUT_ESZETT and language_of(customer.locale) == "de":
        return text.replace("ß", "ss").replace("ẞ", "SS")
    return text


def writing_locale(requested: str, brand: BrandKit) -> tuple[str, str | None]:
    """(the locale to write a customer's email in, a note for the reviewer when it is not their language)."""
    covered = brand.covered_locales
    if requested in covered:
        return requested, None
    if language_of(requested) in covered:
        return language_of(requested), None
    default = brand.default_locale
    note = (
        f"The customer's locale is '{requested}', a language {brand.name} has no email templates for; this email "
        f"is written in {LANGUAGE_NAMES.get(default, default)} ('{default}'), the brand's default."
    )
    return default, note


def in_writing_locale(request: DraftRequest, brand: BrandKit) -> tuple[DraftRequest, list[str]]:
    """The request with the customer's locale set to the one their email is written in, and the notes for the
    reviewer (one, when that is not the customer's language; else none)."""
    locale, note = writing_locale(request.customer.locale, brand)
    if locale != request.customer.locale:
        customer = request.customer.model_copy(update={"locale": locale, "own_locale": request.customer.locale})
        request = request.model_copy(update={"customer": customer})
    return request, [note] if note else []
