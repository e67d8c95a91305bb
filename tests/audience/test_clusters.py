"""Behavioural clusters: groups that are there are found, and each is described by what sets it apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audience.clusters import cluster_customers
from audience.profiles import build_profiles
from tests.audience.conftest import AS_OF, simulated_shop


def two_groups(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Recent frequent customers and lapsed one-off customers; every order has exactly one line."""
    rng = np.random.default_rng(seed)
    recent = np.arange(n) < n // 2
    return pd.DataFrame(
        {
            "recency_days": np.where(recent, 10, 400) * rng.uniform(0.8, 1.2, n),
            "frequency": np.where(recent, 12, 1) * rng.uniform(0.8, 1.2, n),
            "monetary": rng.uniform(20, 40, n),
            "tenure_days": rng.uniform(300, 700, n),
            "lines_per_order": 1.0,
            "mean_gap_days": rng.uniform(20, 40, n),
        },
        index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"),
    )


def test_a_constant_feature_describes_no_cluster():
    features = two_groups()
    result = cluster_customers(features)
    assert result.k == 2
    assert result.labels.iloc[:30].nunique() == 1 and result.labels.iloc[30:].nunique() == 1
    assert result.descriptions == {0: "recent, frequent customers", 1: "lapsed, occasional customers"}


def tea_on_discount_shop() -> tuple[pd.DataFrame, pd.Index]:
    """The simulated shop's lines with eight categories (one per product), where every sixth customer buys only
    tea, always with a voucher, and everyone else uses one on about 3 % of lines; returns the lines and the tea
    buyers."""
    lines = simulated_shop()
    rng = np.random.default_rng(1)
    tea_buyers = pd.Index([f"S{number:04d}" for number in range(0, 400, 6)])
    buys_tea = lines["customer_id"].isin(tea_buyers)
    number = lines["product_id"].str[1:].astype(int)
    lines["product_id"] = np.where(buys_tea, "T" + (number % 4).astype(str), lines["product_id"])
    categories = np.array(["Coffee", "Cookware", "Tableware", "Linens", "Candles", "Pantry", "Gifts", "Books"])
    lines["category"] = np.where(buys_tea, "Tea", categories[number % len(categories)])
    discounted = buys_tea | (rng.random(len(lines)) < 0.03)
    lines["discount"] = np.where(discounted, (lines["amount"] * 0.15).round(2), 0.0)
    return lines, tea_buyers


def test_discounted_tea_buyers_are_found_and_named():
    lines, tea_buyers = tea_on_discount_shop()
    profiles = build_profiles(lines, AS_OF)
    labels = profiles["cluster_label"]
    found = labels[labels.index.isin(tea_buyers)]
    assert found.nunique() == 1 and (labels == found.iloc[0]).sum() <= len(found) + 5  # a few one-off vouchers
    assert found.iloc[0] == "discount-driven, mostly tea buyers"
    others = set(labels) - {found.iloc[0]}
    assert others and not any("tea" in words or "discount-driven" in words for words in others)


def test_category_and_discount_columns_that_say_nothing_change_nothing():
    lines = simulated_shop(n_customers=150)
    plain = build_profiles(lines, AS_OF)
    silent = build_profiles(lines.assign(category="", discount=0.0), AS_OF)
    assert silent[["cluster", "cluster_label"]].equals(plain[["cluster", "cluster_label"]])


def test_the_silhouettes_are_sklearn_s_own_on_the_sample():
    """The silhouettes, from the sample's distances taken once for every k, are what ``silhouette_score`` gives on
    the sample's features for each k's k-means, to the bit."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    from audience.clusters import K_RANGE, SILHOUETTE_SAMPLE, _standardized, _weights

    features = pd.concat([two_groups(n=300, seed=seed).add_prefix(f"{seed}-", axis=0) for seed in (1, 2)])
    result = cluster_customers(features)
    matrix = _standardized(features) * _weights(_standardized(features).columns)
    drawn = np.random.default_rng(0).choice(len(matrix), size=min(len(matrix), SILHOUETTE_SAMPLE), replace=False)
    sample = matrix.iloc[drawn]
    expected = {}
    for k in K_RANGE:
        labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit(sample).labels_
        expected[k] = float(silhouette_score(sample, labels))
    assert result.silhouettes == expected and result.k == max(expected, key=expected.get)
