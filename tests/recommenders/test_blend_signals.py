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


class PandasGroupedSignals(Signals):
    """The signals read from the lines as they were computed before the groupings moved to numpy: with pandas'
    named aggregations on a frame of every line (the reference each of them must equal to the bit)."""

    def _learn_history_signals(self, lines: pd.DataFrame, blend) -> None:
        import scipy.sparse as sp

        per_pair, newest, order_days = self._read_lines(lines, blend)
        shape = (len(self.customers), len(self.product_index))
        pair_rows, pair_columns = per_pair.index.get_level_values(0), per_pair.index.get_level_values(1)

        def pair_matrix(values: np.ndarray) -> sp.csr_matrix:
            return sp.csr_matrix((values.astype(np.float32), (pair_rows, pair_columns)), shape=shape)

        self.freshness = pair_matrix(np.exp(-per_pair["age"].to_numpy() / blend.half_life_days))
        self.freshness_short = pair_matrix(np.exp(-per_pair["age"].to_numpy() / 14.0))
        buyers = np.bincount(pair_columns, minlength=shape[1])
        repeaters = np.bincount(pair_columns[per_pair["days"].to_numpy() > 1], minlength=shape[1])
        self.repeat_rate = ((repeaters + 0.1) / (buyers + 1.0)).astype(np.float32)
        self.bought = pair_matrix(per_pair["days"].to_numpy())
        self.decayed = pair_matrix(per_pair["decayed"].to_numpy())
        repeated = per_pair["days"].to_numpy() > 1
        gap = (per_pair["first"] - per_pair["age"]).to_numpy() / np.maximum(per_pair["days"].to_numpy() - 1, 1)
        ratio = (per_pair["age"].to_numpy() + 1.0) / (gap + 1.0)
        self.due = pair_matrix(np.where(repeated, np.exp(-np.abs(np.log(ratio))), 0.0) + 1e-6)
        self.due_lateness = pair_matrix(np.where(repeated, np.log(ratio), 0.0) + 1e-6)
        product_gap = pd.Series(gap[repeated]).groupby(pair_columns[repeated]).median()
        product_gap = product_gap.reindex(np.arange(shape[1])).fillna(365.0).to_numpy()
        self.product_due = pair_matrix(
            np.log((per_pair["age"].to_numpy() + 1.0) / (product_gap[pair_columns] + 1.0)) + 1e-6
        )
        self.first_bought = pair_matrix(np.log1p(per_pair["first"].to_numpy()) + 1e-6)
        self.in_last_order = pair_matrix(
            (per_pair["age"].to_numpy() - newest.reindex(pair_rows).to_numpy() < 1.0).astype(float) + 1e-6
        )
        self.basket_share = pair_matrix(per_pair["days"].to_numpy() / np.maximum(order_days[pair_rows], 1))
        basket_lines = np.bincount(pair_rows, weights=per_pair["days"].to_numpy(), minlength=shape[0])
        customer_basket = np.log1p(basket_lines / np.maximum(order_days, 1))
        self.customer_basket = pair_matrix(customer_basket[pair_rows] + 1e-6)
        totals = np.asarray(self.decayed.sum(axis=1)).ravel()
        self.decayed_share = sp.diags(1.0 / np.maximum(totals, 1e-9)).dot(self.decayed).tocsr()
        self.breadth = np.log1p(np.diff(self.bought.indptr)).astype(np.float32)

    def _read_lines(self, lines: pd.DataFrame, blend):

        shape = (len(self.customers), len(self.product_index))
        rows = self.rows_of(lines["customer_id"].to_numpy())
        columns = lines["product_id"].to_numpy().astype(np.intp)
        age = ((self.now - lines["timestamp"]).dt.total_seconds().to_numpy() / 86400.0).astype(np.float32)
        pairs = pd.DataFrame({"r": rows, "c": columns, "age": age, "day": lines["timestamp"].dt.normalize().to_numpy()})
        pairs["decayed"] = np.exp(-age / blend.half_life_days)
        per_pair = pairs.groupby(["r", "c"]).agg(
            age=("age", "min"), first=("age", "max"), days=("day", "nunique"), decayed=("decayed", "sum")
        )
        newest = pairs.groupby("r")["age"].min()
        order_days = pairs.groupby("r")["day"].nunique().reindex(np.arange(shape[0]), fill_value=0).to_numpy()
        self.customer_orders = np.log1p(order_days).astype(np.float32)
        span = (pairs.groupby("r")["age"].max() - pairs.groupby("r")["age"].min()).reindex(np.arange(shape[0]))
        usual_gap = span.fillna(0).to_numpy() / np.maximum(order_days - 1, 1)
        since = newest.reindex(np.arange(shape[0])).fillna(0).to_numpy()
        self.customer_due = np.where(
            order_days > 1, np.exp(-np.abs(np.log((since + 1.0) / (usual_gap + 1.0)))), 0.0
        ).astype(np.float32)
        timestamps = lines["timestamp"].to_numpy()
        # The window signals (popularity, season, last season) are not groupings: compared with their reading on the
        # ids in test_popularity_and_season_signals_match_their_reading_on_the_ids.
        last_seen = pd.Series(timestamps).groupby(rows).max().reindex(np.arange(shape[0])).to_numpy()
        days = (self.now.to_datetime64() - last_seen) / np.timedelta64(1, "D")
        self.customer_recency = np.exp(-days / blend.half_life_days).astype(np.float32)
        return per_pair, newest, order_days


