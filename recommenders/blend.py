"""A learned blend of collaborative, repeat-purchase, popularity, seasonal and content signals.

In a shop, part of what a customer buys next is a re-order and part is new to them. The blend scores every
(customer, product) pair from signals (`FEATURES`): a collaborative model's score (EASE by default),
item-item BM25 neighbours, TF-IDF content similarity, recent and same-season-last-year popularity, how
often, how recently and how "due" the customer's own purchases of the product are (against their own usual
gap for it, early or overdue, and against the gap of all its repeat buyers), since when they buy it and what
share of their orders held it, and how active, how due for an order and how large-basketed the customer is.
The weights are learned from the data itself: for each of `training_windows` successive windows of
`holdout_days` at the end of the training data, the signals are computed from what came before and models
learn which candidates were bought in the window — boosted trees (`seen_model_kind="gbm"`) or a logistic
regression for products the customer already bought, a logistic regression for products new to them — so
re-orders and discoveries are ranked on one log-odds scale. The signals are then refitted on all the data.
With too little history for a holdout, fixed weights are used (`learned` is False).
"""

from __future__ import annotations

from concurrent.futures import Executor, Future, ThreadPoolExecutor

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from recommenders.base import FitProgress, Recommender
from recommenders.blend_signals import FEATURES, Signals
from recommenders.interactions import CodedLines, Preparation, positions_in, prepare, purchase_matrix
from recommenders.top_k import top_k

# Used when there is too little data to learn weights: re-orders first, then collaborative discoveries.
_DISCOVERY = {"collaborative": 1.0, "neighbours": 0.5, "content": 0.2, "popularity": 0.3, "popularity_now": 0.3}
_REORDER = {"bought_count": 1.0, "bought_recency": 1.0, "bought_decayed": 1.0, "due": 0.5, "in_last_order": 0.5}
_DEFAULT_WEIGHTS = {
    "seen": np.array([(_DISCOVERY | _REORDER).get(name, 0.0) for name in FEATURES]),
    "new": np.array([_DISCOVERY.get(name, 0.0) for name in FEATURES]),
}
_MIN_HOLDOUT_CUSTOMERS = 30


