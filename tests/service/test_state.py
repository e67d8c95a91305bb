"""The models the service serves: a recommender saved by an older, incompatible version is a clear 409 that
asks for training, not a server error."""

from __future__ import annotations

import pickle

import pytest

from recommenders.popularity import PopularityRecommender
from service.errors import NotReady
from service.pipeline.model_store import publish
from service.state import model_store
from tests.recommenders.contract import checkerboard


def test_an_outdated_recommender_asks_to_be_trained_again(tailor_home):
    def save_version_1(path):
        path.write_bytes(pickle.dumps({"format": "tailor-recommender/1", "class": PopularityRecommender, "state": {}}))

    publish(tailor_home / "models", "recommender", save_version_1, {})
    with pytest.raises(NotReady, match=r"tailor-recommender/1.*`tailor train` \(or POST /train\)") as raised:
        model_store(tailor_home / "models").get("recommender")
    assert raised.value.status_code == 409


def test_a_recommender_the_upgrade_left_unreadable_is_told_at_start_in_health_and_in_the_listing(
    engine, api_key, tailor_home, monkeypatch, caplog
):
    """After an upgrade whose recommender reads more than the saved one holds, /health said `ok`, `tailor models
    list` showed it in use and the start logged nothing: the shop found out at its first generation."""
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from recommenders.popularity import PopularityRecommender
    from service.app import create_app
    from service.cli import app as cli

    model = PopularityRecommender().fit(checkerboard()[0])
    version = publish(tailor_home / "models", "recommender", model.save, {}).name
    monkeypatch.setattr(PopularityRecommender, "state_version", PopularityRecommender.state_version + 1)

    app = create_app(engine)
    with caplog.at_level("WARNING", logger="tailor.api"), TestClient(app, headers={"X-API-Key": api_key}) as client:
        started = [r for r in caplog.records if r.getMessage().startswith("model in use cannot be served")]
        assert [(r.kind, r.version) for r in started] == [("recommender", version)]
        assert "saved by an older version of Tailor" in started[0].reason
        health = client.get("/health")
        listing = {entry["kind"]: entry for entry in client.get("/models").json()}
    assert listing["recommender"]["current"] == version and "`tailor train`" in listing["recommender"]["cannot_serve"]
    assert listing["engagement"]["cannot_serve"] is None
    assert health.status_code == 200
    assert health.json()["status"] == "degraded" and health.json()["models"]["recommender"] == version
    [problem] = health.json()["problems"]
    assert f"recommender model in use ({version})" in problem and "`tailor train`" in problem
    assert str(tailor_home) not in health.text  # /health needs no key: the file's path is in the log only

    listed = CliRunner().invoke(cli, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[1].startswith(f"  ! {version}  ")
    assert lines[2].startswith("      in use, but cannot be served:") and "`tailor train`" in lines[2]


def test_health_does_not_blame_an_upgrade_for_a_damaged_model_file(engine, api_key, tailor_home):
    """A model.pkl damaged on disk (a disk error, a copy cut short) was told on /health as one saved by a version of
    Tailor this one cannot read: the shop looked for an upgrade that never happened."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    model = PopularityRecommender().fit(checkerboard()[0])
    folder = publish(tailor_home / "models", "recommender", model.save, {})
    (folder / "model.pkl").write_bytes(b"garbage")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        health = client.get("/health").json()
        assert client.get("/models").json()[0]["cannot_serve"]
    assert health["status"] == "degraded"
    [problem] = health["problems"]
    assert f"model in use ({folder.name}) cannot be read" in problem, problem
    assert "its file damaged or gone" in problem and "`tailor train`" in problem, problem


def test_a_damaged_model_file_put_back_from_a_backup_is_served_again(engine, api_key, tailor_home):
    """Once refused, a version was refused until the server restarted: its file put back, `POST
    /models/recommender/current` answered that it could serve, and /health and every request still refused it."""
    from fastapi.testclient import TestClient

    from service.app import create_app

    model = PopularityRecommender().fit(checkerboard()[0])
    folder = publish(tailor_home / "models", "recommender", model.save, {})
    saved = (folder / "model.pkl").read_bytes()
    (folder / "model.pkl").write_bytes(b"garbage")
    with TestClient(create_app(engine), headers={"X-API-Key": api_key}) as client:
        assert client.get("/health").json()["status"] == "degraded"
        (folder / "model.pkl").write_bytes(saved)  # from the backup
        put_back = client.post("/models/recommender/current", json={"version": folder.name})
        assert put_back.status_code == 200 and put_back.json()["cannot_serve"] is None, put_back.text
        assert client.get("/health").json()["problems"] == []
        assert client.get("/models").json()[0]["cannot_serve"] is None


def test_health_is_ok_with_a_current_model_this_version_reads(client, tailor_home):
    from recommenders.popularity import PopularityRecommender

    model = PopularityRecommender().fit(checkerboard()[0])
    version = publish(tailor_home / "models", "recommender", model.save, {}).name
    expected = {"status": "ok", "models": {"recommender": version, "engagement": None}, "problems": []}
    assert client.get("/health").json() == expected