def repeat_buying_shop() -> pd.DataFrame:
    """Lines at any second over 15 months, where some pairs run to hundreds of lines (the compensated sums of their
    decayed counts differ from plain ones there), several lines a day, and customers who bought on one day only."""
    rng = np.random.default_rng(3)
    size = 6000
    customer = rng.integers(0, 120, size)
    product = np.where(customer < 10, rng.integers(0, 3, size), rng.integers(0, 70, size))  # a few loyal buyers
    lines = pd.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in customer],
            "product_id": [f"p{i:02d}" for i in product],
            "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 450 * 86400, size), unit="s"),
        }
    )
    once = pd.DataFrame({"customer_id": ["solo"] * 3, "product_id": ["p01", "p02", "p01"]}).assign(
        timestamp=pd.Timestamp("2023-06-01 10:00")
    )
    return validate_interactions(pd.concat([lines, once], ignore_index=True))


def test_the_signals_read_from_the_lines_equal_pandas_groupings_of_them_to_the_bit():
    """The history signals are grouped with numpy on the lines' codes (a build runs once per window, and pandas'
    fixed costs were most of it on small shops): every one of them, each window's and the whole history's, equals
    what pandas' groupings gave, value for value and in the same dtype and layout."""
    import scipy.sparse as sp

    for lines in (repeat_buying_shop(), seasonal_shop()):
        blend = BlendRecommender(holdout_days=30, popularity_days=60, half_life_days=60)
        customers = pd.Index(sorted(lines["customer_id"].unique()), dtype=object)
        products = pd.Index(sorted([*lines["product_id"].unique(), "zz unsold"]), dtype=object)
        coded = CodedLines.of(lines, Vocabulary(customers, products))
        cutoff = lines["timestamp"].min() + pd.Timedelta(days=200)
        for part in (coded, coded.where(coded.frame["timestamp"] < cutoff)):
            numpy_read, pandas_read = Signals(part, None, blend), PandasGroupedSignals(part, None, blend)
            compared = set()
            for name, expected in vars(pandas_read).items():
                got = getattr(numpy_read, name)
                if sp.issparse(expected):
                    assert got.format == expected.format == "csr" and got.dtype == expected.dtype, name
                    assert got.shape == expected.shape and got.indices.dtype == expected.indices.dtype, name
                    np.testing.assert_array_equal(got.indptr, expected.indptr, err_msg=name)
                    np.testing.assert_array_equal(got.indices, expected.indices, err_msg=name)
                    np.testing.assert_array_equal(got.data, expected.data, err_msg=name, strict=True)
                    compared.add(name)
                elif isinstance(expected, np.ndarray):
                    np.testing.assert_array_equal(got, expected, err_msg=name, strict=True)
                    compared.add(name)
            pair_signals = {"bought", "freshness", "freshness_short", "decayed", "decayed_share", "due"}
            pair_signals |= {"in_last_order", "basket_share", "due_lateness", "product_due", "customer_basket"}
            per_customer = {"breadth", "customer_recency", "customer_orders", "customer_due", "customer_codes"}
            assert compared == pair_signals | per_customer | {"first_bought", "repeat_rate"}
    # The long runs are there: summed plainly in float32, some pair's decayed count would come out different.
    lines = repeat_buying_shop()
    age = ((lines["timestamp"].max() - lines["timestamp"]).dt.total_seconds() / 86400.0).astype(np.float32)
    decayed = pd.Series(np.exp(-age.to_numpy() / 60.0))
    pairs = [lines["customer_id"].to_numpy(), lines["product_id"].to_numpy()]
    plain = decayed.groupby(pairs).agg(lambda values: np.add.reduce(values.to_numpy(), dtype=np.float32))
    assert (plain != decayed.groupby(pairs).sum()).any()