class BlendRecommender(Recommender):
    """Collaborative + neighbours + content + repeat-purchase signals, weighted by a learned model."""

    name = "blend"
    uses_catalog = True
    ranks_unexplained_by_popularity = True  # recent and last season's popularity are among its signals
    state_version = 2  # 2: the four re-order signals of the seen model (due_lateness, product_due, ...: d778b8e)

    def __init__(
        self,
        collaborative: str = "ease",
        collaborative_params: dict | None = None,
        neighbours: int = 50,
        use_content: bool = True,
        holdout_days: float = 30.0,
        half_life_days: float = 60.0,
        popularity_days: float = 60.0,
        candidates: int = 50,
        max_training_customers: int = 3000,
        regularization: float = 1.0,
        seen_model_kind: str = "gbm",
        training_windows: int = 6,
        random_state: int = 42,
        preparation: Preparation | dict | None = None,
    ) -> None:
        super().__init__(preparation)
        self.collaborative = collaborative
        self.collaborative_params = dict(collaborative_params or {})
        self.neighbours = neighbours
        self.use_content = use_content
        self.holdout_days = holdout_days
        self.half_life_days = half_life_days
        self.popularity_days = popularity_days
        self.candidates = candidates
        self.max_training_customers = max_training_customers
        self.regularization = regularization
        self.seen_model_kind = seen_model_kind
        self.training_windows = training_windows
        self.random_state = random_state

    def fit(
        self, interactions: pd.DataFrame, products: pd.DataFrame | None = None, progress: FitProgress | None = None
    ) -> BlendRecommender:
        """`Recommender.fit`, the prepared lines coded (`CodedLines`) as soon as the purchases are read from them: the
        lines with their string ids (~110 bytes a line) were held through the whole fit beside the coded ones."""
        matrix, vocabulary, lines = prepare(interactions, self.preparation)
        purchases = purchase_matrix(lines, vocabulary)
        coded = CodedLines.of(lines, vocabulary).frame
        del lines
        return self._fit_prepared(matrix, vocabulary, coded, purchases, products, progress)

    @threadpool_limits.wrap(limits=1)
    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        """``lines`` are coded on the vocabulary (as `fit` gives them): the catalog's products it adds come after
        every product of theirs, so their codes are the columns still.

        Runs single-threaded (BLAS and OpenMP): its inversions and fits are small, and threads spinning on
        a busy machine made them many times slower (see ``_fit_gbm``); EASE inverted the demo store's
        300 x 300 item matrix in 1.7 s with two BLAS threads beside another process, 2 ms with one.

        The boosted trees, though, are fitted in a second thread while the signals are computed on all the data:
        the two are independent and both run mostly outside the GIL (LightGBM, LAPACK), so a second core
        takes one of them (on both Online Retail years the trees take ~20 s, the signals ~10 s)."""
        coded = CodedLines(lines, self.vocabulary.customers, self.vocabulary.products)
        # the catalog's TF-IDF vectors, fitted by the first content model of the windows and taken by the others'
        self.shared_vectors: dict = {}
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="blend-trees") as background:
                self.weights, trees = self._learn_weights(coded, products, background)
                self._report_fit(
                    self.training_windows + 1, self.training_windows + 2, "fitting the signals on all the data"
                )
                self.signals = Signals(coded, products, self)
                self.seen_model = trees.result() if trees is not None else None
        finally:
            del self.shared_vectors
        self._report_fit(self.training_windows + 2, self.training_windows + 2, "fitted")
        self.signal_rows = self.signals.customers.get_indexer(self.vocabulary.customers)

    def _learn_weights(
        self, coded: CodedLines, products: pd.DataFrame | None, background: Executor
    ) -> tuple[dict[str, np.ndarray], Future | None]:
        """Fit the seen/new models on `training_windows` successive time holdouts; fixed weights when the
        data is too thin to learn from. The boosted trees for seen products, where asked for and learnable, are
        fitted on `background`: their future is returned beside the weights."""
        self.learned = False
        trees = None
        newest = coded.frame["timestamp"].max()
        ends = [newest - pd.Timedelta(days=window * self.holdout_days) for window in range(self.training_windows)]
        stages = self.training_windows + 2  # the windows, the weights' fit, the signals on all the data
        windows = []
        # Two windows at a time, the second on `background`: each window's inversion, neighbour fit and sorting
        # run mostly outside the GIL. Their samples are joined in window order, so the fit is as one at a time.
        for first in range(0, len(ends), 2):
            self._report_fit(first, stages, f"learning the weights: window {first + 1} of {len(ends)}")
            second = (
                background.submit(_on_one_thread, self._window_samples, coded, ends[first + 1], products)
                if first + 1 < len(ends)
                else None
            )
            windows.append(self._window_samples(coded, ends[first], products))
            if second is not None:
                self._report_fit(first + 1, stages, f"learning the weights: window {first + 2} of {len(ends)}")
                windows.append(second.result())
            if windows[0] is None:
                return {kind: np.append(weights, 0.0) for kind, weights in _DEFAULT_WEIGHTS.items()}, None
        # The per-chunk parts are let go as soon as they are joined, and each join is standardised in place
        # below: the "new" samples reach millions of rows (2.6M x 22 on the 100,000-customer demo shop).
        self._report_fit(self.training_windows, stages, "learning the weights: fitting them")
        samples = [window for window in windows if window is not None]
        del windows
        joined = {}
        for kind in ("seen", "new"):
            parts = [window.pop(kind) for window in samples]
            features = [chunk for chunk_features, _ in parts for chunk in chunk_features]
            labels = [chunk for _, chunk_labels in parts for chunk in chunk_labels]
            del parts
            joined[kind] = (_joined(features), _joined(labels))
        if self.seen_model_kind in ("gbm", "both"):
            features, labels = joined["seen"]
            if 20 <= labels.sum() < len(labels):
                # Its own copy: the one here is standardised in place below while the trees may still read it.
                trees = background.submit(_on_one_thread, _fit_gbm, features.copy(), labels, self.random_state)
        weights = {}
        for kind in ("seen", "new"):
            features, labels = joined.pop(kind)  # the seen samples let go before the new ones go float64 in sklearn
            if labels.sum() < 5 or labels.all():
                weights[kind] = np.append(_DEFAULT_WEIGHTS[kind], 0.0)
                continue
            mean, scale = features.mean(axis=0), np.maximum(features.std(axis=0), 1e-6)
            features -= mean
            features /= scale
            model = LogisticRegression(C=self.regularization, max_iter=500)
            model.fit(features, labels)
            coefficients = model.coef_[0] / scale
            weights[kind] = np.append(coefficients, model.intercept_[0] - (mean * coefficients).sum())
        self.learned = True
        return weights, trees

    def _window_samples(self, coded: CodedLines, end: pd.Timestamp, products) -> dict | None:
        """(features, bought) samples from the `holdout_days` before `end`, chunk by chunk, for products the
        customer bought ("seen") and for new candidates ("new"); None if too few customers to learn from. The
        lines' customers and products are codes (`CodedLines`), the products' the columns."""
        cutoff = end - pd.Timedelta(days=self.holdout_days)
        timestamps = coded.frame["timestamp"]
        early = coded.where(timestamps < cutoff)
        late = coded.frame[(timestamps >= cutoff) & (timestamps < end)]
        early_customers = pd.Index(early.frame["customer_id"].unique())
        targets = late[positions_in(early_customers, late["customer_id"]) >= 0]
        if len(early_customers) < _MIN_HOLDOUT_CUSTOMERS or targets["customer_id"].nunique() < 10:
            return None
        samples = {"seen": ([], []), "new": ([], [])}
        signals = Signals(early, products, self)
        del early  # the signals keep none of its lines
        rng = np.random.default_rng(self.random_state)
        customers = rng.permutation(targets["customer_id"].unique())[: self.max_training_customers]
        rows = signals.rows_of(customers)
        # Each later line as (position of its customer in `customers`, product column); -1 where not sampled.
        later_rows = positions_in(pd.Index(customers), targets["customer_id"])
        later_columns = targets["product_id"].to_numpy().astype(np.intp)
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            parts = list(signals.parts(chunk))
            labels = np.zeros((len(chunk), len(self.vocabulary.products)), dtype=bool)
            in_chunk = (later_rows >= start) & (later_rows < start + len(chunk))
            labels[later_rows[in_chunk] - start, later_columns[in_chunk]] = True
            seen = signals.seen(chunk)
            candidates = np.zeros_like(seen)
            for name, kind, values in parts:
                if name in ("collaborative", "neighbours", "content", "popularity"):
                    dense = values if kind == "dense" else np.broadcast_to(values, seen.shape)
                    index, _ = top_k(np.where(seen, -np.inf, dense), self.candidates)
                    np.put_along_axis(candidates, index, True, axis=1)
            candidates &= ~seen
            for kind, mask in (("seen", seen), ("new", candidates)):
                at_rows, at_columns = np.nonzero(mask)
                unseen = kind == "new"  # the pair parts are 0 off what the customer interacted with
                samples[kind][0].append(
                    np.stack(
                        [Signals.at(part, values, at_rows, at_columns, unseen) for _, part, values in parts], axis=1
                    )
                )
                samples[kind][1].append(labels[at_rows, at_columns])
        return samples

    def _score(self, rows: np.ndarray) -> np.ndarray:
        """New products get the "new" model's linear score; products the customer bought get the "seen"
        model's, computed only at those (few) positions. Signals that are zero wherever the customer has not
        bought (the ``pair`` parts) therefore never need a dense matrix."""
        signal_rows = self.signal_rows[rows]
        seen_rows, seen_columns = self.signals.seen_positions(signal_rows)
        new_weights, seen_weights = self.weights["new"], self.weights["seen"]
        scores = np.full((len(rows), len(self.vocabulary.products)), new_weights[-1], np.float32)
        per_product = np.zeros(scores.shape[1], np.float32)
        per_customer = np.zeros(scores.shape[0], np.float32)
        at_seen = []
        for i, (_, kind, values) in enumerate(self.signals.parts(signal_rows)):
            at_seen.append(self.signals.at(kind, values, seen_rows, seen_columns))
            if kind == "dense":  # a fresh matrix of this chunk's: weighted in place, no temporary of its size
                values *= new_weights[i]
                scores += values
            elif kind == "column":
                per_product += new_weights[i] * values
            elif kind == "row":
                per_customer += new_weights[i] * values
        scores += per_product[None, :]
        scores += per_customer[:, None]
        if len(seen_rows):
            seen_features = np.stack(at_seen, axis=1)
            linear = seen_features @ seen_weights[:-1] + seen_weights[-1]
            if self.seen_model is None:
                seen_score = linear
            else:
                # Boosted trees rank re-orders; they only ever see the (sparse) pairs the customer bought before.
                boosted = self.seen_model.predict(seen_features, raw_score=True)
                # "both" averages the two log-odds: steadier than either alone across data sets.
                seen_score = boosted if self.seen_model_kind == "gbm" else (linear + boosted) / 2
            scores[seen_rows, seen_columns] = seen_score
        return scores

    def feature_weights(self) -> pd.DataFrame:
        """The learned weight of each signal for products already bought (seen) and new to the customer."""
        return pd.DataFrame({kind: weights for kind, weights in self.weights.items()}, index=[*FEATURES, "intercept"])

    def _item_similarity(self, column: int) -> np.ndarray:
        """How much each product lifts ``column`` in the "new" model's score, by the components that score reads
        from a customer's purchases (collaborative, neighbours, content), each weighed by its learned weight and
        scaled by its own largest link to ``column``: a purchase that supports the pick in any of them can be cited.
        The neighbours alone, as before, keep only each product's nearest (``neighbours``): a pick the collaborative
        or content score ranked was linked to none of its customer's purchases there, and explained by nothing."""
        similarity = np.zeros(self.vocabulary.n_products, dtype=np.float32)
        for i, name in enumerate(FEATURES):
            weight = self.weights["new"][i]
            if name not in self.signals.components or weight <= 0:
                continue
            component = self.signals.components[name]
            _, column_map = self.signals.maps[name]
            inner = component.vocabulary.product_columns([self.vocabulary.products[column]])[0]
            if inner < 0:
                continue
            links = np.nan_to_num(np.asarray(component._item_similarity(inner), dtype=np.float32))
            largest = np.abs(links).max(initial=0.0)
            if largest > 0:
                keep = column_map >= 0
                similarity[column_map[keep]] += weight * links[keep] / largest
        return similarity


