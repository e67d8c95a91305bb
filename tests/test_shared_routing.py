"""The test apps' shared routing: a later app serves through an earlier app's worked-out routes, and still from its
own database."""

from __future__ import annotations

import shutil

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from tests.conftest import with_shared_routing


def _app_with_a_key(path, migrated_database):
    from service.app import create_app
    from service.auth import create_key
    from service.db.session import make_engine, session_scope

    shutil.copyfile(migrated_database, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        key = create_key(session, "tests")
    return with_shared_routing(create_app(engine)), key, engine


def test_a_later_app_serves_through_the_first_apps_routes_from_its_own_database(tmp_path, migrated_database):
    first, first_key, first_engine = _app_with_a_key(tmp_path / "first.db", migrated_database)
    second, second_key, second_engine = _app_with_a_key(tmp_path / "second.db", migrated_database)
    included = [route for route in first.router.routes if type(route).__name__ == "_IncludedRouter"]
    assert len(included) > 10
    assert all(any(route is kept for kept in second.router.routes) for route in included)

    with TestClient(first) as one, TestClient(second) as other:
        assert one.get("/campaigns", headers={"X-API-Key": first_key}).status_code == 200
        # the second app's key is in its own database only: each app reads the database it was made with
        assert other.get("/campaigns", headers={"X-API-Key": second_key}).status_code == 200
        assert other.get("/campaigns", headers={"X-API-Key": first_key}).status_code == 401
        assert one.get("/campaigns", headers={"X-API-Key": second_key}).status_code == 401
    first_engine.dispose()
    second_engine.dispose()


def test_a_router_included_otherwise_keeps_its_own_routes():
    router = APIRouter()

    @router.get("/ping")
    def ping() -> dict:
        return {"ok": True}

    plain, prefixed = FastAPI(), FastAPI()
    plain.include_router(router)
    prefixed.include_router(router, prefix="/v2")
    with_shared_routing(plain)
    own = list(prefixed.router.routes)
    with_shared_routing(prefixed)

    assert prefixed.router.routes == own
    assert TestClient(prefixed).get("/v2/ping").json() == {"ok": True}
    assert TestClient(plain).get("/ping").json() == {"ok": True}
