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

CHECKS: dict[str, Check] = {
    module.NAME: module.check
    for module in (
        grounding,
        claims,
        vocabulary,
        length,
        structure,
        goal,
        language,
        personal_data,
        injection,
        spam,
        footer,
    )
}
COPY_CHECKS = tuple(name for name in CHECKS if name != footer.NAME)  # those that need no rendered email


def run_checks(context: CheckContext, names: tuple[str, ...] | None = None) -> list[CheckResult]:
    return [CHECKS[name](context) for name in (names or tuple(CHECKS))]


__all__ = ["CHECKS", "COPY_CHECKS", "CheckContext", "run_checks"]
