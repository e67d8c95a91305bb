"""Behavioural clusters: k-means over standardized log RFM, tenure, basket and rhythm features and, when the
order lines carry them, the category mix and discount use (``audience/mix.py``).

Every feature is standardized and weighs one in the distance, except the spend shares, which share a weight of
``CATEGORY_MIX_WEIGHT`` between them: at one each, seven shares outvote the behaviour they add to, and on the
demo store every cluster became a category persona that no longer said who is lapsed or discount-driven.
k is chosen by the best silhouette score for k in 2..6 (on a sample of at most 2,000 customers, so the choice
stays fast), a stated criterion that prefers well-separated groups over many small ones. Each cluster is then
described in words by the features on which its centre stands furthest from the average customer: adjectives
for behaviour and discount use ("discount-driven, lapsed customers") and, when its customers spend more than
others on a category, that category ("frequent, fast-cycle coffee buyers"; "mostly" when over half their spend).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import pairwise_distances, silhouette_score

from audience.mix import DISCOUNTED_SHARE, OTHER, category_of

CLUSTER_FEATURES = {
    # feature: (word when high, word when low)
    "recency_days": ("lapsed", "recent"),
    "frequency": ("frequent", "occasional"),
    "monetary": ("big-basket", "small-basket"),
    "tenure_days": ("long-standing", "newer"),
    "lines_per_order": ("wide-basket", "narrow-basket"),
    "mean_gap_days": ("slow-cycle", "fast-cycle"),
}
MIX_WORDS = {DISCOUNTED_SHARE: ("discount-driven", "full-price")}
CATEGORY_MIX_WEIGHT = 3.0  # the category mix weighs as much as three behavioural features together
K_RANGE = range(2, 7)
SILHOUETTE_SAMPLE = 2000
DISTINGUISHING = 0.25  # standard deviations from the average customer before a feature describes a cluster


@dataclass
class ClusterResult:
    labels: pd.Series  # cluster number per customer
    descriptions: dict[int, str]
    k: int
    silhouettes: dict[int, float]


def _share_columns(columns: pd.Index) -> list[str]:
    return [column for column in columns if category_of(column) is not None]


def _standardized(features: pd.DataFrame) -> pd.DataFrame:
    behaviour = np.log1p(features.reindex(columns=list(CLUSTER_FEATURES)).astype(float).clip(lower=0))
    mix = [column for column in features.columns if column in MIX_WORDS or category_of(column) is not None]
    matrix = behaviour.join(features[mix].astype(float))  # shares: already on one scale, not logged
    matrix = matrix.fillna(matrix.median()).fillna(0.0)
    spread = matrix.std(ddof=0)
    spread[spread < 1e-9] = 1.0  # a constant feature: its rounding noise must not read as a deviation
    return (matrix - matrix.mean()) / spread


def _weights(columns: pd.Index) -> pd.Series:
    """Each standardized feature's factor in the distance: 1, the spend shares sharing ``CATEGORY_MIX_WEIGHT``."""
    weights = pd.Series(1.0, index=columns)
    shares = _share_columns(columns)
    if shares:
        weights[shares] = np.sqrt(CATEGORY_MIX_WEIGHT / len(shares))
    return weights


def _buyers(category: str, share: float) -> str:
    mostly = "mostly " if share > 0.5 else ""
    if category == OTHER:
        return f"buyers of {mostly}smaller categories"
    return f"{mostly}{category.lower()} buyers"


def describe(centre: pd.Series, shares: pd.Series, n: int = 2) -> str:
    """Words for a cluster from its ``centre`` (standardized features) and its customers' mean spend ``shares``
    (by spend-share column): an adjective for each of its ``n`` most distinguishing behaviours (discount use
    among them), and the category its customers spend more on than other customers do, if any."""
    distinguishing = centre[centre.abs() > DISTINGUISHING].abs().sort_values(ascending=False).index
    behaviours = [name for name in distinguishing if category_of(name) is None][:n]
    words = [{**CLUSTER_FEATURES, **MIX_WORDS}[name][0 if centre[name] > 0 else 1] for name in behaviours]
    bought_more = [name for name in distinguishing if category_of(name) is not None and centre[name] > 0]
    if not bought_more:
        return ", ".join(words) + " customers" if words else "average customers"
    noun = _buyers(category_of(bought_more[0]), float(shares[bought_more[0]]))
    return ", ".join([*words, noun]) if noun.startswith("mostly") else " ".join([", ".join(words), noun]).strip()


def cluster_customers(features: pd.DataFrame, random_state: int = 0) -> ClusterResult:
    """Cluster customers (rows of ``features``, which holds some of ``CLUSTER_FEATURES`` and any columns of
    ``audience.mix.mix_features``)."""
    standardized = _standardized(features)
    weights = _weights(standardized.columns)
    matrix = standardized * weights
    if len(matrix) < 10:
        labels = pd.Series(0, index=features.index, name="cluster")
        return ClusterResult(labels, {0: "all customers"}, 1, {})
    rng = np.random.default_rng(random_state)
    sample = matrix.iloc[rng.choice(len(matrix), size=min(len(matrix), SILHOUETTE_SAMPLE), replace=False)]
    # The sample's distances, taken once for every k's silhouette (each took them again): the same matrix as
    # silhouette_score's own, whose one chunk of at most 2,000 rows is the sample whole. KMeans is given the
    # C-ordered array it made of the frame at each fit (the frame's checks were a tenth of the clusters' time).
    distances = pairwise_distances(sample, metric="euclidean")
    points = np.ascontiguousarray(sample.to_numpy(dtype=np.float64))
    silhouettes, models = {}, {}
    for k in K_RANGE:
        if k >= len(sample):
            break
        model = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(points)
        if len(set(model.labels_)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(distances, model.labels_, metric="precomputed"))
        models[k] = model
    k = max(silhouettes, key=silhouettes.get)
    # Described in standard deviations, before weighting; numbered by the recency of their centre, so cluster 0
    # is always the most recently active one.
    centres = pd.DataFrame(models[k].cluster_centers_, columns=matrix.columns) / weights
    order = centres["recency_days"].sort_values().index.tolist()
    renumber = {old: new for new, old in enumerate(order)}
    found = pd.Series(models[k].predict(np.ascontiguousarray(matrix.to_numpy(dtype=np.float64))), index=features.index)
    shares = features[_share_columns(features.columns)].groupby(found).mean().reindex(order)
    labels = found.map(renumber).rename("cluster")
    descriptions = {renumber[old]: describe(centres.loc[old], shares.loc[old]) for old in order}
    return ClusterResult(labels, descriptions, k, silhouettes)
