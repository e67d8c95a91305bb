"""Names -> recommender classes, so the CLI, the service and the evals choose a model by name."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from recommenders.base import Recommender

# Name -> "module:class". A model's module is imported when the model is asked for: they import implicit, scikit-learn
# and LightGBM, and listing the names (a command's --help) took 1.7 s when the registry imported them all. The
# registry itself imports nothing heavy (not even pandas) for the same reason.
_MODELS: dict[str, str] = {
    "als": "recommenders.als:ALSRecommender",
    "auto": "recommenders.auto:AutoRecommender",
    "blend": "recommenders.blend:BlendRecommender",
    "bpr": "recommenders.bpr:BPRRecommender",
    "content": "recommenders.content:ContentRecommender",
    "ease": "recommenders.ease:EASERecommender",
    "ease_hybrid": "recommenders.ease_hybrid:EASEHybridRecommender",
    "item_knn": "recommenders.item_knn:ItemKNNRecommender",
    "bm25": "recommenders.item_knn:BM25ItemKNNRecommender",
    "popularity": "recommenders.popularity:PopularityRecommender",
    "segment_popularity": "recommenders.popularity:SegmentPopularityRecommender",
    "repeat_purchase": "recommenders.repeat_purchase:RepeatPurchaseRecommender",
}


def names() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(_MODELS)


def model_class(name: str) -> type[Recommender]:
    """The class registered under `name`."""
    from recommenders.errors import UnknownModel

    try:
        module, _, attribute = _MODELS[name].partition(":")
    except KeyError:
        raise UnknownModel(name, names()) from None
    return getattr(importlib.import_module(module), attribute)


def create(name: str, **params) -> Recommender:
    """A new, unfitted model of the named kind with the given hyper-parameters."""
    return model_class(name)(**params)
