"""Words to avoid: none of the brand kit's banned words or phrases for the locale appear in the copy."""

from __future__ import annotations

from generation.guardrails.base import CheckContext, any_word, failed, passed, word_pattern
from generation.schemas import CheckResult

NAME = "words_to_avoid"
LABEL = "the brand's words to avoid"  # the name a copywriter reads


def check(context: CheckContext) -> CheckResult:
    phrases = tuple(context.brand.words_to_avoid(context.locale))
    screen = any_word(phrases)
    for field, value in context.copy_fields().items():
        if screen is None or not screen.search(value):
            continue
        for phrase in phrases:
            if word_pattern(phrase).search(value):
                return failed(NAME, f"the {field} uses '{phrase}', which the {context.brand.name} kit avoids")
    return passed(NAME)
