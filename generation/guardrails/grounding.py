"""Grounding: every number, price, percentage and date in the copy, and every promise of a discount or
freebie, must be backed by the request's facts (product data or the offer). A promise is backed only by an
offer of its own kind: a 10 % discount does not back "free shipping" or "a free gift"."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "grounding"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Promises, per locale, and the offer kinds that back each (no offer backs any of them).
_MONEY_OFF = (
    r"\d+\s*% off|discount\w*|sale\b|rabatt\w*|rabat\w*|zniżk\w*|promocj\w*|"
    r"скидк\w*|распродаж\w*|отстъпк\w*|намалени\w*|"
    r"réduction\w*|remise\w*|soldes\b|descuento\w*|rebaja\w*|scont[oi]\b|saldi\b|desconto\w*|promoç\w*|"
    r"korting\w*|uitverkoop"
)
_SHIPPING = (
    r"(?:free|complimentary) (?:shipping|delivery)|ships? (?:for )?free|"
    r"(?:kostenlose[nr]?|gratis) (?:versand|lieferung)|"
    r"versandkostenfrei|darmow\w* (?:dostaw\w*|wysyłk\w*)|бесплатн\w* доставк\w*|безплатн\w* доставк\w*|"
    r"(?:livraison|frais de port|envío|spedizion\w*|consegna|envio|frete|portes) (?:\w+ )?"
    r"(?:gratuit\w*|gratis|grátis|offert\w*)|"
    r"gratis (?:verzending|verzonden|bezorging|bezorgd|levering|geleverd)|verzendkostenvrij"
)
_GIFT = (
    r"free gift|gratis ?geschenk\w*|darmow\w* prezent\w*|бесплатн\w* подар\w*|безплатн\w* подар\w*|"
    r"cadeau\w* (?:gratuit|offert)\w*|regalo\w* (?:gratuit\w*|gratis|in omaggio)|omaggio|brinde\w*|"
    r"presente\w* (?:gratuit\w*|grátis)|gratis cadeau\w*"
)
_CODE = (
    r"coupon|voucher|promo ?code|gutschein\w*|kupon\w*|купон\w*|промокод\w*|code promo|bon d[’']achat|cupón\w*|"
    r"cupões|cupão|cupo[mn]\w*|c[oó]digo (?:promocional|de descuento|de desconto)|codice sconto|buono sconto|"
    r"kortingscode\w*|waardebon\w*"
)
_FREE = r"free|gratis|grátis|gratuit\w*|kostenlos\w*|darmow\w*|бесплатн\w*|безплатн\w*"
PROMISES: list[tuple[str, re.Pattern, set[str]]] = [
    ("money off", re.compile(rf"\b(?:{_MONEY_OFF})", re.IGNORECASE), {"percent_off", "amount_off"}),
    ("free shipping", re.compile(rf"\b(?:{_SHIPPING})", re.IGNORECASE), {"free_shipping"}),
    ("a free gift", re.compile(rf"\b(?:{_GIFT})", re.IGNORECASE), {"gift"}),
    ("a code", re.compile(rf"\b(?:{_CODE})", re.IGNORECASE), {"percent_off", "amount_off", "free_shipping", "gift"}),
    # "free" alone, but not "sugar-free" or "feel free": those promise nothing.
    ("something free", re.compile(rf"(?<![-\w])(?<!feel )(?:{_FREE})\b", re.IGNORECASE), {"free_shipping", "gift"}),
]


def _numbers(text: str) -> set[float]:
    return {float(match.replace(",", ".")) for match in _NUMBER.findall(text)}


def fact_numbers(context: CheckContext) -> set[float]:
    request = context.request
    facts: list[str] = [*context.extra_facts]
    for product in request.products:
        facts += [product.name, product.description]
        facts.append(f"{product.price:.2f}")
        facts.append(f"{product.price:g}")
    if request.offer is not None:
        facts += [f"{request.offer.value:g}", request.offer.code or ""]
    return _numbers(" ".join(facts))


def check(context: CheckContext) -> CheckResult:
    allowed = fact_numbers(context)
    for field, value in context.copy_fields().items():
        unknown = sorted(_numbers(value) - allowed)
        if unknown:
            shown = ", ".join(f"{n:g}" for n in unknown[:3])
            return failed(NAME, f"the {field} mentions {shown}, which is not in the product or offer data")
        offer = context.request.offer
        for promise, pattern, backed_by in PROMISES:
            match = pattern.search(value)
            if match and (offer is None or offer.kind not in backed_by):
                carried = "no offer" if offer is None else f"a {offer.kind.replace('_', ' ')} offer, not {promise}"
                return failed(NAME, f"the {field} promises '{match.group(0)}' but this email carries {carried}")
    return passed(NAME)
