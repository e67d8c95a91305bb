"""Turns copy plus catalog facts into the HTML email and its plain-text twin.

The model never writes a product name, price, link or discount: those come from the request's data here.
"""

from __future__ import annotations

import re
import unicodedata

from generation.brands import BrandKit
from generation.locales import number_locale, regional_spelling
from generation.money import written_amount
from generation.numbers import written_number
from generation.schemas import DraftRequest, Offer
from generation.templates import render_file, render_string, render_wording, strings

# A link an email may carry: http(s) only, no spaces (a catalog's `javascript:` or `data:` url is shown as no link).
WEB_ADDRESS = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
# Letters, in up to three parts joined by a space, hyphen, dot or apostrophe (typed ' or typographic ’: O’Brien).
_NAME = re.compile(r"^[^\W\d_]+(?:[ '\u2019\-.][^\W\d_]+){0,2}\.?$")
# Titles a shop's name field sometimes holds instead of a name ("Dr.", "Mrs"): no name to greet by.
_TITLES = frozenset((
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "madam", "herr", "frau", "pan", "pani", "panna",
    "г-н", "г-жа", "господин", "госпожа", "г-ца",
    "m", "mme", "mlle", "monsieur", "madame", "sr", "sra", "srta", "señor", "señora", "sig", "sig.ra", "signor",
    "signora", "dott", "dott.ssa", "dhr", "mevr", "mevrouw", "meneer",
))  # fmt: skip
_NAME_PART = re.compile(r"[^\W\d_]+")
# "MCKENZIE" is McKenzie (never Mckenzie); "Mac" stays as it is, since Mackenzie and Macy are names too.
_MC = re.compile(r"^(Mc)(\w)(?=\w)")
# Words of a message the name field was made to carry into the greeting ("Ignore previous instructions", "Free Gift
# Inside"): a field with two of them is no name. One alone may be a name ("Gift", "Winner" are given names).
_NOT_NAMES = frozenset((
    "ignore", "previous", "instructions", "instruction", "prompt", "system", "assistant", "free", "gift", "gifts",
    "inside", "discount", "offer", "sale", "click", "here", "winner", "prize", "urgent", "code", "coupon", "voucher",
    "password", "account", "verify", "unsubscribe", "kostenlos", "gratis", "geschenk", "gratuit", "cadeau", "regalo",
))  # fmt: skip
# The language the email frame (prompts/email/email.html.j2) writes on its <html> element.
_HTML_LANG = re.compile(r"<html\s+lang=\"([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*)\"")


def safe_first_name(name: str) -> str:
    """The first name if it looks like one (letters, up to three parts, short), written as a name is ("ANNA"
    and "anna-maria" as Anna and Anna-Maria; "McKenzie" as it is); '' for a title alone ("Dr.") or anything else.

    A 'name' that carries sentences, digits, markup, instructions or a promise ("Free Gift Inside") is treated
    as absent, so data cannot speak inside the greeting.
    """
    # composed (NFC): a name stored decomposed, as macOS writes it ("Ju" + U+0308), has marks that are no letters
    name = unicodedata.normalize("NFC", " ".join((name or "").split()))
    if len(name) > 30 or not _NAME.match(name) or name.lower().rstrip(".") in _TITLES:
        return ""
    if sum(part.lower() in _NOT_NAMES for part in _NAME_PART.findall(name)) >= 2:
        return ""
    if name.isupper() or name.islower():  # typed in one case: each part capitalised, "Mc" as a name writes it
        name = _NAME_PART.sub(lambda part: _written_as_a_name(part.group(0)), name)
    return name


def _written_as_a_name(part: str) -> str:
    return _MC.sub(lambda mc: mc.group(1) + mc.group(2).upper(), part.capitalize())


def html_locale(html: str) -> str | None:
    """The locale an email's HTML was written in, as the email frame writes it on ``<html lang>``; None for HTML
    without it. What was sent is told by the email itself, whatever the customer's locale has become since."""
    match = _HTML_LANG.search(html[:500])
    return match.group(1) if match else None


def format_number(value: float, locale: str = "en") -> str:
    """An amount as the locale writes it (generation.numbers), whole numbers without decimals: en 1,234.50; de, it,
    nl, pt 1.234,50; pl, ru, bg, fr 1 234,50; es 1234,50 and 12 345,50; es-MX 1,234.50; de-CH 1'234.50."""
    value = float(value)
    return written_number(value, locale, 0 if value.is_integer() else 2)


