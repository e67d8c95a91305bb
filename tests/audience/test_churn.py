"""The supervised churn model (audience.churn): its level and ranking, a small shop's seasonal shift, a big shop's
sampled snapshots, fit_predict's risks those of fit and predict_features, and a history nobody left refused."""

import numpy as np
import pandas as pd
import pytest

from audience.churn import ChurnModel
from audience.features import OrderHistory, customer_features
from audience.orders import validate_orders
from tests.audience.conftest import AS_OF


@pytest.fixture(scope="module")
def boosted(shop_orders) -> ChurnModel:
    """The trees fitted on the simulated shop with its customers' features at the as-of day, once for the tests
    that only read the model (each fit took 5-9 s of CPU); ``fit`` taking those features itself is
    tests.audience.test_profiles' model."""
    lines = validate_orders(shop_orders)
    return ChurnModel(small_shop_rows=0).fit(lines, AS_OF, customer_features(lines, AS_OF, 90))


def test_boosted_risk_keeps_the_trees_mean_and_the_blend_ranking(shop_orders, boosted):
    lines = validate_orders(shop_orders)
    model = boosted
    assert model.kind_ == "boosted_trees"
    features = customer_features(lines, AS_OF, model.horizon_days)
    risk = model.predict_features(features)
    assert risk.between(0, 1).all() and risk.index.equals(features.index)
    trees_mean = model.trees_calibrator_.predict_proba(model._log_odds(features)[:, None])[:, 1].mean()
    assert risk.mean() == pytest.approx(trees_mean, abs=1e-6)
    order = np.argsort(model._calibrated_log_odds(features, model._log_odds(features)))
    assert np.all(np.diff(risk.to_numpy()[order]) >= 0)


def test_a_small_shops_level_follows_the_churn_it_saw_a_year_earlier():
    """BG/NBD knows no season: the log-odds shift that would have matched the churn at the training cutoff
    nearest a year before (cutoff 9 with 30-day steps and a 90-day horizon), and none without enough customers."""
    from scipy.special import logit

    # p_alive 1 and an expected count of log 2 give P(no purchase) = exp(-log 2) = 0.5 for every customer.
    then = pd.DataFrame({"bgnbd_p_alive": 1.0, "bgnbd_expected": np.log(2.0), "cutoff_number": 9,
                         "churned": [1] * 80 + [0] * 20})  # fmt: skip
    other_season = then.assign(cutoff_number=0, churned=0)
    shift = ChurnModel()._season_shift(pd.concat([other_season, then]))
    assert shift == pytest.approx(logit(0.8) - logit(0.5), abs=1e-6)
    assert ChurnModel()._season_shift(then.head(49)) == 0.0


def test_a_small_shop_takes_features_at_the_cutoff_a_year_back_only_for_the_model_of_all_of_them(shop_orders):
    """A small shop's model reads, of its training snapshots, their count, their churn and the BG/NBD features at
    the cutoff a year back: it takes features there only, and is the model the whole training frame gives."""
    lines = validate_orders(shop_orders)
    model = ChurnModel(small_shop_rows=10_000_000)
    heard = []
    risk = model.fit_predict(lines, AS_OF, customer_features(lines, AS_OF, 90), lambda *told: heard.append(told))
    training = model.training_frame(lines[lines["timestamp"] < AS_OF], AS_OF)
    assert model.kind_ == "bgnbd" and training["cutoff_number"].max() >= model._year_ago()
    assert model.season_shift_ == ChurnModel()._season_shift(training) != 0.0
    assert (model.training_rows_, model.base_rate_) == (len(training), training["churned"].mean())
    assert [told[:2] for told in heard] == [(n, training["cutoff_number"].max() + 1) for n in range(1, len(heard) + 1)]
    assert risk.between(0, 1).all()


def test_a_small_shop_with_less_than_a_year_of_orders_has_no_season_shift(shop_orders):
    """With orders for less than a year, no training cutoff lies a year back: the season shift is 0, as when too
    few customers had history then (its features, taken at that cutoff only, were asked of none and missed)."""
    lines = validate_orders(shop_orders)
    lines = lines[lines["timestamp"] >= AS_OF - pd.Timedelta(days=300)]
    model = ChurnModel(small_shop_rows=10_000_000)
    risk = model.fit_predict(lines, AS_OF, customer_features(lines, AS_OF, 90))
    training = model.training_frame(lines[lines["timestamp"] < AS_OF], AS_OF)
    assert model.kind_ == "bgnbd" and training["cutoff_number"].max() < model._year_ago()
    assert model.season_shift_ == 0.0 and risk.between(0, 1).all()


