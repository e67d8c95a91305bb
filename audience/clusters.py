"""Behavioural clusters: k-means over standardized log RFM, tenure, basket and rhythm features.

k is chosen by the best silhouette score for k in 2..6 (on a sample of at most 2,000 customers, so the choice
stays fast), a stated criterion that prefers well-separated groups over many small ones. Each cluster is then
described in words by the features on which its centre stands furthest from the average customer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

CLUSTER_FEATURES = {
    # feature: (word when high, word when low)
    "recency_days": ("lapsed", "recent"),
    "frequency": ("frequent", "occasional"),
    "monetary": ("big-basket", "small-basket"),
    "tenure_days": ("long-standing", "newer"),
    "lines_per_order": ("wide-basket", "narrow-basket"),
    "mean_gap_days": ("slow-cycle", "fast-cycle"),
}
K_RANGE = range(2, 7)
SILHOUETTE_SAMPLE = 2000


@dataclass
class ClusterResult:
    labels: pd.Series  # cluster number per customer
    descriptions: dict[int, str]
    k: int
    silhouettes: dict[int, float]


def _matrix(features: pd.DataFrame) -> pd.DataFrame:
    matrix = features.reindex(columns=list(CLUSTER_FEATURES)).astype(float)
    matrix = np.log1p(matrix.clip(lower=0))
    matrix = matrix.fillna(matrix.median()).fillna(0.0)
    spread = matrix.std(ddof=0)
    spread[spread < 1e-9] = 1.0  # a constant feature: its rounding noise must not read as a deviation
    return (matrix - matrix.mean()) / spread


def describe(centre: pd.Series, n: int = 2) -> str:
    strongest = centre.abs().sort_values(ascending=False).head(n)
    words = [CLUSTER_FEATURES[name][0 if centre[name] > 0 else 1] for name in strongest.index if strongest[name] > 0.25]
    return ", ".join(words) + " customers" if words else "average customers"


def cluster_customers(features: pd.DataFrame, random_state: int = 0) -> ClusterResult:
    """Cluster customers (rows of ``features``, which holds some of ``CLUSTER_FEATURES``)."""
    matrix = _matrix(features)
    if len(matrix) < 10:
        labels = pd.Series(0, index=features.index, name="cluster")
        return ClusterResult(labels, {0: "all customers"}, 1, {})
    rng = np.random.default_rng(random_state)
    sample = matrix.iloc[rng.choice(len(matrix), size=min(len(matrix), SILHOUETTE_SAMPLE), replace=False)]
    silhouettes, models = {}, {}
    for k in K_RANGE:
        if k >= len(sample):
            break
        model = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(sample)
        if len(set(model.labels_)) < 2:
            continue
        silhouettes[k] = float(silhouette_score(sample, model.labels_))
        models[k] = model
    k = max(silhouettes, key=silhouettes.get)
    # Number clusters by recency of their centre, so cluster 0 is always the most recently active one.
    centres = pd.DataFrame(models[k].cluster_centers_, columns=matrix.columns)
    order = centres["recency_days"].sort_values().index.tolist()
    renumber = {old: new for new, old in enumerate(order)}
    labels = pd.Series(models[k].predict(matrix), index=features.index).map(renumber).rename("cluster")
    descriptions = {renumber[old]: describe(centres.loc[old]) for old in order}
    return ClusterResult(labels, descriptions, k, silhouettes)
