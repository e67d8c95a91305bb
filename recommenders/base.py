"""The `Recommender` interface every model meets, and the serving logic they share.

A model wraps its library (it never subclasses it): `fit` prepares the interactions into a weighted
customer x product matrix (`recommenders.interactions`), keeps the id <-> index vocabulary and the matrix
with the fitted model, and asks the subclass to learn from it. Subclasses implement `_fit` and `_score`
(dense scores of some known customers over all products); this class turns scores into recommendations
(seen products excluded unless asked, restriction to allowed products, popularity for unknown customers),
similar items, explanations and persistence.

"Seen" products are every product a customer interacted with (bought, carted or viewed); `purchases` keeps
apart the ones they bought (interactions of kind `purchase`; every line counts as one when there is no kind
column), which is what business rules about bought products and "because you bought" explanations use.
"""

from __future__ import annotations

import inspect
import pickle
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommenders.errors import ArtifactError, NotFitted
from recommenders.interactions import Preparation, SharedLines, Vocabulary, prepare, purchase_matrix
from recommenders.top_k import top_k

RECOMMENDATION_COLUMNS = ["customer_id", "rank", "product_id", "score"]
# Scores are computed for this many (customer x product) cells at a time, bounding memory to ~100 MB.
_CELLS_PER_CHUNK = 25_000_000
# What a fit tells of its stages: (done, total, message); see `Recommender.fit`.
FitProgress = Callable[[int, int, str], None]
# Version 2 added `purchases`: version-1 files cannot tell what a customer bought from what they only viewed.
_FORMAT = "tailor-recommender/2"