def _joined(chunks: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate(chunks)``, each chunk let go (taken from ``chunks``, which is left empty) once it is copied:
    joined at once, every window's samples of a kind were held twice, the peak of the fit on Online Retail."""
    joined = np.empty((sum(len(chunk) for chunk in chunks), *chunks[0].shape[1:]), dtype=np.result_type(*chunks))
    start = 0
    chunks.reverse()
    while chunks:
        chunk = chunks.pop()
        joined[start : start + len(chunk)] = chunk
        start += len(chunk)
    return joined


def _on_one_thread(work, *args):
    """`work(*args)` with one BLAS and OpenMP thread in the calling thread too: OpenMP's limit is per thread, and
    a worker thread would otherwise start as many as the machine has cores."""
    with threadpool_limits(limits=1):
        return work(*args)


def _fit_gbm(features: np.ndarray, labels: np.ndarray, random_state: int):
    """A small LightGBM classifier whose raw score is a log-odds, comparable with the logistic models.

    One thread, row-wise histograms: on the 10,000-customer demo store (146,098 samples x 22 signals), beside
    another busy process on a 2-core machine, two threads took 160 s (OpenMP threads spin waiting for each
    other) and one 1.8 s, with the same trees; row-wise suits few features and one thread, and skips
    LightGBM's timed choice between the two layouts."""
    import lightgbm

    model = lightgbm.LGBMClassifier(
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=50,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.9,
        random_state=random_state,
        n_jobs=1,
        force_row_wise=True,
        verbose=-1,
    )
    model.fit(features, labels)
    return model
