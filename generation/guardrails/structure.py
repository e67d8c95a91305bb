"""Structure: the copy reads as finished writing: the intro ends its sentence, no part loops on its own words,
and no part merely repeats another."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "structure"
MIN_DISTINCT_TRIGRAMS = 0.8  # share of a text's three-word sequences that must be distinct
_ENDS_SENTENCE = re.compile(r"[.!?…)\"”»]$")


def plain_words(text: str) -> str:
    """The text's words, lower case, one space apart: how repeats are compared (and repaired, in tidy)."""
    return " ".join(re.findall(r"\w+", text.lower()))


def check(context: CheckContext) -> CheckResult:
    if not context.lines_only and not _ENDS_SENTENCE.search(context.intro.strip()):
        return failed(NAME, "the intro stops mid-sentence")
    for name, value in context.copy_fields().items():
        words = plain_words(value).split()
        trigrams = [tuple(words[i : i + 3]) for i in range(len(words) - 2)]
        if len(trigrams) >= 8 and len(set(trigrams)) / len(trigrams) < MIN_DISTINCT_TRIGRAMS:
            return failed(NAME, f"the {name} keeps repeating the same words")
    fields = [(name, plain_words(value)) for name, value in context.copy_fields().items()]
    for i, (name, value) in enumerate(fields):
        for other_name, other in fields[i + 1 :]:
            if name.startswith("product line") and other_name.startswith("product line"):
                continue  # each line sits under a different product, so a shared line still reads right
            if value and other and (value == other or (len(value) > 15 and other.startswith(value))):
                return failed(NAME, f"the {other_name} repeats the {name}")
    return passed(NAME)
