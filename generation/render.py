"""Turns copy plus catalog facts into the HTML email and its plain-text twin.

The model never writes a product name, price, link or discount: those come from the request's data here.
"""

from __future__ import annotations

import re

from generation.brands import BrandKit
from generation.schemas import DraftRequest, Offer
from generation.templates import render_file, render_string, strings

_NAME = re.compile(r"^[^\W\d_]+(?:[ '\-.][^\W\d_]+){0,2}\.?$")


def safe_first_name(name: str) -> str:
    """The first name if it looks like one (letters, up to three parts, short); '' otherwise.

    A 'name' that carries sentences, digits, markup or instructions is treated as absent, so data cannot
    speak inside the greeting.
    """
    name = " ".join((name or "").split())
    return name if len(name) <= 30 and _NAME.match(name) else ""


def format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def format_price(price: float, currency: str, locale: str) -> str:
    amount = f"{price:.2f}"
    if locale != "en":
        amount = amount.replace(".", ",")
    return f"{amount} {currency}"


def offer_text(offer: Offer | None, locale: str, currency: str = "EUR") -> str:
    """The sentence stating the offer, written from the offer's data in the locale's fixed wording."""
    if offer is None:
        return ""
    wording = strings(locale)["offer"].get(offer.kind)
    if wording is None:
        return ""
    return render_string(wording, value=format_number(offer.value), currency=currency, code=offer.code or "")


def greeting(first_name: str, locale: str) -> str:
    words = strings(locale)
    name = safe_first_name(first_name)
    return render_string(words["greeting"], first_name=name) if name else words["greeting_no_name"]


def render_email(
    request: DraftRequest, brand: BrandKit, *, subject: str, preheader: str, intro: str, product_lines: list[str]
) -> tuple[str, str]:
    """(html, text) of one email: the copy, the greeting, the offer and product facts from the data, the footer."""
    locale = request.customer.locale
    currency = request.products[0].currency if request.products else "EUR"
    items = [
        {
            "name": product.name,
            "price": format_price(product.price, product.currency, locale),
            "url": product.url,
            "line": line,
        }
        for product, line in zip(request.products, product_lines, strict=False)
    ]
    context = {
        "locale": locale,
        "subject": subject,
        "preheader": preheader,
        "intro": intro,
        "greeting": greeting(request.customer.first_name, locale),
        "offer_text": offer_text(request.offer, locale, currency),
        "items": items,
        "view_label": strings(locale)["view"],
        "brand_name": brand.name,
        "sign_off": brand.sign_off_for(locale),
        "footer": brand.footer_for(locale),
        "colors": {"accent": "#333333", "background": "#ffffff", "text": "#222222", **brand.colors},
    }
    return render_file("email/email.html.j2", **context), render_file("email/email.txt.j2", **context)
