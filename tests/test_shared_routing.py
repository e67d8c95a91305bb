"""The apps of one process share their routes and OpenAPI document (service.shared_routing): a later app serves
through an earlier app's worked-out routes, and each still answers with its own database, settings and dependency
overrides."""

from __future__ import annotations

import json
import shutil
from contextlib import ExitStack

from fastapi import APIRouter
from fastapi.testclient import TestClient
from starlette.exceptions import HTTPException


def _app_with_a_key(path, migrated_database):
    from service.app import create_app
    from service.auth import create_key
    from service.db.session import make_engine, session_scope

    shutil.copyfile(migrated_database, path)
    engine = make_engine(f"sqlite:///{path}")
    with session_scope(engine) as session:
        key = create_key(session, "tests")
    return create_app(engine), key, engine


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
    from service.shared_routing import SharingApp, share_included_routers

    router = APIRouter()

    @router.get("/ping")
    def ping() -> dict:
        return {"ok": True}

    plain, prefixed = SharingApp(), SharingApp()
    plain.include_router(router)
    prefixed.include_router(router, prefix="/v2")
    share_included_routers(plain)
    share_included_routers(prefixed)

    assert not any(route is shared for route in prefixed.router.routes for shared in plain.router.routes)
    assert TestClient(prefixed).get("/v2/ping").json() == {"ok": True}
    assert TestClient(plain).get("/ping").json() == {"ok": True}


def _other_engine(tmp_path, migrated_database):
    from service.db.session import make_engine

    path = tmp_path / "other.db"
    shutil.copyfile(migrated_database, path)
    path.chmod(0o600)
    return make_engine(f"sqlite:///{path}")


def _key(engine) -> str:
    from service.auth import create_key
    from service.db.session import session_scope

    with session_scope(engine) as session:
        return create_key(session, "tests")


def test_two_apps_share_their_routes_and_each_answers_with_its_own_database(
    engine, tmp_path, migrated_database, monkeypatch
):
    import fastapi.routing

    from service.app import create_app

    other_engine = _other_engine(tmp_path, migrated_database)
    first_key, other_key = _key(engine), _key(other_engine)
    first = create_app(engine)
    with ExitStack() as clients:
        one = clients.enter_context(TestClient(first))  # its middleware, and its root path, made as it starts
        monkeypatch.setenv("TAILOR_API_ROOT_PATH", "/mail")
        other = create_app(other_engine)
        two = clients.enter_context(TestClient(other))
        included = [r for r in first.router.routes if isinstance(r, fastapi.routing._IncludedRouter)]
        assert len(included) == 16  # the API's 11 routers, the 4 open ones and the docs pages'
        assert all(any(r is mine for r in other.router.routes) for mine in included)  # worked out once, for both
        campaign = {"name": "Spring", "brand": "hearth", "campaign_type": "cross_sell"}
        made = one.post("/campaigns", json=campaign, headers={"X-API-Key": first_key})
        assert made.status_code == 201, made.text
        assert [c["name"] for c in one.get("/campaigns", headers={"X-API-Key": first_key}).json()] == ["Spring"]
        # the second app's own database (the first's key is not there, nor its campaign), under its own root path
        assert two.get("/mail/campaigns", headers={"X-API-Key": first_key}).status_code == 401
        assert two.get("/mail/campaigns", headers={"X-API-Key": other_key}).json() == []
        assert one.get("/mail/campaigns", headers={"X-API-Key": first_key}).status_code == 404
    other_engine.dispose()


def test_a_dependency_override_applies_to_its_own_app_only(engine, tmp_path, migrated_database):
    from service.app import create_app
    from service.deps import single_query_values

    async def refused() -> None:
        raise HTTPException(status_code=418, detail="overridden")

    other_engine = _other_engine(tmp_path, migrated_database)
    first, other = create_app(engine), create_app(other_engine)
    other.dependency_overrides[single_query_values] = refused
    with TestClient(first) as one, TestClient(other) as two:
        assert two.get("/health").status_code == 418
        assert one.get("/health").status_code == 200
        assert two.get("/health").json()["message"] == "overridden"
    other_engine.dispose()


def test_each_app_gets_the_same_document_as_its_own_copy(engine, tmp_path, migrated_database):
    """The second app's document is the first's, byte for byte, and changing one app's leaves the other's."""
    from service.app import create_app

    other_engine = _other_engine(tmp_path, migrated_database)
    first, other = create_app(engine), create_app(other_engine)
    with TestClient(first) as one, TestClient(other) as two:
        first_document, other_document = one.get("/openapi.json"), two.get("/openapi.json")
        assert first_document.content == other_document.content
        other.openapi()["paths"].pop("/campaigns")
        assert "/campaigns" not in two.get("/openapi.json").json()["paths"]
        assert one.get("/openapi.json").content == first_document.content
        assert create_app(engine).openapi() == json.loads(first_document.content)
    other_engine.dispose()


def test_an_app_made_after_a_router_lost_a_route_serves_without_it(engine, tmp_path, migrated_database, monkeypatch):
    """A test replacing a router's routes (as a release without one of them serves: test_unsubscribe_links) gets an
    app without it, though an earlier app of the process worked out the routes from the list before."""
    from service.app import create_app
    from service.routes.health import router

    other_engine = _other_engine(tmp_path, migrated_database)
    earlier = create_app(engine)
    with TestClient(earlier) as one:
        assert one.get("/health").status_code == 200
        with monkeypatch.context() as patch:
            patch.setattr(router, "routes", [route for route in router.routes if route.path != "/health"])
            with TestClient(create_app(other_engine)) as without:
                assert without.get("/health").status_code == 404
            assert one.get("/health").status_code == 200
        with TestClient(create_app(other_engine)) as again:
            assert again.get("/health").status_code == 200
    other_engine.dispose()
