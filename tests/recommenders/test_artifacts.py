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


# The signals the blend's seen-product model learned from since d778b8e; a blend saved before had none of them.
REORDER_SIGNALS = ("due_lateness", "product_due", "customer_basket", "first_bought")


def _saved_as_released_before_the_reorder_signals(model, path):
    """``model`` (a blend, or a model holding one) written as Tailor wrote it before the four re-order signals: the
    same format, its blend's signals without them, and no record of the classes' saved state."""
    blends = [model, *([model.delegate] if hasattr(model, "delegate") else [])]
    for blend in blends:
        if hasattr(blend, "signals"):
            for name in REORDER_SIGNALS:
                delattr(blend.signals, name)
    path.write_bytes(pickle.dumps({"format": "tailor-recommender/2", "class": type(model), "state": model.__dict__}))


def test_a_blend_saved_before_its_reorder_signals_must_be_trained_again(tmp_path):
    """A blend saved by the release before d778b8e loaded, and every recommendation from it then failed with
    AttributeError ('Signals' object has no attribute 'due_lateness'): generation and the recommendations endpoint
    were server errors until someone trained again, and nothing said so."""
    interactions, catalog, _ = checkerboard()
    model = create("blend").fit(interactions, catalog)
    path = tmp_path / "model.pkl"
    _saved_as_released_before_the_reorder_signals(model, path)
    with pytest.raises(ArtifactError, match="BlendRecommender.*older version of Tailor.*train the model again"):
        Recommender.load(path)


def test_a_blend_chosen_by_auto_and_saved_before_its_reorder_signals_must_be_trained_again(tmp_path):
    from recommenders.auto import AutoRecommender

    interactions, catalog, _ = checkerboard()
    auto = create("auto").fit(interactions, catalog)
    auto.delegate, auto.chosen = create("blend").fit(interactions, catalog), "blend"
    path = tmp_path / "model.pkl"
    _saved_as_released_before_the_reorder_signals(auto, path)
    with pytest.raises(ArtifactError, match="BlendRecommender.*train the model again"):
        AutoRecommender.load(path)


def test_a_model_whose_saved_state_did_not_change_still_loads_from_a_file_of_the_release(tmp_path):
    """Only the classes whose saved state changed are refused: an ALS model of the release serves on."""
    interactions, _, _ = checkerboard()
    model = create("als", factors=2).fit(interactions)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"format": "tailor-recommender/2", "class": type(model), "state": model.__dict__}))
    assert Recommender.load(path).recommend(["c0"], k=2).shape[0] == 2


def test_a_blend_saved_now_loads_and_recommends(tmp_path):
    interactions, catalog, _ = checkerboard()
    model = create("blend").fit(interactions, catalog)
    loaded = Recommender.load(model.save(tmp_path / "model.pkl"))
    assert list(loaded.recommend(["c0"], k=3)["product_id"]) == list(model.recommend(["c0"], k=3)["product_id"])
