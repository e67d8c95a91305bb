"""Versioned artifacts: metadata, CURRENT switching, and a handle that picks up a new version."""

from __future__ import annotations

import json

import pytest

from recommenders.artifacts import (
    CurrentModel,
    current_version,
    list_versions,
    load_artifact,
    save_artifact,
    set_current,
    snapshot_hash,
)
from recommenders.errors import ArtifactError
from recommenders.registry import create
from tests.recommenders.contract import checkerboard


def test_save_load_with_metadata(tmp_path):
    interactions, _, _ = checkerboard()
    model = create("als", factors=2).fit(interactions)
    folder = save_artifact(model, tmp_path, interactions=interactions, metrics={"recall@10": 0.5}, version="v1")
    assert folder == tmp_path / "als" / "v1"
    metadata = json.loads((folder / "metadata.json").read_text())
    assert metadata["params"]["factors"] == 2 and metadata["metrics"] == {"recall@10": 0.5}
    assert metadata["data"]["snapshot_sha256"] == snapshot_hash(interactions.sample(frac=1, random_state=1))
    assert metadata["data"]["rows"] == len(interactions)
    loaded, meta = load_artifact(tmp_path, "als")
    assert meta["version"] == "v1"
    assert loaded.recommend(["c0"], k=2).equals(model.recommend(["c0"], k=2))


def test_snapshot_hash_changes_with_the_data():
    interactions, _, _ = checkerboard()
    assert snapshot_hash(interactions) != snapshot_hash(interactions.iloc[1:])


def test_current_model_switches_and_rolls_back(tmp_path):
    interactions, _, _ = checkerboard()
    save_artifact(create("popularity").fit(interactions), tmp_path, name="shop", version="v1")
    handle = CurrentModel(tmp_path, "shop")
    first, meta = handle.get()
    assert meta["version"] == "v1" and handle.get()[0] is first
    save_artifact(create("als", factors=2).fit(interactions), tmp_path, name="shop", version="v2")
    assert current_version(tmp_path, "shop") == "v2"
    assert handle.get()[1]["model"] == "als"
    set_current(tmp_path, "shop", "v1")
    assert handle.get()[1]["model"] == "popularity"
    assert [m["version"] for m in list_versions(tmp_path, "shop")] == ["v1", "v2"]


def test_errors_are_named(tmp_path):
    with pytest.raises(ArtifactError, match="No trained 'shop' model"):
        load_artifact(tmp_path, "shop")
    with pytest.raises(ArtifactError, match="trained model"):
        save_artifact(create("als"), tmp_path)
    interactions, _, _ = checkerboard()
    model = create("popularity").fit(interactions)
    save_artifact(model, tmp_path, version="v1")
    with pytest.raises(ArtifactError, match="already exists"):
        save_artifact(model, tmp_path, version="v1")
    with pytest.raises(ArtifactError, match="no saved version"):
        set_current(tmp_path, "popularity", "v9")
