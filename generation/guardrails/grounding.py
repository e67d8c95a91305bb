"""Grounding: every number, price, percentage and date in the copy, and every promise of a discount or
freebie, must be backed by the request's facts (product data or the offer)."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "grounding"
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# Words that promise money off or something free, per locale; only allowed when the request carries an offer.
_PROMISES = re.compile(
    r"\b(free|discount\w*|\d+\s*% off|sale|coupon|voucher|promo\w*|gratis|kostenlos\w*|rabatt\w*|gutschein\w*|"
    r"darmow\w*|rabat\w*|zniżk\w*|kupon\w*|promocj\w*|бесплатн\w*|скидк\w*|распродаж\w*|купон\w*|промокод\w*|"
    r"безплатн\w*|отстъпк\w*|намалени\w*)",
    re.IGNORECASE,
)


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
        if context.request.offer is None:
            promise = _PROMISES.search(value)
            if promise:
                return failed(NAME, f"the {field} promises '{promise.group(0)}' but this email carries no offer")
    return passed(NAME)