def test_a_big_shop_learns_from_the_snapshots_of_a_seeded_sample_of_customers(shop_orders):
    """Fitting stays bounded: beyond ``max_customers`` the snapshots are those of a random, seeded sample. With
    the cap above the shop's customers, the model is the one fitted without a cap."""
    lines = validate_orders(shop_orders)
    features = customer_features(lines, AS_OF, 90)
    customers = lines[lines["timestamp"] < AS_OF]["customer_id"].nunique()

    def fitted(max_customers):
        # six past cutoffs of the eighteen: the sample is drawn before any cutoff's snapshots, and each cutoff's
        # features (BG/NBD fitted again each time) cost the same whatever the sample; 4 fits x 18 took 13 s
        model = ChurnModel(small_shop_rows=0, max_customers=max_customers, n_cutoffs=6)
        return model.fit(lines, AS_OF, features)

    uncapped, roomy = fitted(None), fitted(customers)
    assert roomy.training_rows_ == uncapped.training_rows_
    np.testing.assert_array_equal(roomy.predict_features(features), uncapped.predict_features(features))

    half = customers // 2
    capped, again = fitted(half), fitted(half)
    sampled = capped.training_frame(lines[lines["timestamp"] < AS_OF], AS_OF)
    assert sampled.index.nunique() <= half < customers and capped.training_rows_ < uncapped.training_rows_
    np.testing.assert_array_equal(capped.predict_features(features), again.predict_features(features))
    # The draw is of the sorted ids with the seeded generator: the customers it picked before it drew codes.
    ids = np.sort(lines[lines["timestamp"] < AS_OF]["customer_id"].unique())
    drawn = np.random.default_rng(capped.random_state).choice(ids, half, replace=False)
    assert set(sampled.index) <= set(drawn) and len(set(drawn) - set(sampled.index)) < half // 4


@pytest.mark.parametrize("small_shop_rows", [0, 10_000_000])
def test_fit_predict_gives_the_risks_of_fit_then_predict_features_to_the_last_bit(
    request, shop_orders, small_shop_rows
):
    """fit_predict takes the trees' log-odds of the as-of customers once (fit used to take them twice, then
    predict_features a third time); the risks are the same, for the trees and for a small shop's BG/NBD. Given the
    order history the as-of features came from (as build_profiles gives it, not to roll the lines up again), its
    past days are those fit rolls up itself."""
    lines = validate_orders(shop_orders)
    assert (lines["timestamp"] < AS_OF).all()  # else the history is not of the lines the model learns from
    features = customer_features(lines, AS_OF, 90)
    if small_shop_rows == 0:  # the trees fitted so, shared with the test above
        fitted = request.getfixturevalue("boosted")
    else:
        fitted = ChurnModel(small_shop_rows=small_shop_rows).fit(lines, AS_OF, features)
    model = ChurnModel(small_shop_rows=small_shop_rows)
    risk = model.fit_predict(lines, AS_OF, features, history=OrderHistory(lines, 90))
    assert model.kind_ == fitted.kind_ == ("boosted_trees" if small_shop_rows == 0 else "bgnbd")
    pd.testing.assert_series_equal(risk, fitted.predict_features(features), check_exact=True)
    assert risk.index.equals(features.index) and risk.between(0, 1).all()


def test_a_history_where_nobody_ever_left_is_refused_saying_so():
    """With 5,992 snapshots that all had one outcome, the refusal said the model needed "at least 200 snapshots
    with both outcomes; these orders give 5992"."""
    from audience.errors import NotEnoughHistory

    days = pd.date_range("2022-01-01", "2024-01-01", freq="10D")
    orders = pd.DataFrame(
        [(f"c{i}", day, 10.0) for i in range(30) for day in days], columns=["customer_id", "timestamp", "amount"]
    )  # every customer buys every ten days: nobody is ever gone for 90
    with pytest.raises(NotEnoughHistory, match="every one of the [0-9]+ past snapshots has the same outcome"):
        ChurnModel().fit(validate_orders(orders), "2024-01-01")


def test_the_trees_give_the_same_risks_to_the_bit_on_one_thread_or_two(monkeypatch):
    """The churn trees may take more threads where cores are to spare (the service's TAILOR_AUDIENCE_THREADS); the
    audience eval's figures rest on the risks, so they must not move with the thread count. The trees fit and score
    on the threads asked for, whatever OpenMP's limit around them."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_info, threadpool_limits

    from tests.audience.conftest import simulated_shop

    threads_seen = []  # OpenMP's limit while the trees fit and score
    fit, predict_proba = HistGradientBoostingClassifier.fit, HistGradientBoostingClassifier.predict_proba

    def openmp_threads() -> None:
        threads_seen.extend(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "openmp")

    def fit_spy(self, *args, **kwargs):
        openmp_threads()
        return fit(self, *args, **kwargs)

    def predict_proba_spy(self, *args, **kwargs):
        openmp_threads()
        return predict_proba(self, *args, **kwargs)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", fit_spy)
    monkeypatch.setattr(HistGradientBoostingClassifier, "predict_proba", predict_proba_spy)
    # Over 10,000 snapshots, so that the trees also stop early on a held-out share, as a big shop's do.
    lines = validate_orders(simulated_shop(n_customers=1500, seed=5))
    features = customer_features(lines, AS_OF, 90)
    risks, booster_params = {}, ChurnModel().booster_params  # fewer trees: two spinning threads on a busy machine
    for threads in (1, 2):
        threads_seen.clear()
        with threadpool_limits(limits=3 - threads, user_api="openmp"):  # the other count around it
            model = ChurnModel(small_shop_rows=0, threads=threads, booster_params={**booster_params, "max_iter": 60})
            risks[threads] = model.fit_predict(lines, AS_OF, features)
        assert model.kind_ == "boosted_trees" and model.estimator_.n_iter_ > 10
        assert threads_seen and set(threads_seen) == {threads}
    assert model.training_rows_ > 10_000 and model.estimator_.do_early_stopping_
    pd.testing.assert_series_equal(risks[1], risks[2], check_exact=True)
    assert risks[1].nunique() > len(risks[1]) // 2  # the trees' own risks, not a few levels that hide a difference