class Recommender(ABC):
    """Base class: fit on interactions, recommend top-k products, find similar items, explain, save/load."""

    name: ClassVar[str] = "base"
    # Content-aware models also recommend catalog products that nobody has interacted with yet.
    uses_catalog: ClassVar[bool] = False
    # What a fitted model of the class holds, as a number raised whenever that changes shape (an attribute added,
    # renamed or read differently): a file saved with an older number is refused at load, asking for a training,
    # where it loaded and then failed at its first recommendation. Files saved before it was recorded count as 1.
    state_version: ClassVar[int] = 1
    # What ranks the products of a known customer's list that none of their purchases explains: False, their own
    # interactions (views and carts, which are never cited, or purchases linked to the product too faintly to cite);
    # True, the shop's popularity, which the popularity baselines rank by and the blend weighs among its signals.
    # A customer the model never saw gets the most popular products whatever the model (`ranks_by_popularity`).
    ranks_unexplained_by_popularity: ClassVar[bool] = False
    # Whether the customer's purchases explain a pick (`explain`); not for a baseline that ranks by popularity alone.
    explains_by_purchases: ClassVar[bool] = True

    def __init__(self, preparation: Preparation | dict | None = None) -> None:
        self.preparation = Preparation.from_value(preparation)
        self.vocabulary: Vocabulary | None = None
        self.user_items: sp.csr_matrix | None = None
        self.purchases: sp.csr_matrix | None = None
        self.popularity: np.ndarray | None = None

    # ---- parameters -------------------------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments of this model, JSON-friendly (saved with artifacts)."""
        params = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name in ("self", "args", "kwargs"):
                continue
            value = getattr(self, name, None)
            params[name] = value.to_dict() if isinstance(value, Preparation) else value
        return params

    # ---- training ---------------------------------------------------------------------------------------
    def fit(
        self, interactions: pd.DataFrame, products: pd.DataFrame | None = None, progress: FitProgress | None = None
    ) -> Recommender:
        """Learn from an interactions frame (see ARCHITECTURE.md); `products` is the optional catalog.

        `progress` hears (done, total, message) from the models whose fit goes in stages (the blend's time
        windows, ALS's and BPR's iterations); a caller that raises from it (a cancelled job) stops the fit there.
        Models fitted inside another one (the blend's signals) stay silent."""
        matrix, vocabulary, lines = prepare(interactions, self.preparation)
        return self._fit_prepared(matrix, vocabulary, lines, purchase_matrix(lines, vocabulary), products, progress)

    def fit_shared(self, shared: SharedLines, products: pd.DataFrame | None = None) -> Recommender:
        """`fit` on lines shared with other models, whose preparation is done once for all that use the same. Their
        lines are coded (`interactions.CodedLines`): a model fitted so must not read ids from them."""
        return self._fit_prepared(*shared.prepared(self.preparation), products)

    def _fit_prepared(
        self,
        matrix: sp.csr_matrix,
        vocabulary: Vocabulary,
        lines: pd.DataFrame,
        purchases: sp.csr_matrix,
        products: pd.DataFrame | None,
        progress: FitProgress | None = None,
    ) -> Recommender:
        if self.uses_catalog and products is not None and "product_id" in products.columns:
            vocabulary = _extend_catalog(vocabulary, products["product_id"].astype(str))
            matrix, purchases = _widened(matrix, vocabulary.n_products), _widened(purchases, vocabulary.n_products)
        self.vocabulary = vocabulary
        self.user_items = matrix
        self.purchases = purchases
        customers_per_product = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float32)
        self.popularity = customers_per_product / max(customers_per_product.max(), 1.0)
        self._fit_progress = progress
        try:
            self._fit(matrix, lines, products)
        finally:
            del self._fit_progress  # a listener is no part of the model (nor picklable)
        return self

    def _report_fit(self, done: int, total: int, message: str = "") -> None:
        """Tell the listener of the running `fit`, if any, that ``done`` of its ``total`` stages are done."""
        if (listener := getattr(self, "_fit_progress", None)) is not None:
            listener(done, total, message)

    def _iteration_done(self, iteration: int, *_figures: Any) -> None:
        """The fit callback of implicit's models (0-based iteration, then its timings and loss): a stage each of
        the model's ``iterations``."""
        total = self.iterations
        self._report_fit(iteration + 1, total, f"iteration {iteration + 1} of {total}")

    @abstractmethod
    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        """Learn from the prepared matrix (rows/columns follow `self.vocabulary`)."""

    @abstractmethod
    def _score(self, rows: np.ndarray) -> np.ndarray:
        """Dense float32 scores (len(rows) x n_products) for known customer rows; higher is better."""

    def _check_fitted(self) -> Vocabulary:
        if self.vocabulary is None:
            raise NotFitted(self.name)
        return self.vocabulary

    @property
    def is_fitted(self) -> bool:
        return self.vocabulary is not None

    # ---- serving ----------------------------------------------------------------------------------------
    def recommend(
        self,
        customer_ids: Iterable[str],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allowed_products: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Top-k products per customer as a recommendations frame (customer_id, rank, product_id, score).

        Products the customer already interacted with are left out unless `exclude_seen=False`; with
        `allowed_products` only those products can appear (unknown ids are ignored). Customers the model has
        never seen get the most popular products. A customer gets fewer than k rows only when fewer products
        qualify.
        """
        frames = self._recommend_views(customer_ids, k, (exclude_seen,), allowed_products)
        return frames[0]

    def recommend_all_and_new(
        self, customer_ids: Iterable[str], k: int = 10, *, allowed_products: Iterable[str] | None = None
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """`recommend` with `exclude_seen=False` and with `exclude_seen=True`, from one scoring of each customer
        (an evaluation that reports both over all products and over new ones asks for both)."""
        everything, new = self._recommend_views(customer_ids, k, (False, True), allowed_products)
        return everything, new

    def recommend_bought(
        self, customer_ids: Iterable[str], k: int = 10, *, allowed_products: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Each customer's own purchases (not what they only viewed or carted), best first by the model's score:
        what a re-order reminder shows. A customer who bought fewer gets fewer rows, one the model never saw none."""
        return self._recommend_views(customer_ids, k, (False,), allowed_products, bought_only=True)[0]

    def _recommend_views(
        self,
        customer_ids: Iterable[str],
        k: int,
        exclude_seen: tuple[bool, ...],
        allowed_products: Iterable[str] | None,
        bought_only: bool = False,
    ) -> list[pd.DataFrame]:
        """One recommendations frame per entry of `exclude_seen`, each customer's scores computed once; with
        `bought_only`, each customer's purchases alone."""
        vocabulary = self._check_fitted()
        customers = pd.unique(pd.Series([str(c) for c in customer_ids], dtype=object))
        rows = vocabulary.customer_rows(customers)
        blocked = np.zeros(vocabulary.n_products, dtype=bool)
        if allowed_products is not None:
            columns = vocabulary.product_columns(list(allowed_products))
            blocked[:] = True
            blocked[columns[columns >= 0]] = False
        k = max(0, min(int(k), vocabulary.n_products))
        tops = [
            (np.zeros((len(customers), k), dtype=np.int64), np.full((len(customers), k), -np.inf, dtype=np.float32))
            for _ in exclude_seen
        ]
        known = np.flatnonzero(rows >= 0)
        chunk = max(1, _CELLS_PER_CHUNK // max(vocabulary.n_products, 1))
        # Masking seen products only lowers scores, so the views that keep them are taken first.
        order = sorted(range(len(exclude_seen)), key=lambda view: exclude_seen[view])
        for start in range(0, len(known), chunk):
            positions = known[start : start + chunk]
            scores = np.asarray(self._score(rows[positions]), dtype=np.float32).copy()
            scores[:, blocked] = -np.inf
            if bought_only:
                _keep_only(scores, self.purchases[rows[positions]])
            masked = False
            for view in order:
                if exclude_seen[view] and not masked:
                    _mask_seen(scores, self.user_items[rows[positions]])
                    masked = True
                top_index, top_score = tops[view]
                top_index[positions], top_score[positions] = top_k(scores, k)
        unknown = np.flatnonzero(rows < 0)
        if len(unknown) and not bought_only:
            scores = self.popularity.astype(np.float32).copy()[None, :]
            scores[:, blocked] = -np.inf
            index, score = top_k(scores, k)
            for top_index, top_score in tops:
                top_index[unknown], top_score[unknown] = index, score
        return [_recommendation_frame(customers, index, score, vocabulary) for index, score in tops]

    def seen_products(self, customer_id: str) -> list[str]:
        """The products the model knows this customer interacted with in any way (empty for unknown customers)."""
        return self._customer_products(self.user_items, customer_id)

    def purchased_products(self, customer_id: str) -> list[str]:
        """The products the model knows this customer bought, not only viewed or carted (empty if unknown)."""
        return self._customer_products(self.purchases, customer_id)

    def purchases_of(self, customer_ids: Iterable[str]) -> list[set[str]]:
        """`purchased_products` of many customers at once, as sets, in their order (a campaign's rules ask for
        every customer's)."""
        vocabulary = self._check_fitted()
        rows = vocabulary.customer_rows([str(c) for c in customer_ids])
        products = np.asarray(vocabulary.products, dtype=object)
        starts, ends, columns = self.purchases.indptr[:-1], self.purchases.indptr[1:], self.purchases.indices
        return [{str(p) for p in products[columns[starts[row] : ends[row]]]} if row >= 0 else set() for row in rows]

    def _customer_products(self, matrix: sp.csr_matrix, customer_id: str) -> list[str]:
        vocabulary = self._check_fitted()
        row = vocabulary.customer_rows([customer_id])[0]
        if row < 0:
            return []
        return [str(p) for p in vocabulary.products[matrix[row].indices]]

    def similar_items(self, product_id: str, k: int = 10) -> pd.DataFrame:
        """The k products most similar to `product_id` (product_id, score), best first; empty if unknown."""
        vocabulary = self._check_fitted()
        column = vocabulary.product_columns([product_id])[0]
        if column < 0:
            return pd.DataFrame({"product_id": pd.Series(dtype=object), "score": pd.Series(dtype=float)})
        similarity = self._item_similarity(column)
        similarity[column] = -np.inf
        index, score = top_k(similarity[None, :], min(k, vocabulary.n_products))
        keep = np.isfinite(score[0]) & (score[0] > 0)
        return pd.DataFrame(
            {"product_id": vocabulary.products[index[0][keep]].astype(str), "score": score[0][keep].astype(float)}
        )

    def ranks_by_popularity(self, customer_ids: Iterable[str]) -> np.ndarray:
        """Per customer, whether the products of their list that no purchase of theirs explains are there by the
        shop's popularity (see ``ranks_unexplained_by_popularity``): always for a customer the model never saw."""
        rows = self._check_fitted().customer_rows([str(c) for c in customer_ids])
        return np.ones(len(rows), dtype=bool) if self.ranks_unexplained_by_popularity else rows < 0

    def explain(self, customer_id: str, product_id: str, n: int = 3) -> list[str]:
        """Up to n products the customer bought that most support recommending `product_id` ("because you
        bought ..."); products they only viewed or carted are never cited, and a model that does not rank by
        purchases (``explains_by_purchases``) cites none."""
        vocabulary = self._check_fitted()
        row = vocabulary.customer_rows([customer_id])[0]
        column = vocabulary.product_columns([product_id])[0]
        if row < 0 or column < 0 or not self.explains_by_purchases:
            return []
        return self._cited(self.purchases[row].indices, column, self._item_similarity(column), n)

    def explain_many(
        self,
        customer_ids: list[str],
        product_ids: list[str],
        n: int = 3,
        bought: Mapping[str, Collection[str]] | None = None,
    ) -> list[list[str]]:
        """`explain` for many (customer, product) pairs, in their order: each product's similarity to the catalog
        is computed once for all the customers it is explained to (a campaign shows a few hundred products to
        thousands of customers), one product at a time so that memory stays at one row of the catalog.

        ``bought``: what each customer holds bought now (one it does not name, nothing), cited instead of what the
        model saw them buy: a purchase returned whole since the fit is no reason, one made since it may be."""
        vocabulary = self._check_fitted()
        rows = vocabulary.customer_rows(list(customer_ids))
        explained: list[list[str]] = [[] for _ in rows]
        if not self.explains_by_purchases:
            return explained
        columns = vocabulary.product_columns(list(product_ids))
        histories = self._histories(list(customer_ids), rows, bought)
        known = np.flatnonzero((rows >= 0) & (columns >= 0))
        order = known[np.argsort(columns[known], kind="stable")]
        for start, stop in _runs(columns[order]):
            column = int(columns[order[start]])
            similarity = None
            for pair in order[start:stop]:
                history = histories[pair]
                if similarity is None and len(history):
                    similarity = self._item_similarity(column)
                if similarity is not None:
                    explained[pair] = self._cited(history, column, similarity, n)
        return explained

    def _histories(
        self, customer_ids: list[str], rows: np.ndarray, bought: Mapping[str, Collection[str]] | None
    ) -> list[np.ndarray]:
        """Per customer, the columns of the products they bought, in column order: as ``bought`` holds them when
        given (those the model knows), else as the model saw them (none for a customer it never saw)."""
        if bought is None:
            return [self.purchases[row].indices if row >= 0 else np.empty(0, dtype=np.int64) for row in rows]
        vocabulary = self._check_fitted()
        histories = []
        for customer in customer_ids:
            columns = vocabulary.product_columns(list(bought.get(str(customer), ())))
            histories.append(np.sort(columns[columns >= 0]))
        return histories

    def _cited(self, history: np.ndarray, column: int, similarity: np.ndarray, n: int) -> list[str]:
        """The bought products of ``history`` (columns; not ``column`` itself) that ``similarity`` ranks highest,
        up to n."""
        history = history[history != column]
        if not len(history):
            return []
        support = similarity[history]
        order = np.argsort(-support, kind="stable")[:n]
        order = order[support[order] > 0]
        return [str(product) for product in self.vocabulary.products[history[order]]]

    def _item_similarity(self, column: int) -> np.ndarray:
        """Similarity of one product to all products; by default cosine over who interacted with them."""
        items = self._item_vectors()
        target = items[column]
        if sp.issparse(items):
            return np.asarray((items @ target.T).toarray()).ravel().astype(np.float32)
        return (items @ target).astype(np.float32)

    def _item_vectors(self) -> np.ndarray | sp.csr_matrix:
        """Row-normalised product vectors used for similarity (default: product x customer matrix)."""
        cached = getattr(self, "_cached_item_vectors", None)
        if cached is None:
            items = self.user_items.T.tocsr().astype(np.float32)
            norms = np.sqrt(np.asarray(items.multiply(items).sum(axis=1)).ravel())
            cached = sp.diags(1.0 / np.maximum(norms, 1e-12)).dot(items).tocsr()
            self._cached_item_vectors = cached
        return cached

    # ---- persistence ------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fitted model (parameters, vocabulary, learned state) to one file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = dict(self.__dict__)
        state.pop("_cached_item_vectors", None)
        with path.open("wb") as handle:
            payload = {"format": _FORMAT, "class": type(self), "state_versions": self._state_versions(), "state": state}
            pickle.dump(payload, handle, protocol=5)
        return path

    def _state_versions(self) -> dict[str, int]:
        """The ``state_version`` of each class whose fitted state this model holds (a delegating model adds its
        delegate's), by class name."""
        return {type(self).__name__: type(self).state_version}

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Read a model written by `save` (only load files you or Tailor wrote: this unpickles)."""
        path = Path(path)
        if not path.is_file():
            raise ArtifactError(f"No saved recommender at {path}.")
        try:
            with path.open("rb") as handle:
                payload = pickle.load(handle)
        except Exception as error:  # a truncated or foreign file
            raise ArtifactError(f"{path} is not a readable Tailor recommender ({error}).") from error
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            written = payload.get("format", "an unknown format") if isinstance(payload, dict) else "an unknown format"
            raise ArtifactError(
                f"{path} was written in {written}, and this version of Tailor's recommenders reads only {_FORMAT}: "
                "train the model again to use it."
            )
        model_class = payload["class"]
        if not issubclass(model_class, cls):
            raise ArtifactError(f"{path} holds a {model_class.__name__}, not a {cls.__name__}.")
        model = model_class.__new__(model_class)
        model.__dict__.update(payload["state"])
        saved = payload.get("state_versions", {})
        stale = [name for name, version in model._state_versions().items() if saved.get(name, 1) != version]
        if stale:
            raise ArtifactError(
                f"{path} holds a {' and a '.join(stale)} saved by an older version of Tailor, which held less than "
                "this version reads: train the model again to use it."
            )
        return model


def _keep_only(scores: np.ndarray, kept: sp.csr_matrix) -> None:
    """Every score -inf but those of ``kept`` (customer x product, true where kept)."""
    rows = np.repeat(np.arange(kept.shape[0]), np.diff(kept.indptr))
    values = scores[rows, kept.indices]
    scores[:] = -np.inf
    scores[rows, kept.indices] = values


def _mask_seen(scores: np.ndarray, seen: sp.csr_matrix) -> None:
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf


def _recommendation_frame(
    customers: np.ndarray, index: np.ndarray, score: np.ndarray, vocabulary: Vocabulary
) -> pd.DataFrame:
    # Rows are sorted best first, so the dropped (-inf) entries are always at the end of a row and the
    # kept ones keep their column position + 1 as rank.
    keep = np.isfinite(score)
    k = index.shape[1]
    return pd.DataFrame(
        {
            "customer_id": np.repeat(np.asarray(customers, dtype=object), k)[keep.ravel()],
            "rank": np.tile(np.arange(1, k + 1), len(customers))[keep.ravel()],
            "product_id": np.asarray(vocabulary.products, dtype=object)[index[keep]],
            "score": score[keep].astype(float),
        }
    )


def _extend_catalog(vocabulary: Vocabulary, catalog: pd.Series) -> Vocabulary:
    """``vocabulary`` with the catalog's products it lacks after its own, in sorted order."""
    new = pd.Index(catalog.unique()).difference(vocabulary.products)
    if not len(new):
        return vocabulary
    return Vocabulary(vocabulary.customers, vocabulary.products.append(pd.Index(new, dtype=object)))


def _widened(matrix: sp.csr_matrix, columns: int) -> sp.csr_matrix:
    """``matrix`` with empty columns added up to ``columns`` (its arrays shared, not copied)."""
    if matrix.shape[1] == columns:
        return matrix
    return sp.csr_matrix((matrix.data, matrix.indices, matrix.indptr), shape=(matrix.shape[0], columns))


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal neighbours in ``values``."""
    if not len(values):
        return []
    edges = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [len(values)]])
    return list(zip(starts.tolist(), stops.tolist(), strict=True))
