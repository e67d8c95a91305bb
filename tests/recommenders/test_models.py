"""Each registered model meets the contract; plus what is special about some of them."""

from __future__ import annotations

from concurrent.futures import Executor, Future

import numpy as np
import pandas as pd
import pytest

from recommenders.registry import create
from tests.recommenders.contract import RecommenderContract, checkerboard


class TestALS(RecommenderContract):
    model_name = "als"
    params = {"factors": 2, "iterations": 20}


class TestBPR(RecommenderContract):
    model_name = "bpr"
    params = {"factors": 2, "iterations": 200, "learning_rate": 0.05}


class TestItemKNNCosine(RecommenderContract):
    model_name = "item_knn"


class TestBM25(RecommenderContract):
    model_name = "bm25"


class TestPopularity(RecommenderContract):
    model_name = "popularity"
    popularity_ranked = True
    personalised = False


class TestSegmentPopularity(RecommenderContract):
    model_name = "segment_popularity"
    popularity_ranked = True


class TestRepeatPurchase(RecommenderContract):
    model_name = "repeat_purchase"
    popularity_ranked = True
    personalised = False

    def test_recommends_the_customers_own_most_bought_products_first(self, model):
        recs = model.recommend(["c0"], k=2, exclude_seen=False)
        # c0 skips a0 and bought a4 with the largest quantity, but quantity is ignored by default: the
        # most recent line wins through recency decay.
        assert set(recs["product_id"]) <= {"a1", "a2", "a3", "a4"}
        assert recs["product_id"].iloc[0] == "a4"


class TestAuto(RecommenderContract):
    model_name = "auto"


def test_popularity_ranks_by_number_of_customers():
    interactions, _, _ = checkerboard()
    extra = interactions[interactions["product_id"] == "b2"].assign(customer_id=lambda f: "x" + f["customer_id"])
    model = create("popularity").fit(pd.concat([interactions, extra]))
    assert model.recommend(["nobody"], k=1)["product_id"].tolist() == ["b2"]


class TestEASE(RecommenderContract):
    model_name = "ease"
    params = {"regularization": 1.0}


class TestContent(RecommenderContract):
    model_name = "content"

    def test_recommends_catalog_products_nobody_bought(self, data):
        interactions, catalog, _ = data
        catalog = pd.concat(
            [
                catalog,
                pd.DataFrame(
                    {"product_id": ["new-rose"], "name": ["red rose fresh"], "description": ["red flower petals"]}
                ),
            ]
        )
        model = create("content").fit(interactions, catalog)
        recs = model.recommend(["c0"], k=5)
        assert "new-rose" in set(recs["product_id"])
        assert "new-rose" not in set(model.recommend(["d0"], k=5)["product_id"])

    def test_needs_a_catalog(self, data):
        from recommenders.errors import FitFailed

        with pytest.raises(FitFailed, match="catalog"):
            create("content").fit(data[0])


class TestBlend(RecommenderContract):
    model_name = "blend"
    popularity_ranked = True
    params = {"collaborative_params": {"regularization": 1.0}}


def test_auto_picks_by_the_shape_of_the_data():
    from recommenders.auto import choose

    interactions, _, _ = checkerboard()
    assert choose(interactions)[0] == "ease"
    assert choose(interactions.head(10))[0] == "popularity"
    again = interactions.assign(timestamp=interactions["timestamp"] + pd.Timedelta(days=120))
    assert choose(pd.concat([interactions, again]))[0] == "blend"
    assert choose(interactions, max_products_for_ease=5)[0] == "als"


