"""A learned blend of collaborative, repeat-purchase, popularity, seasonal and content signals.

In a shop, part of what a customer buys next is a re-order and part is new to them. The blend scores every
(customer, product) pair from signals (`FEATURES`): a collaborative model's score (EASE by default),
item-item BM25 neighbours, TF-IDF content similarity, recent and same-season-last-year popularity, how
often, how recently and how "due" the customer's own purchases of the product are, and how active the
customer is. The weights are learned from the data itself: for each of `training_windows` successive
windows of `holdout_days` at the end of the training data, the signals are computed from what came before
and models learn which candidates were bought in the window — boosted trees (`seen_model_kind="gbm"`) or a
logistic regression for products the customer already bought, a logistic regression for products new to
them — so re-orders and discoveries are ranked on one log-odds scale. The signals are then refitted on all
the data. With too little history for a holdout, fixed weights are used (`learned` is False).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from recommenders.base import Recommender, top_k
from recommenders.content import TEXT_COLUMNS
from recommenders.errors import FitFailed
from recommenders.interactions import Preparation

FEATURES = (
    "collaborative",
    "neighbours",
    "content",
    "popularity",
    "bought_count",
    "bought_recency",
    "bought_recently",
    "repeat_rate",
    "bought_decayed",
    "bought_share",
    "customer_breadth",
    "customer_recency",
    "season_popularity",
    "bought_last_season",
    "popularity_now",
    "season_growth",
    "due",
    "in_last_order",
)
# Used when there is too little data to learn weights: re-orders first, then collaborative discoveries.
_DEFAULT_WEIGHTS = {
    "seen": np.array([1.0, 0.5, 0.2, 0.3, 1.0, 1.0, 0.5, 1.0, 1.0, 1.0, 0.0, 0.0, 0.3, 0.5, 0.3, 0.0, 0.5, 0.5]),
    "new": np.array([1.0, 0.5, 0.2, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.5, 0.3, 0.0, 0.0, 0.0]),
}
_MIN_HOLDOUT_CUSTOMERS = 30


class _Signals:
    """Per-(customer, product) signals computed from one slice of interactions, on a fixed product index."""

    def __init__(self, lines: pd.DataFrame, products: pd.DataFrame | None, product_index: pd.Index, blend) -> None:
        self.product_index = product_index
        self.now = lines["timestamp"].max()
        self.customers = pd.Index(sorted(lines["customer_id"].unique()), dtype=object)
        rows = self.customers.get_indexer(lines["customer_id"])
        columns = product_index.get_indexer(lines["product_id"])
        shape = (len(self.customers), len(product_index))
        age = ((self.now - lines["timestamp"]).dt.total_seconds().to_numpy() / 86400.0).astype(np.float32)
        pairs = pd.DataFrame({"r": rows, "c": columns, "age": age, "day": lines["timestamp"].dt.normalize().to_numpy()})
        pairs["decayed"] = np.exp(-age / blend.half_life_days)
        per_pair = pairs.groupby(["r", "c"]).agg(
            age=("age", "min"), first=("age", "max"), days=("day", "nunique"), decayed=("decayed", "sum")
        )
        pair_rows, pair_columns = per_pair.index.get_level_values(0), per_pair.index.get_level_values(1)

        def pair_matrix(values: np.ndarray) -> sp.csr_matrix:
            return sp.csr_matrix((values.astype(np.float32), (pair_rows, pair_columns)), shape=shape)

        # Freshness of the newest purchase of each pair, over a long and a short horizon.
        self.freshness = pair_matrix(np.exp(-per_pair["age"].to_numpy() / blend.half_life_days))
        self.freshness_short = pair_matrix(np.exp(-per_pair["age"].to_numpy() / 14.0))
        # Share of a product's buyers who bought it on more than one day: re-orderable products score high.
        buyers = np.bincount(pair_columns, minlength=shape[1])
        repeaters = np.bincount(pair_columns[per_pair["days"].to_numpy() > 1], minlength=shape[1])
        self.repeat_rate = ((repeaters + 0.1) / (buyers + 1.0)).astype(np.float32)
        self.bought = pair_matrix(per_pair["days"].to_numpy())
        # Time-decayed count of lines (the repeat-purchase score) and its share of the customer's total.
        self.decayed = pair_matrix(per_pair["decayed"].to_numpy())
        # Replenishment timing: how close the time since the last purchase is to the customer's usual gap
        # for this product (1 when exactly due, falling off either side; 0 for products bought once).
        repeated = per_pair["days"].to_numpy() > 1
        gap = (per_pair["first"] - per_pair["age"]).to_numpy() / np.maximum(per_pair["days"].to_numpy() - 1, 1)
        ratio = (per_pair["age"].to_numpy() + 1.0) / (gap + 1.0)
        self.due = pair_matrix(np.where(repeated, np.exp(-np.abs(np.log(ratio))), 0.0) + 1e-6)
        # In the customer's most recent order (the same day as their newest line).
        newest = pairs.groupby("r")["age"].min()
        self.in_last_order = pair_matrix(
            (per_pair["age"].to_numpy() - newest.reindex(pair_rows).to_numpy() < 1.0).astype(float) + 1e-6
        )
        totals = np.asarray(self.decayed.sum(axis=1)).ravel()
        self.decayed_share = sp.diags(1.0 / np.maximum(totals, 1e-9)).dot(self.decayed).tocsr()
        self.popularity = self._buyers(lines, self.now - pd.Timedelta(days=blend.popularity_days), self.now)
        # Sold in the last two weeks at all? (Products the shop stopped selling drop out here first.)
        self.popularity_now = self._buyers(lines, self.now - pd.Timedelta(days=14), self.now)
        # What sold, and what this customer bought, in the coming window one year earlier (seasonal shops).
        season_start = self.now - pd.Timedelta(days=365)
        season = lines[
            (lines["timestamp"] >= season_start)
            & (lines["timestamp"] < season_start + pd.Timedelta(days=blend.holdout_days))
        ]
        season_pairs = season.drop_duplicates(["customer_id", "product_id"])
        self.season_popularity = self._buyers(season, season_start, season_start + pd.Timedelta(days=365))
        before_season = self._buyers(lines, season_start - pd.Timedelta(days=blend.holdout_days), season_start)
        self.season_growth = self.season_popularity - before_season
        self.last_season = sp.csr_matrix(
            (
                np.ones(len(season_pairs), dtype=np.float32),
                (
                    self.customers.get_indexer(season_pairs["customer_id"]),
                    product_index.get_indexer(season_pairs["product_id"]),
                ),
            ),
            shape=shape,
        )
        self.breadth = np.log1p(np.diff(self.bought.indptr)).astype(np.float32)
        last_seen = lines.groupby("customer_id")["timestamp"].max().reindex(self.customers)
        days = (self.now - last_seen).dt.total_seconds().to_numpy() / 86400.0
        self.customer_recency = np.exp(-days / blend.half_life_days).astype(np.float32)
        from recommenders.registry import create

        self.components = {
            "collaborative": create(blend.collaborative, **blend.collaborative_params).fit(lines),
            "neighbours": create("bm25", neighbours=blend.neighbours).fit(lines),
        }
        has_text = products is not None and any(c in products.columns for c in TEXT_COLUMNS)
        if blend.use_content and has_text:
            with contextlib.suppress(FitFailed):
                self.components["content"] = create("content").fit(lines, products)
        self.maps = {
            name: (
                component.vocabulary.customer_rows(self.customers),
                product_index.get_indexer(component.vocabulary.products),
            )
            for name, component in self.components.items()
        }

    def _buyers(self, lines: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
        """log(1 + number of customers) who bought each product in [start, end)."""
        window = lines[(lines["timestamp"] >= start) & (lines["timestamp"] < end)]
        pairs = window.drop_duplicates(["customer_id", "product_id"])["product_id"]
        return np.log1p(pairs.value_counts().reindex(self.product_index, fill_value=0).to_numpy()).astype(np.float32)

    def _component(self, name: str, rows: np.ndarray) -> np.ndarray:
        scores = np.zeros((len(rows), len(self.product_index)), dtype=np.float32)
        if name not in self.components:
            return scores
        component_rows, column_map = self.maps[name]
        mapped = component_rows[rows]
        known = np.flatnonzero(mapped >= 0)
        keep = column_map >= 0
        if len(known):
            raw = self.components[name]._score(mapped[known])[:, keep]
            raw = np.where(np.isfinite(raw), raw, 0.0)
            # Scale per customer so that weights transfer between customers with long and short histories.
            scale = np.maximum(np.abs(raw).max(axis=1, keepdims=True), 1e-9)
            scores[np.ix_(known, column_map[keep])] = raw / scale
        return scores

    def features(self, rows: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
        """(name, dense len(rows) x n_products matrix) for each of FEATURES, one at a time to bound memory."""
        n_products = len(self.product_index)
        yield "collaborative", self._component("collaborative", rows)
        yield "neighbours", self._component("neighbours", rows)
        yield "content", self._component("content", rows)
        yield "popularity", np.broadcast_to(self.popularity, (len(rows), n_products))
        yield "bought_count", np.log1p(self.bought[rows].toarray())
        yield "bought_recency", self.freshness[rows].toarray()
        yield "bought_recently", self.freshness_short[rows].toarray()
        yield "repeat_rate", np.broadcast_to(self.repeat_rate, (len(rows), n_products))
        yield "bought_decayed", np.log1p(self.decayed[rows].toarray())
        yield "bought_share", self.decayed_share[rows].toarray()
        yield "customer_breadth", np.broadcast_to(self.breadth[rows, None], (len(rows), n_products))
        yield "customer_recency", np.broadcast_to(self.customer_recency[rows, None], (len(rows), n_products))
        yield "season_popularity", np.broadcast_to(self.season_popularity, (len(rows), n_products))
        yield "bought_last_season", self.last_season[rows].toarray()
        yield "popularity_now", np.broadcast_to(self.popularity_now, (len(rows), n_products))
        yield "season_growth", np.broadcast_to(self.season_growth, (len(rows), n_products))
        yield "due", self.due[rows].toarray()
        yield "in_last_order", self.in_last_order[rows].toarray()

    def seen(self, rows: np.ndarray) -> np.ndarray:
        return self.bought[rows].toarray() > 0


class BlendRecommender(Recommender):
    """Collaborative + neighbours + content + repeat-purchase signals, weighted by a learned model."""

    name = "blend"
    uses_catalog = True

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

    def _fit(self, user_items: sp.csr_matrix, lines: pd.DataFrame, products: pd.DataFrame | None) -> None:
        self.weights = self._learn_weights(lines, products)
        self.signals = _Signals(lines, products, self.vocabulary.products, self)
        self.signal_rows = self.signals.customers.get_indexer(self.vocabulary.customers)

    def _learn_weights(self, lines: pd.DataFrame, products: pd.DataFrame | None) -> dict[str, np.ndarray]:
        """Fit the seen/new models on `training_windows` successive time holdouts; fixed weights when the
        data is too thin to learn from."""
        self.learned = False
        self.seen_model = None
        samples = {"seen": ([], []), "new": ([], [])}
        newest = lines["timestamp"].max()
        for window in range(self.training_windows):
            end = newest - pd.Timedelta(days=window * self.holdout_days)
            if not self._window_samples(lines, end, products, samples) and window == 0:
                return {kind: np.append(weights, 0.0) for kind, weights in _DEFAULT_WEIGHTS.items()}
        weights = {}
        if self.seen_model_kind in ("gbm", "both"):
            features, labels = np.concatenate(samples["seen"][0]), np.concatenate(samples["seen"][1])
            if 20 <= labels.sum() < len(labels):
                self.seen_model = _fit_gbm(features, labels, self.random_state)
        for kind, (features, labels) in samples.items():
            features, labels = np.concatenate(features), np.concatenate(labels)
            if labels.sum() < 5 or labels.all():
                weights[kind] = np.append(_DEFAULT_WEIGHTS[kind], 0.0)
                continue
            mean, scale = features.mean(axis=0), np.maximum(features.std(axis=0), 1e-6)
            model = LogisticRegression(C=self.regularization, max_iter=500)
            model.fit((features - mean) / scale, labels)
            coefficients = model.coef_[0] / scale
            weights[kind] = np.append(coefficients, model.intercept_[0] - (mean * coefficients).sum())
        self.learned = True
        return weights

    def _window_samples(self, lines: pd.DataFrame, end: pd.Timestamp, products, samples: dict) -> bool:
        """Add (features, bought) samples from the `holdout_days` before `end`; False if too few customers."""
        cutoff = end - pd.Timedelta(days=self.holdout_days)
        early = lines[lines["timestamp"] < cutoff]
        late = lines[(lines["timestamp"] >= cutoff) & (lines["timestamp"] < end)]
        targets = late[late["customer_id"].isin(set(early["customer_id"]))]
        if early["customer_id"].nunique() < _MIN_HOLDOUT_CUSTOMERS or targets["customer_id"].nunique() < 10:
            return False
        signals = _Signals(early, products, self.vocabulary.products, self)
        rng = np.random.default_rng(self.random_state)
        customers = rng.permutation(targets["customer_id"].unique())[: self.max_training_customers]
        rows = signals.customers.get_indexer(customers)
        bought_later = targets.groupby("customer_id")["product_id"].agg(set)
        for start in range(0, len(rows), 500):
            chunk, chunk_customers = rows[start : start + 500], customers[start : start + 500]
            matrices = dict(signals.features(chunk))
            labels = np.zeros((len(chunk), len(self.vocabulary.products)), dtype=bool)
            for i, customer in enumerate(chunk_customers):
                columns = self.vocabulary.product_columns(list(bought_later[customer]))
                labels[i, columns[columns >= 0]] = True
            seen = signals.seen(chunk)
            candidates = np.zeros_like(seen)
            for name in ("collaborative", "neighbours", "content", "popularity"):
                index, _ = top_k(np.where(seen, -np.inf, matrices[name]), self.candidates)
                np.put_along_axis(candidates, index, True, axis=1)
            candidates &= ~seen
            for kind, mask in (("seen", seen), ("new", candidates)):
                samples[kind][0].append(np.stack([matrices[name][mask] for name in FEATURES], axis=1))
                samples[kind][1].append(labels[mask])
        return True

    def _score(self, rows: np.ndarray) -> np.ndarray:
        signal_rows = self.signal_rows[rows]
        seen_score = np.full((len(rows), len(self.vocabulary.products)), self.weights["seen"][-1], np.float32)
        new_score = np.full_like(seen_score, self.weights["new"][-1])
        seen = self.signals.seen(signal_rows)
        seen_features = []
        for i, (_, matrix) in enumerate(self.signals.features(signal_rows)):
            seen_score += self.weights["seen"][i] * matrix
            new_score += self.weights["new"][i] * matrix
            if self.seen_model is not None:
                seen_features.append(matrix[seen])
        if self.seen_model is not None and seen.any():
            # Boosted trees rank re-orders; they only ever see the (sparse) pairs the customer bought before.
            boosted = self.seen_model.predict(np.stack(seen_features, axis=1), raw_score=True)
            # "both" averages the two log-odds: steadier than either alone across data sets.
            seen_score[seen] = boosted if self.seen_model_kind == "gbm" else (seen_score[seen] + boosted) / 2
        return np.where(seen, seen_score, new_score)

    def feature_weights(self) -> pd.DataFrame:
        """The learned weight of each signal for products already bought (seen) and new to the customer."""
        return pd.DataFrame({kind: weights for kind, weights in self.weights.items()}, index=[*FEATURES, "intercept"])

    def _item_similarity(self, column: int) -> np.ndarray:
        neighbours = self.signals.components["neighbours"]
        _, column_map = self.signals.maps["neighbours"]
        similarity = np.zeros(self.vocabulary.n_products, dtype=np.float32)
        inner = neighbours.vocabulary.product_columns([self.vocabulary.products[column]])[0]
        if inner >= 0:
            keep = column_map >= 0
            similarity[column_map[keep]] = neighbours._item_similarity(inner)[keep]
        return similarity


def _fit_gbm(features: np.ndarray, labels: np.ndarray, random_state: int):
    """A small LightGBM classifier whose raw score is a log-odds, comparable with the logistic models."""
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
        n_jobs=2,
        verbose=-1,
    )
    model.fit(features, labels)
    return model
