"""Trained models: each kind's kept versions with what training recorded, and switching the one in use."""

from fastapi import APIRouter

from service.deps import WHOLE_LIST, ApiKeyDep, StateDep
from service.pipeline.model_store import MODEL_KINDS, describe, use_version
from service.routes.responses import KEYED, errors
from service.schemas import ModelKind, ModelKindOut, UseModelVersion
from service.settings import home_settings
from service.state import check_servable

router = APIRouter(tags=["models"], responses=errors(*KEYED))


@router.get(
    "/models",
    response_model=list[ModelKindOut],
    openapi_extra={WHOLE_LIST: "the models are answered whole, not a page at a time: the recommender and the "
                   "engagement model, each with the versions kept on disk (at most TAILOR_MODELS_KEPT of them besides "
                   "the one in use)"},
)  # fmt: skip
def list_models(state: StateDep, _key: ApiKeyDep) -> list[dict]:
    """The recommender and the engagement model: the version in use and the kept ones, newest first, each with
    its training metadata (parameters, data snapshot, holdout quality), and `cannot_serve` where the one in use
    cannot be read by this version of Tailor (after an upgrade, or its file damaged or gone: `tailor train`, or POST
    /train, mends it)."""
    return [
        describe(home_settings().models_dir, kind) | {"cannot_serve": state.models.unservable(kind)}
        for kind in MODEL_KINDS
    ]


@router.post("/models/{kind}/current", response_model=ModelKindOut, responses=errors(404, 409, 413, 507))
def use_model_version(kind: ModelKind, body: UseModelVersion, _key: ApiKeyDep) -> dict:
    """Serve a kept version of `kind` from now on (a rollback after a bad training, or back to the newest):
    recommendations and new campaigns use it at once, without a restart. It stays in use until the next training,
    which the schedule starts only when new sends, events or orders arrived. 404 names the kept versions; 409 says
    why one this version of Tailor cannot read (saved by an older one) is not put in use."""
    check_servable(home_settings().models_dir, kind, body.version)
    use_version(home_settings().models_dir, kind, body.version)
    return describe(home_settings().models_dir, kind)
