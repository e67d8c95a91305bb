"""README.md's REST API names the endpoints the API has: each `METHOD /path` it gives is a route, with each query
parameter it shows, and each route of the OpenAPI document is told of in README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
# `GET /jobs?status=running&kind=generate`, `POST /train[?model=NAME][&tune=N]`, `GET /customers/2024/0001`
NAMED = re.compile(r"`(GET|POST|PATCH|PUT|DELETE) (/[^`?\[ ]*)([^`]*)`")


@pytest.fixture(scope="module")
def routes(tmp_path_factory) -> dict[tuple[str, str], set[str]]:
    """(method, path template) of each operation in the API's OpenAPI document, with its query parameters."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.db.migrate import upgrade
    from service.db.session import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('readme') / 'tailor.db'}")
    upgrade(engine)
    with TestClient(create_app(engine)) as client:
        document = client.get("/openapi.json").json()
    engine.dispose()
    return {
        (method.upper(), path): {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def _route(method: str, path: str, routes) -> tuple[str, str] | None:
    """The route README's ``path`` is of: a template (`{id}` for `{customer_id}`) or a concrete path
    (`/customers/2024/0001`, an id holding a slash)."""
    for route_method, template in routes:
        pattern = re.escape(re.sub(r"\{[^}]*\}", "{}", template)).replace(r"\{\}", "(\\{[^}]*\\}|[^{}]+)")
        if route_method == method and re.fullmatch(pattern, path):
            return route_method, template
    return None


def test_every_endpoint_the_readme_names_is_a_route_with_the_query_parameters_it_shows(routes):
    named = NAMED.findall(README)
    assert len(named) >= 40  # README's REST API section is read
    problems = []
    for method, path, query in named:
        route = _route(method, path, routes)
        if route is None:
            problems.append(f"{method} {path}: no such route")
            continue
        unknown = set(re.findall(r"[?&]([a-z_]+)=", query)) - routes[route]
        problems += [f"{method} {path}{query}: no query parameter {name}" for name in sorted(unknown)]
    assert problems == []


def test_every_route_is_told_of_in_the_readme(routes):
    named = {_route(method, path, routes) for method, path, _ in NAMED.findall(README)}
    untold = [f"{method} {path}" for method, path in routes if (method, path) not in named]
    assert [route for route in untold if f"`{route.split()[1]}`" not in README] == []  # `/health` alone is enough
