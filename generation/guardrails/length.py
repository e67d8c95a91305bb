"""Length limits: subject, preheader, intro and product lines fit where email clients show them."""

from __future__ import annotations

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "length"
LABEL = "length"  # the name a copywriter reads
LIMITS = {"subject": (8, 70), "preheader": (10, 110), "intro": (20, 300), "product line": (5, 140)}


def check(context: CheckContext) -> CheckResult:
    for field, value in context.copy_fields().items():
        low, high = LIMITS["product line" if field.startswith("product line") else field]
        size = len(value.strip())
        told = f"the {field} is {size} character{'' if size == 1 else 's'}"
        if size < low:
            return failed(NAME, f"{told}, shorter than the minimum of {low}")
        if size > high:
            return failed(NAME, f"{told}, longer than the limit of {high}")
    return passed(NAME)