def test_the_catalog_s_texts_taken_from_another_window_are_those_joined_for_its_own_products():
    """A blend's windows read the catalog's texts for each window's products: joined once per fit for the catalog and
    kept with it, they are the texts a join for those products gives; another catalog's are never taken."""
    from recommenders.content import product_texts

    catalog = pd.DataFrame(
        {
            "product_id": ["p3", "p1", "p2", "p1"],
            "name": ["tin", "red scarf", None, "a later duplicate"],
            "category": ["kitchen", "wool", "wool", "wool"],
        }
    )
    shared: dict = {}
    for ids in (["p1", "p2", "p3"], ["p3", "zz unknown", "p1"], ["p2"]):
        taken = product_texts(catalog, pd.Index(ids, dtype=object), shared)
        assert taken == product_texts(catalog, pd.Index(ids, dtype=object)) and shared["catalog_texts"][0] is catalog
    assert product_texts(catalog, pd.Index(["p1", "p2", "p3"], dtype=object)) == [
        "red scarf wool",
        " wool",
        "tin kitchen",
    ]
    renamed = catalog.assign(name=["tin", "blue scarf", None, "a later duplicate"])
    assert product_texts(renamed, pd.Index(["p1"], dtype=object), shared) == ["blue scarf wool"]
    assert shared["catalog_texts"][0] is renamed


def test_each_part_read_at_the_seen_and_the_new_pairs_is_its_lookup_there_to_the_bit():
    """`Signals.at` reads a pair part at the pairs it holds from its data, and at the pairs a customer never
    interacted with as 0, where it looked every one up (a third of the blend's window samples' time outside their
    fits): the values are those of the lookup, to the bit, for every part (``last_season`` holds only some of the
    pairs, ``bought_share`` is float64, before float32), and positions other than those still get the lookup."""
    lines = seasonal_shop()
    blend = BlendRecommender(holdout_days=30, popularity_days=60, half_life_days=60)
    products = pd.Index(sorted(lines["product_id"].unique()), dtype=object)
    customers = pd.Index(sorted(lines["customer_id"].unique()), dtype=object)
    signals = Signals(CodedLines.of(lines, Vocabulary(customers, products)), None, blend)
    rows = np.array([5, 0, 17, 3, 60, 61])
    seen = signals.seen(rows)
    positions = {
        "seen": signals.seen_positions(rows),
        "unseen": np.nonzero(~seen),
        "some seen": tuple(axis[::3] for axis in np.nonzero(seen)),
    }
    pair_parts = [(name, values) for name, kind, values in signals.parts(rows) if kind == "pair"]
    assert len(pair_parts) == 13
    for label, (at_rows, at_columns) in positions.items():
        assert len(at_rows)
        for name, values in pair_parts:
            looked_up = np.asarray(values[at_rows, at_columns], dtype=np.float32).ravel()
            read = Signals.at("pair", values, at_rows, at_columns, unseen=label == "unseen")
            assert read.dtype == np.float32 and read.tobytes() == looked_up.tobytes(), (label, name)
