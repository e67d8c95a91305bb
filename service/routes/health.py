"""Liveness and readiness; with the unsubscribe link, the only endpoints that need no API key."""

from fastapi import APIRouter
from sqlalchemy import text

from service.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(state: StateDep) -> dict:
    with state.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "models": {kind: state.models.version(kind) for kind in ("recommender", "engagement")},
    }
