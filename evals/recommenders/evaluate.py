"""Fit one model on a split's training part and measure it: accuracy over all products and over products
new to the customer, beyond-accuracy measures, and time to fit and to recommend."""

from __future__ import annotations

import copy
import pickle
import time
from dataclasses import dataclass

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
    *,
    shared: bool = False,
) -> tuple[Recommender, float]:
    """Fit on the split's training part, with the catalog as it stood then: one built from the interactions
    (``data.FROM_INTERACTIONS``) is built again from the training part (``data.catalog_as_of``): Online Retail's
    named 40 products first sold in the test month, 515 of whose held-out purchases a catalog model could see
    coming, and twelve products by the names they were given after the cutoff.

    ``shared``: the fit is kept for this process (the last one so asked for) and a copy of it is what the next
    shared fit gets whose inputs are identical (`_SharedFit`): the quick Online Retail run and its new-arrivals
    eval fitted the very same blend, 8-10 CPU-s each. The quick runs ask for it for the campaigns' model alone, so
    that one kept fit is not pushed out by their other models. The seconds are the fit's own, measured when it ran."""
    if products is not None and products.attrs.get(FROM_INTERACTIONS):
        products = catalog_as_of(split.train, products)
    train = without_line_catalog(split.train)
    kept = _SHARED_FIT.get("last") if shared and progress is None else None
    if kept is not None and kept.fits(model_name, params, train, products):
        return pickle.loads(kept.model), kept.seconds
    started = time.perf_counter()
    model = create(model_name, **params).fit(train, products, progress)
    seconds = time.perf_counter() - started
    if shared and progress is None:
        _SHARED_FIT["last"] = _SharedFit.of(model_name, params, train, products, model, seconds)
    return model, seconds


@dataclass(frozen=True)
class _SharedFit:
    """A fitted model as it stood after its fit (pickled: whoever got it may change it), with copies of everything
    it was fitted from, compared whole (`fits`) before it is handed out again: the same model name and parameters,
    the same training lines and catalog, value for value, with the same columns, dtypes, index and attributes. The
    fit itself is deterministic given those (its seeds are among the parameters' defaults)."""

    model_name: str
    params: dict
    train: pd.DataFrame
    products: pd.DataFrame | None
    model: bytes
    seconds: float

    @classmethod
    def of(cls, model_name, params, train, products, model: Recommender, seconds: float) -> _SharedFit:
        copied = None if products is None else products.copy(deep=True)
        return cls(
            model_name, copy.deepcopy(params), train.copy(deep=True), copied, pickle.dumps(model, protocol=5), seconds
        )

    def fits(self, model_name: str, params: dict, train: pd.DataFrame, products: pd.DataFrame | None) -> bool:
        return (
            model_name == self.model_name
            and params == self.params
            and _same_frame(train, self.train)
            and (products is None) == (self.products is None)
            and (products is None or _same_frame(products, self.products))
        )


def _same_frame(frame: pd.DataFrame, kept: pd.DataFrame) -> bool:
    """Whether two frames hold the same values (NaN where NaN), columns, dtypes, index and attributes."""
    return (
        frame.shape == kept.shape
        and list(frame.columns) == list(kept.columns)
        and list(frame.dtypes) == list(kept.dtypes)
        and frame.index.equals(kept.index)
        and frame.index.dtype == kept.index.dtype
        and frame.attrs == kept.attrs
        and frame.equals(kept)
    )


# The last shared fit (`fit`), under "last": one at a time, so that a run's lineup holds no more than one copy.
_SHARED_FIT: dict[str, _SharedFit] = {}


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
    shared: bool = False,
) -> dict:
    """Metrics dict: {"all": {...}, "new": {...}, "fit_seconds", "recommend_seconds", "beyond": {...}}, each
    measure at every k of `metrics.KS` (e.g. "recall@5", "coverage@20"); without "beyond" (coverage, novelty,
    diversity) when ``beyond`` is False, since they take longer than the accuracy measures. "recommend_seconds"
    is the time to score the customers and rank their lists (both lists where the split counts repeats).
    ``progress`` hears the fit's stages (see `Recommender.fit`); ``shared``, see `fit`."""
    model, fit_seconds = fit(model_name, params, split, products, progress, shared=shared)
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