def format_price(price: float, currency: str, locale: str) -> str:
    """A price with its cents and its currency, as the locale writes them (generation.money): "£1,234.50" for en,
    "1.234,50 €" for de."""
    return written_amount(price, currency, locale, 2)


def format_amount_off(value: float, currency: str, locale: str) -> str:
    """An offer's amount off with its currency, as the locale writes them: whole amounts without decimals (5 €)."""
    return written_amount(value, currency, locale, 0 if float(value).is_integer() else 2)


def offer_text(offer: Offer | None, locale: str, currency: str = "EUR", numbers: str = "") -> str:
    """The sentence stating the offer, written from the offer's data in the locale's fixed wording, its amount as
    ``numbers`` (the reader's locale with its region, 'es-MX') writes it, else as ``locale`` does."""
    if offer is None:
        return ""
    if strings(locale)["offer"].get(offer.kind) is None:
        return ""
    value = format_number(offer.value, numbers or locale)
    amount = format_amount_off(offer.value, currency, numbers or locale)
    return render_wording(
        locale, "offer", offer.kind, value=value, currency=currency, amount=amount, code=offer.code or ""
    )


def greeting(first_name: str, locale: str, brand: BrandKit | None = None) -> str:
    """The email's greeting: the brand's own for the locale when its kit has one, else the email frame's; by
    name when the customer's first name looks like one."""
    name = safe_first_name(first_name)
    if name:
        if brand and brand.greeting.get(locale):  # checked to render when the kit was read
            return render_string(brand.greeting[locale], first_name=name)
        return render_wording(locale, "greeting", first_name=name)
    return (brand and brand.greeting_no_name.get(locale)) or strings(locale)["greeting_no_name"]


def paragraphs(text: str) -> list[list[str]]:
    """``text``'s paragraphs (split at blank lines), each a list of its lines: how the HTML email keeps the breaks
    a copywriter typed, which the text email keeps as they are."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n\s*\n", text.strip())
    return [[line.strip() for line in block.split("\n") if line.strip()] for block in blocks if block.strip()]


def linked_url(url: str, shop_url: str) -> str:
    """Where an email links a product of ``url``: its own url (never a javascript: or data: link), else the brand's
    shop, ``shop_url`` ("" for none)."""
    return url if WEB_ADDRESS.fullmatch(url) else shop_url


def _link(url: str, brand: BrandKit, locale: str) -> dict[str, str]:
    """A product's link (``linked_url``) and its label: "view" for its own page, "visit the shop" for the brand's."""
    linked = linked_url(url, brand.shop_url or "")
    if not linked:
        return {"url": "", "view_label": ""}
    return {"url": linked, "view_label": strings(locale)["view" if linked == url else "visit_shop"]}


def render_email(
    request: DraftRequest, brand: BrandKit, *, subject: str, preheader: str, intro: str, product_lines: list[str]
) -> tuple[str, str]:
    """(html, text) of one email: the copy, the greeting, the offer and product facts from the data, the footer."""
    locale, numbers = request.customer.locale, number_locale(request.customer)
    items = [
        {
            "name": product.name,
            "price": format_price(product.price, product.currency, numbers),
            **_link(product.url, brand, locale),
            "line": line,
        }
        for product, line in zip(request.products, product_lines, strict=False)
    ]
    context = {
        "locale": locale,
        "subject": subject,
        "preheader": preheader,
        "intro": intro,
        "intro_paragraphs": paragraphs(intro),
        "greeting": regional_spelling(greeting(request.customer.first_name, locale, brand), request.customer),
        "offer_text": regional_spelling(offer_text(request.offer, locale, request.currency, numbers), request.customer),
        "colon": strings(locale)["colon"],
        "items": items,
        "brand_name": brand.name,
        "sign_off": regional_spelling(brand.sign_off_for(locale), request.customer),
        "footer": regional_spelling(brand.footer_for(locale), request.customer),
        "colors": {"accent": "#333333", "background": "#ffffff", "text": "#222222", **brand.colors},
    }
    return render_file("email/email.html.j2", **context), render_file("email/email.txt.j2", **context)
