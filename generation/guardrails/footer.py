"""Unsubscribe footer: both the HTML and the text email carry the brand's legal footer with its unsubscribe link."""

from __future__ import annotations

from generation.brands import UNSUBSCRIBE_PLACEHOLDER
from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "unsubscribe_footer"
LABEL = "unsubscribe footer"  # the name a copywriter reads


def check(context: CheckContext) -> CheckResult:
    for part, body in (("HTML", context.html), ("text", context.text)):
        if UNSUBSCRIBE_PLACEHOLDER not in body:
            return failed(NAME, f"the {part} email has no unsubscribe link")
    return passed(NAME)
