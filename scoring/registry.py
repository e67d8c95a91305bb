"""Scoring models by name, so the CLI, the service and the evals choose them by a string."""

from __future__ import annotations

from typing import Any

from scoring.copy_model import CopyModel
from scoring.engagement import EngagementModel
from scoring.errors import ScoringError

MODELS: dict[str, type] = {"engagement": EngagementModel, "copy": CopyModel}


def names() -> list[str]:
    return sorted(MODELS)


def create(name: str, **params: Any) -> Any:
    """A new, unfitted model of the named kind."""
    if name not in MODELS:
        raise ScoringError(f"There is no scoring model called {name!r}; choose one of {', '.join(names())}.")
    return MODELS[name](**params)
