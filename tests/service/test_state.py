"""The models the service serves: a recommender saved by an older, incompatible version is a clear 409 that
asks for training, not a server error."""

from __future__ import annotations

import pickle

import pytest

from recommenders.popularity import PopularityRecommender
from service.errors import NotReady
from service.pipeline.model_store import publish
from service.state import model_store


def test_an_outdated_recommender_asks_to_be_trained_again(tailor_home):
    def save_version_1(path):
        path.write_bytes(pickle.dumps({"format": "tailor-recommender/1", "class": PopularityRecommender, "state": {}}))

    publish(tailor_home / "models", "recommender", save_version_1, {})
    with pytest.raises(NotReady, match=r"tailor-recommender/1.*`tailor train` \(or POST /train\)") as raised:
        model_store(tailor_home / "models").get("recommender")
    assert raised.value.status_code == 409
