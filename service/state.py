"""What one running service shares between requests: the engine, the job runner and the current models."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from service.db.probe import RevisionProbe
from service.errors import NotReady, StorageUnavailable
from service.jobs import JobRunner
from service.kept_unsubscribes import KeptUnsubscribes
from service.pipeline.frames import CatalogCache
from service.pipeline.model_store import MODEL_FILE, MODEL_KINDS, TRAINING, ModelStore, versions
from service.pipeline.popularity_cache import PopularityCache
from service.settings import DbSettings, home_settings
from service.tracking import EngagementRecorder

log = logging.getLogger("tailor.api")


def require_writable_home() -> None:
    """TAILOR_HOME made, and a file written in it, else StorageUnavailable naming it: with the database elsewhere
    (PostgreSQL), a home on a volume not mounted, or mounted read-only, let the server start, and each training failed
    once it was all done, saving its models ("FileNotFoundError: '/srv/tailor'")."""
    home = home_settings().home
    try:
        home.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=home):
            pass
    except OSError as error:
        reason = (error.strerror or str(error)).lower()
        raise StorageUnavailable(
            f"TAILOR_HOME ({home}) cannot be written: {error.filename or home}: {reason}; Tailor keeps its trained "
            "models there: set it to a folder it can write (every server and command on one database the same)"
        ) from None


def _read_model(kind: str, path: Path):
    """A saved model of ``kind`` as serving reads it: ArtifactError (recommender) or ModelFileError (engagement)
    when this version of Tailor cannot read it (one saved by an older, incompatible version)."""
    if kind == "recommender":
        from recommenders.base import Recommender

        return Recommender.load(path)
    return _load_engagement(path)


def _load_engagement(path: Path):
    """The prior-and-shop blend; versions trained before the blend hold the shop model alone."""
    from scoring.engagement import EngagementModel
    from scoring.errors import ModelFileError
    from scoring.prior import BlendedEngagement

    try:
        return BlendedEngagement.load(path)
    except ModelFileError:
        return EngagementModel.load(path)


# How serving names each kind when it cannot read the current version.
_SERVED_AS = {"recommender": "recommender", "engagement": "engagement model"}


def _serving(kind: str):
    """The model store's loader of ``kind``: the model, or NotReady (409) asking for a training when this version
    of Tailor cannot read it."""

    def load(path: Path):
        from recommenders.errors import ArtifactError
        from scoring.errors import ModelFileError

        try:
            return _read_model(kind, path)
        except (ArtifactError, ModelFileError) as error:
            raise NotReady(
                f"The current {_SERVED_AS[kind]} cannot be served: {error} Run `tailor train` (or POST /train)."
            ) from error

    return load


def check_servable(models_dir: Path, kind: str, version: str) -> None:
    """Read a kept version's model file as serving it would: NotReady (409) saying why when this version of Tailor
    cannot serve it (one saved by an older, incompatible version), so that a rollback does not put in use a version
    that fails every request until the next training. A version not kept is left to ``use_version`` to name."""
    from recommenders.errors import ArtifactError
    from scoring.errors import ModelFileError

    if version not in versions(models_dir, kind):
        return
    try:
        _read_model(kind, models_dir / kind / version / MODEL_FILE)
    except (ArtifactError, ModelFileError) as error:
        refused = f"The {kind} model version '{version}' cannot be put in use: {error} The one in use stays;"
        raise NotReady.naming(TRAINING, lambda train: f"{refused} {train} makes a new one.") from error


def warn_of_unservable_models(models: ModelStore) -> None:
    """At the server's start, read each current model as its first request would, and log a warning for one this
    version of Tailor cannot serve (saved by an older, incompatible version: after an upgrade), rather than leave
    the shop to find out at its first generation; /health then says `degraded` until a training."""
    for kind in MODEL_KINDS:
        if reason := models.unservable(kind):
            log.warning(
                "model in use cannot be served: run `tailor train`",
                extra={"kind": kind, "version": models.version(kind), "reason": reason},
            )


def model_store(models_dir: Path) -> ModelStore:
    return ModelStore(models_dir, {kind: _serving(kind) for kind in MODEL_KINDS})


@dataclass
class AppState:
    engine: Engine
    jobs: JobRunner
    models: ModelStore
    engagement: EngagementRecorder  # the opens and clicks the tracking links answer, written in batches
    kept_unsubscribes: KeptUnsubscribes  # writes the unsubscribes kept on disk while the database was busy
    catalog: CatalogCache = field(default_factory=CatalogCache)
    popularity: PopularityCache = field(default_factory=PopularityCache)  # the fallback lists' order
    revision_probe: RevisionProbe = field(init=False)  # /health's look at the database, bounded in time
    # How long the unsubscribe link and POST /events wait for another's lock on PostgreSQL (service.deps).
    recording_wait_seconds: float = field(init=False)

    def __post_init__(self) -> None:
        settings = DbSettings()
        self.revision_probe = RevisionProbe(self.engine, settings.health_timeout_seconds)
        self.recording_wait_seconds = settings.recording_wait_seconds
