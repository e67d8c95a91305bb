"""Structure: the copy reads as finished writing: the intro ends its sentence, and no part merely repeats another."""

from __future__ import annotations

import re

from generation.guardrails.base import CheckContext, failed, passed
from generation.schemas import CheckResult

NAME = "structure"
_ENDS_SENTENCE = re.compile(r"[.!?…)\"”»]$")


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def check(context: CheckContext) -> CheckResult:
    if not context.lines_only and not _ENDS_SENTENCE.search(context.intro.strip()):
        return failed(NAME, "the intro stops mid-sentence")
    fields = [(name, _norm(value)) for name, value in context.copy_fields().items()]
    for i, (name, value) in enumerate(fields):
        for other_name, other in fields[i + 1 :]:
            if name.startswith("product line") and other_name.startswith("product line"):
                continue  # each line sits under a different product, so a shared line still reads right
            if value and other and (value == other or (len(value) > 15 and other.startswith(value))):
                return failed(NAME, f"the {other_name} repeats the {name}")
    return passed(NAME)
