"""Words to avoid: none of the brand kit's banned words or phrases for the locale appear in the copy."""

from __future__ import annotations

import re
from functools import lru_cache

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "words_to_avoid"


@lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern:
    """``phrase`` as a whole word or phrase, in any case."""
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)", re.IGNORECASE)


@lru_cache(maxsize=64)
def any_phrase(phrases: tuple[str, ...]) -> re.Pattern | None:
    """One pattern that finds any of ``phrases``: most copy uses none of them, and one search tells."""
    return re.compile("|".join(p.pattern for p in map(phrase_pattern, phrases)), re.IGNORECASE) if phrases else None


def check(context: CheckContext) -> CheckResult:
    phrases = tuple(context.brand.words_to_avoid(context.locale))
    screen = any_phrase(phrases)
    for field, value in context.copy_fields().items():
        if screen is None or not screen.search(value):
            continue
        for phrase in phrases:
            if phrase_pattern(phrase).search(value):
                return failed(NAME, f"the {field} uses '{phrase}', which the {context.brand.name} kit avoids")
    return passed(NAME)
