"""Behavioural clusters: groups that are there are found, and each is described by what sets it apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from audience.clusters import cluster_customers


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
