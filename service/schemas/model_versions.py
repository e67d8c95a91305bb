"""The trained models the service keeps and serves, choosing the version in use, and the health answer that reports
them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.schemas.common import RequestBody

ModelKind = Literal["recommender", "engagement"]  # the kinds of trained model the service keeps and serves


class ModelVersionOut(BaseModel):
    version: str = Field(description="when it was published (UTC), which orders the versions")
    current: bool = Field(description="the version the service serves and campaigns use")
    metadata: dict[str, Any] = Field(
        description="what training recorded: the recommender's name, parameters, data snapshot and holdout "
        "quality; the engagement model's sends and rates"
    )


class ModelKindOut(BaseModel):
    kind: ModelKind
    current: str | None = Field(description="the version in use; null before the first training")
    versions: list[ModelVersionOut] = Field(description="the kept versions, newest first (TAILOR_MODELS_KEPT)")
    cannot_serve: str | None = Field(
        None,
        description="why the version in use cannot be served (saved by a version of Tailor this one cannot read, "
        "after an upgrade, or its file damaged or gone) and what mends it; null when it can, or none is trained",
    )


class UseModelVersion(RequestBody):
    """A kept version to make the current one."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=64, examples=["20261201T100706158903Z"])


class HealthOut(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: a model in use cannot be read by this version of Tailor (see problems)"
    )
    models: dict[str, str | None] = Field(
        description="the version of each model kind the next request is served with (null: none trained yet)"
    )
    problems: list[str] = Field(default_factory=list, description="what is degraded, each with its fix")
