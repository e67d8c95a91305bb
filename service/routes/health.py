"""Liveness and readiness; with the unsubscribe link, the only endpoints that need no API key."""

from fastapi import APIRouter
from sqlalchemy import text

from service.deps import StateDep
from service.pipeline.model_store import MODEL_KINDS
from service.routes.responses import errors
from service.schemas import HealthOut

router = APIRouter(tags=["health"], responses=errors(503))


@router.get("/health", response_model=HealthOut)
def health(state: StateDep) -> dict:
    """`ok` once the database answers, with the current version of each model (null: none trained yet): the one
    the next request is served with, read from disk on first use after a training or `tailor models use`. Needs
    no API key; a database that does not answer is a 503."""
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "models": {kind: state.models.version(kind) for kind in MODEL_KINDS},
    }
