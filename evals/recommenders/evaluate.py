"""Fit one model on a split's training part and measure it: accuracy over all products and over products
new to the customer, beyond-accuracy measures, and time to fit and to recommend."""

from __future__ import annotations

import time

import pandas as pd

from evals.recommenders.data import FROM_INTERACTIONS, catalog_as_of, without_line_catalog
from evals.recommenders.metrics import KS, accuracy, beyond_accuracy, ranked_lists
from evals.recommenders.protocols import Split
from recommenders.base import FitProgress, Recommender
from recommenders.registry import create


def fit(
    model_name: str,
    params: dict,
    split: Split,
    products: pd.DataFrame | None,
    progress: FitProgress | None = None,
) -> tuple[Recommender, float]:
    """Fit on the split's training part, with the catalog as it stood then: one built from the interactions
    (``data.FROM_INTERACTIONS``) is built again from the training part (``data.catalog_as_of``): Online Retail's
    named 40 products first sold in the test month, 515 of whose held-out purchases a catalog model could see
    coming, and twelve products by the names they were given after the cutoff."""
    if products is not None and products.attrs.get(FROM_INTERACTIONS):
        products = catalog_as_of(split.train, products)
    train = without_line_catalog(split.train)
    started = time.perf_counter()
    model = create(model_name, **params).fit(train, products, progress)
    return model, time.perf_counter() - started


def ranked(model: Recommender, split: Split, *, exclude_seen: bool, k: int = max(KS)) -> dict[str, list[str]]:
    """Top-k lists for the split's customers, with the split's extra exclusions removed."""
    return _without_excluded(
        ranked_lists(model.recommend(split.customers, k=k + _extra(split), exclude_seen=exclude_seen)), split, k
    )


def ranked_all_and_new(
    model: Recommender, split: Split, k: int = max(KS)
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """`ranked` over all products and over new ones, from one scoring of each customer."""
    everything, new = model.recommend_all_and_new(split.customers, k=k + _extra(split))
    return _without_excluded(ranked_lists(everything), split, k), _without_excluded(ranked_lists(new), split, k)


def _extra(split: Split) -> int:
    return max((len(items) for items in split.exclude.values()), default=0)


def _without_excluded(lists: dict[str, list[str]], split: Split, k: int) -> dict[str, list[str]]:
    if split.exclude:
        lists = {
            customer: [p for p in items if p not in split.exclude.get(customer, ())][:k]
            for customer, items in lists.items()
        }
    return lists


def evaluate(
    model_name: str,
    params: dict,
    split: Split,
    products: pd.DataFrame | None = None,
    *,
    beyond: bool = True,
    progress: FitProgress | None = None,
) -> dict:
    """Metrics dict: {"all": {...}, "new": {...}, "fit_seconds", "recommend_seconds", "beyond": {...}}, each
    measure at every k of `metrics.KS` (e.g. "recall@5", "coverage@20"); without "beyond" (coverage, novelty,
    diversity) when ``beyond`` is False, since they take longer than the accuracy measures. "recommend_seconds"
    is the time to score the customers and rank their lists (both lists where the split counts repeats).
    ``progress`` hears the fit's stages (see `Recommender.fit`)."""
    model, fit_seconds = fit(model_name, params, split, products, progress)
    return measure(model, split, beyond=beyond) | {"fit_seconds": round(fit_seconds, 3), "params": model.get_params()}


def measure(model: Recommender, split: Split, *, beyond: bool = True) -> dict:
    started = time.perf_counter()
    if split.repeats:
        all_lists, new_lists = ranked_all_and_new(model, split)
    else:
        all_lists, new_lists = None, ranked(model, split, exclude_seen=True)
    recommend_seconds = time.perf_counter() - started
    results = {"new": accuracy(new_lists, split.relevant_new)}
    if all_lists is not None:
        results["all"] = accuracy(all_lists, split.relevant)
    if beyond:
        results["beyond"] = beyond_accuracy(new_lists, model.user_items, model.vocabulary.products)
    results["recommend_seconds"] = round(recommend_seconds, 3)
    if hasattr(model, "chosen"):
        results["chosen"] = model.chosen
    return results
