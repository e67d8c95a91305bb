"""Names -> recommender classes, so the CLI, the service and the evals choose a model by name."""

from __future__ import annotations

from recommenders.als import ALSRecommender
from recommenders.auto import AutoRecommender
from recommenders.base import Recommender
from recommenders.blend import BlendRecommender
from recommenders.bpr import BPRRecommender
from recommenders.content import ContentRecommender
from recommenders.ease import EASERecommender
from recommenders.ease_hybrid import EASEHybridRecommender
from recommenders.errors import UnknownModel
from recommenders.item_knn import BM25ItemKNNRecommender, ItemKNNRecommender
from recommenders.popularity import PopularityRecommender, SegmentPopularityRecommender
from recommenders.repeat_purchase import RepeatPurchaseRecommender

_MODELS: dict[str, type[Recommender]] = {
    model.name: model
    for model in (
        ALSRecommender,
        AutoRecommender,
        BlendRecommender,
        BPRRecommender,
        ContentRecommender,
        EASERecommender,
        EASEHybridRecommender,
        ItemKNNRecommender,
        BM25ItemKNNRecommender,
        PopularityRecommender,
        SegmentPopularityRecommender,
        RepeatPurchaseRecommender,
    )
}


def names() -> list[str]:
    """Every registered model name, sorted."""
    return sorted(_MODELS)


def model_class(name: str) -> type[Recommender]:
    """The class registered under `name`."""
    try:
        return _MODELS[name]
    except KeyError:
        raise UnknownModel(name, names()) from None


def create(name: str, **params) -> Recommender:
    """A new, unfitted model of the named kind with the given hyper-parameters."""
    return model_class(name)(**params)
