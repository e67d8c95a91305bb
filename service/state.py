"""What one running service shares between requests: the engine, the job runner and the current models."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from service.errors import NotReady
from service.jobs import JobRunner
from service.pipeline.frames import CatalogCache
from service.pipeline.model_store import ModelStore


def _load_recommender(path: Path):
    """The saved recommender; one saved by an older, incompatible version must be trained again (409)."""
    from recommenders.base import Recommender
    from recommenders.errors import ArtifactError

    try:
        return Recommender.load(path)
    except ArtifactError as error:
        raise NotReady(
            f"The current recommender cannot be served: {error} Run `tailor train` (or POST /train)."
        ) from error


def _load_engagement(path: Path):
    """The prior-and-shop blend; versions trained before the blend hold the shop model alone."""
    from scoring.engagement import EngagementModel
    from scoring.errors import ModelFileError
    from scoring.prior import BlendedEngagement

    try:
        return BlendedEngagement.load(path)
    except ModelFileError:
        return EngagementModel.load(path)


def model_store(models_dir: Path) -> ModelStore:
    return ModelStore(models_dir, {"recommender": _load_recommender, "engagement": _load_engagement})


@dataclass
class AppState:
    engine: Engine
    jobs: JobRunner
    models: ModelStore
    catalog: CatalogCache = field(default_factory=CatalogCache)
