"""Words to avoid: none of the brand kit's banned words or phrases for the locale appear in the copy."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "words_to_avoid"


def check(context: CheckContext) -> CheckResult:
    for field, value in context.copy_fields().items():
        for phrase in context.brand.words_to_avoid(context.locale):
            if re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", value, re.IGNORECASE):
                return failed(NAME, f"the {field} uses '{phrase}', which the {context.brand.name} kit avoids")
    return passed(NAME)
