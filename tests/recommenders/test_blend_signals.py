"""The blend's per-window popularity and season signals, computed from line codes, equal their plain pandas reading."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommenders.blend import BlendRecommender
from recommenders.blend_signals import Signals
from recommenders.interactions import CodedLines, Vocabulary, validate_interactions


def seasonal_shop() -> pd.DataFrame:
    """Lines over 15 months, with repeat pairs, several lines at the newest moment and string ids throughout."""
    rng = np.random.default_rng(7)
    size = 3000
    lines = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in rng.integers(0, 80, size)],
            "product_id": [f"p{i}" for i in rng.integers(0, 40, size)],
            "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 450, size), unit="D"),
        }
    )
    newest = lines["timestamp"].max()
    at_newest = pd.DataFrame({"customer_id": ["c1", "c2", "c2"], "product_id": ["p1", "p1", "p2"]}).assign(
        timestamp=newest
    )
    return validate_interactions(pd.concat([lines, at_newest], ignore_index=True))


def buyers(lines: pd.DataFrame, products: pd.Index, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """log(1 + distinct customers) per product over [start, end), read with pandas on the ids."""
    window = lines[(lines["timestamp"] >= start) & (lines["timestamp"] < end)]
    counts = window.drop_duplicates(["customer_id", "product_id"])["product_id"].value_counts()
    return np.log1p(counts.reindex(products, fill_value=0).to_numpy()).astype(np.float32)


def test_popularity_and_season_signals_match_their_reading_on_the_ids():
    lines = seasonal_shop()
    blend = BlendRecommender(holdout_days=30, popularity_days=60, half_life_days=60)
    # A catalog product nobody bought sits in the middle of the index: its counts are zero.
    products = pd.Index(sorted([*lines["product_id"].unique(), "p20x"]), dtype=object)
    customers = pd.Index(sorted(lines["customer_id"].unique()), dtype=object)
    signals = Signals(CodedLines.of(lines, Vocabulary(customers, products)), None, blend)

    now = lines["timestamp"].max()
    season_start = now - pd.Timedelta(days=365)
    season_end = season_start + pd.Timedelta(days=30)
    popularity = buyers(lines, products, now - pd.Timedelta(days=60), now)
    popularity_now = buyers(lines, products, now - pd.Timedelta(days=14), now)
    season = buyers(lines, products, season_start, season_end)
    before_season = buyers(lines, products, season_start - pd.Timedelta(days=30), season_start)
    np.testing.assert_array_equal(signals.popularity, popularity)
    np.testing.assert_array_equal(signals.popularity_now, popularity_now)
    np.testing.assert_array_equal(signals.season_popularity, season)
    np.testing.assert_array_equal(signals.season_growth, season - before_season)
    np.testing.assert_array_equal(signals.popularity_trend, popularity_now - popularity)
    assert signals.popularity[products.get_loc("p20x")] == 0.0

    in_season = lines[(lines["timestamp"] >= season_start) & (lines["timestamp"] < season_end)]
    bought_in_season = set(zip(in_season["customer_id"], in_season["product_id"], strict=True))
    rows, columns = signals.last_season.nonzero()
    assert {(signals.customers[r], products[c]) for r, c in zip(rows, columns, strict=True)} == bought_in_season
    assert (signals.last_season.data == 1.0).all()

    last_seen = lines.groupby("customer_id")["timestamp"].max().reindex(signals.customers)
    days = (now - last_seen).dt.total_seconds().to_numpy() / 86400.0
    np.testing.assert_allclose(signals.customer_recency, np.exp(-days / 60), rtol=1e-6)


def test_the_catalog_s_text_vectors_taken_from_another_window_are_those_fitted_on_its_own_order():
    """A blend's windows fit their content models on the catalog's texts in each window's product order: the TF-IDF
    vectors fitted once and put in another order are the ones a fit in that order gives, to the bit."""
    import scipy.sparse as sp

    from recommenders.content import _vectorised

    texts = ["red wool scarf", "blue wool hat", "", "red candle", "blue wool hat", "tin candle holder red"]
    settings = (2, 1, 50_000)
    shared: dict = {}
    first = _vectorised(texts, settings, shared)
    for order in ([5, 4, 3, 2, 1, 0], [2, 0, 4, 1, 5, 3]):
        reordered = [texts[i] for i in order]
        taken, fitted = _vectorised(reordered, settings, shared), _vectorised(reordered, settings, None)
        assert shared["key"][1] == tuple(sorted(texts)) and (taken != fitted).nnz == 0
        assert (taken != first[order]).nnz == 0 and sp.isspmatrix_csr(taken) and taken.dtype == np.float32
    other = _vectorised([*texts, "one more"], settings, shared)  # other texts: fitted on them, not taken
    assert other.shape[0] == 7 and (other != _vectorised([*texts, "one more"], settings, None)).nnz == 0
