"""Guardrails: named checks run on every variant, each returning a reason a copywriter can read."""

from __future__ import annotations

from generation.guardrails import (
    claims,
    footer,
    goal,
    grounding,
    injection,
    language,
    length,
    personal_data,
    spam,
    structure,
    vocabulary,
)
from generation.guardrails.base import Check, CheckContext
from generation.schemas import CheckResult

# The checks, in the order they run and a draft lists them.
_MODULES = (grounding, claims, vocabulary, length, structure, goal, language, personal_data, injection, spam, footer)
CHECKS: dict[str, Check] = {module.NAME: module.check for module in _MODULES}
COPY_CHECKS = tuple(name for name in CHECKS if name != footer.NAME)  # those that need no rendered email
CHECK_LABELS: dict[str, str] = {module.NAME: module.LABEL for module in _MODULES}


def check_label(name: str) -> str:
    """A check's name as a copywriter reads it ("spam words" for spam_triggers); an unknown one with spaces."""
    return CHECK_LABELS.get(name) or name.replace("_", " ")


def run_checks(context: CheckContext, names: tuple[str, ...] | None = None) -> list[CheckResult]:
    return [CHECKS[name](context) for name in (names or tuple(CHECKS))]


__all__ = ["CHECKS", "CHECK_LABELS", "COPY_CHECKS", "CheckContext", "check_label", "run_checks"]
