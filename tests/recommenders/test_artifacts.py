"""Artifacts: the data snapshot is identified whatever the row order, parameters travel along, and a file of
an older format is refused with a message that says to train again."""

from __future__ import annotations

import json
import pickle

import pytest

from recommenders.artifacts import snapshot_hash, training_metadata
from recommenders.base import Recommender
from recommenders.errors import ArtifactError
from recommenders.registry import create
from tests.recommenders.contract import checkerboard


def test_metadata_records_the_snapshot_and_parameters():
    interactions, _, _ = checkerboard()
    model = create("als", factors=2).fit(interactions)
    metadata = json.loads(json.dumps(training_metadata(model, interactions)))  # JSON-ready as it is
    assert metadata["model"] == "als" and metadata["params"]["factors"] == 2
    assert metadata["data"]["snapshot_sha256"] == snapshot_hash(interactions.sample(frac=1, random_state=1))
    assert metadata["data"]["rows"] == len(interactions)
    assert metadata["data"]["first"] <= metadata["data"]["last"]


def test_auto_records_the_model_it_chose():
    interactions, _, _ = checkerboard()
    model = create("auto").fit(interactions)
    assert training_metadata(model, interactions)["chosen"] == model.chosen is not None


def test_snapshot_hash_changes_with_the_data():
    interactions, _, _ = checkerboard()
    assert snapshot_hash(interactions) != snapshot_hash(interactions.iloc[1:])


def test_a_model_saved_before_purchases_were_kept_apart_must_be_trained_again(tmp_path):
    interactions, _, _ = checkerboard()
    model = create("popularity").fit(interactions)
    state = {key: value for key, value in model.__dict__.items() if key != "purchases"}
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"format": "tailor-recommender/1", "class": type(model), "state": state}))
    with pytest.raises(ArtifactError, match="tailor-recommender/1.*train the model again"):
        Recommender.load(path)