def replenishment_shop(n_customers: int = 60, days: int = 200) -> pd.DataFrame:
    """Each customer re-buys one staple every 20 days and tries a random other product now and then."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(n_customers):
        staple = f"s{c % 6}"
        for day in range(c % 20, days, 20):
            rows.append((f"u{c}", staple, day))
            if rng.random() < 0.5:
                rows.append((f"u{c}", f"o{rng.integers(0, 30)}", day))
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "day"])
    frame["timestamp"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(frame.pop("day"), unit="D")
    return frame


def test_blend_learns_that_staples_come_back():
    shop = replenishment_shop()
    model = create("blend", holdout_days=30, training_windows=1).fit(shop)
    assert model.learned
    weights = model.feature_weights()
    assert list(weights.columns) == ["seen", "new"] and "bought_count" in weights.index
    recs = model.recommend([f"u{c}" for c in range(12)], k=1, exclude_seen=False)
    assert (recs["product_id"] == [f"s{c % 6}" for c in range(12)]).all()


def test_blend_fits_a_shop_of_one_product():
    """A shop that sells one thing (CDNOW's lines name no album) leaves no product new to anyone: the weights'
    windows then pick no "new" sample, which once crashed the training instead of keeping the fixed weights."""
    shop = replenishment_shop()
    shop["product_id"] = "cd"
    model = create("blend", holdout_days=30, training_windows=1).fit(shop)
    recs = model.recommend(["u0", "u1"], k=3, exclude_seen=False)
    assert recs["product_id"].tolist() == ["cd", "cd"]
    assert model.recommend(["u0"], k=3).empty


def test_blend_falls_back_to_fixed_weights_on_thin_data():
    interactions, catalog, _ = checkerboard()
    model = create("blend").fit(interactions, catalog)
    assert not model.learned


def test_blend_fits_on_one_thread(monkeypatch):
    """Threads spinning beside another busy process made the blend's fits many times slower: BLAS, OpenMP
    and LightGBM each get one thread while it fits."""
    from threadpoolctl import threadpool_info

    import recommenders.blend as blend

    threads_while_fitting = []
    learn_weights = blend.BlendRecommender._learn_weights

    def spy(self, lines, products, background):
        threads_while_fitting.extend(pool["num_threads"] for pool in threadpool_info())
        return learn_weights(self, lines, products, background)

    monkeypatch.setattr(blend.BlendRecommender, "_learn_weights", spy)
    model = create("blend", holdout_days=30, training_windows=2).fit(replenishment_shop())

    assert threads_while_fitting and set(threads_while_fitting) == {1}
    assert model.seen_model is not None and model.seen_model.get_params()["n_jobs"] == 1


def test_blend_fits_its_trees_beside_the_final_signals(monkeypatch):
    """The boosted trees and the signals on all the data are independent: the trees fit in a second thread
    while the signals are computed (here the trees wait until the last signals have begun: run one after the
    other, they would wait in vain)."""
    import threading

    from threadpoolctl import threadpool_info

    import recommenders.blend as blend

    shop = replenishment_shop()
    threads = []
    signals_on_everything = threading.Event()
    seen_by_the_trees = []
    fit_gbm, signals = blend._fit_gbm, blend.Signals

    def trees(features, labels, random_state):
        seen_by_the_trees.append((threading.current_thread().name, signals_on_everything.wait(timeout=60)))
        threads.extend(pool["num_threads"] for pool in threadpool_info())  # OpenMP's limit is per thread
        return fit_gbm(features, labels, random_state)

    class SpiedSignals(signals):
        def __init__(self, coded, *args):
            if coded.frame["timestamp"].max() == shop["timestamp"].max():  # the windows' end before it
                signals_on_everything.set()
            super().__init__(coded, *args)

    monkeypatch.setattr(blend, "_fit_gbm", trees)
    monkeypatch.setattr(blend, "Signals", SpiedSignals)
    model = create("blend", holdout_days=30, training_windows=2).fit(shop)

    assert len(seen_by_the_trees) == 1
    thread, overlapped = seen_by_the_trees[0]
    assert thread.startswith("blend-trees") and overlapped
    assert threads and set(threads) == {1}
    assert model.seen_model is not None and model.recommend(["u0"], k=3)["product_id"].notna().all()


class _RunAtOnce(Executor):
    """An executor that runs each task when it is submitted, in the caller's thread: one thing at a time."""

    def __init__(self, *args, **kwargs):
        pass

    def submit(self, work, /, *args, **kwargs):
        future = Future()
        future.set_result(work(*args, **kwargs))
        return future


def test_blend_learns_from_two_windows_at_a_time_what_it_learns_from_one_at_a_time(monkeypatch):
    """Every second window is computed in the second thread and the samples are joined in window order: the
    weights and trees are those of the windows computed one after the other."""
    import threading

    import recommenders.blend as blend

    shop = replenishment_shop()
    window_threads = {}
    window_samples = blend.BlendRecommender._window_samples

    def spy(self, lines, end, products):
        window_threads[end] = threading.current_thread().name
        return window_samples(self, lines, end, products)

    monkeypatch.setattr(blend.BlendRecommender, "_window_samples", spy)
    two_at_a_time = create("blend", holdout_days=30, training_windows=4).fit(shop)
    names = [window_threads[end] for end in sorted(window_threads, reverse=True)]  # window 1 ends last
    assert [name.startswith("blend-trees") for name in names] == [False, True, False, True]

    monkeypatch.setattr(blend, "ThreadPoolExecutor", _RunAtOnce)
    one_at_a_time = create("blend", holdout_days=30, training_windows=4).fit(shop)
    for kind in ("seen", "new"):
        np.testing.assert_array_equal(two_at_a_time.weights[kind], one_at_a_time.weights[kind])
    features = np.random.default_rng(0).random((300, len(blend.FEATURES))).astype(np.float32)
    np.testing.assert_array_equal(
        two_at_a_time.seen_model.predict(features, raw_score=True),
        one_at_a_time.seen_model.predict(features, raw_score=True),
    )


def test_blend_fit_raises_what_its_trees_raise(monkeypatch):
    """A failure in the background fit of the trees fails the blend's fit; it is not lost with the thread."""
    import recommenders.blend as blend

    def broken(features, labels, random_state):
        raise MemoryError("no room for the trees")

    monkeypatch.setattr(blend, "_fit_gbm", broken)
    with pytest.raises(MemoryError, match="no room for the trees"):
        create("blend", holdout_days=30, training_windows=2).fit(replenishment_shop())


@pytest.mark.parametrize("name", ["ease", "bm25", "content"])
def test_fit_shared_recommends_what_fit_does(name):
    """The blend fits its signal models on shared prepared (and coded) lines; each must learn what it learns alone."""
    from recommenders.interactions import CodedLines, Preparation, SharedLines, prepare

    interactions, catalog, _ = checkerboard()
    _, vocabulary, lines = prepare(interactions, Preparation())
    shared = SharedLines(CodedLines.of(lines, vocabulary))
    alone = create(name).fit(interactions, catalog)
    together = create(name).fit_shared(shared, catalog)
    customers = interactions["customer_id"].unique()
    pd.testing.assert_frame_equal(alone.recommend(customers, k=5), together.recommend(customers, k=5))


def test_blend_explains_a_pick_by_every_component_that_ranked_it():
    """The blend ranks a product by its collaborative, neighbour and content scores, and explained it by the
    neighbours alone, which link a product to its nearest only: on a real Online Retail slice 49 of 1,587 picks
    (LUNCH BAG VINTAGE LEAF DESIGN ...) cited no purchase. Here "a5", in the catalog but bought by no one, reads like
    what the red customers bought and is ranked higher for them by its content: its reasons are those purchases."""
    interactions, catalog, _ = checkerboard()
    unsold = {"product_id": "a5", "name": "red rose", "category": "garden", "description": "red flower petals"}
    catalog = pd.concat([catalog, pd.DataFrame([{**unsold, "price": 5.0, "in_stock": True}])], ignore_index=True)
    model = create("blend").fit(interactions, catalog)
    scores = model.recommend(["c0", "d0"], k=11).set_index(["customer_id", "product_id"])["score"]
    assert scores["c0", "a5"] > scores["d0", "a5"]  # its content lifts it for the red customers
    reasons = model.explain("c0", "a5", n=3)
    assert len(reasons) == 3 and set(reasons) <= set(model.purchased_products("c0"))
    assert model.explain("d0", "a5") == []  # the blue customers bought nothing like it
