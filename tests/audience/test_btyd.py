"""BG/NBD and its helpers (audience.bgnbd): parameters recovered from simulated customers, the likelihood's gradient,
histories fitted once per distinct history, and P(no purchase) within a horizon."""

import numpy as np
import pandas as pd
import pytest

from audience.bgnbd import BetaGeoModel, p_no_purchase
from audience.gamma_gamma import GammaGammaModel
from audience.orders import btyd_summary
from tests.audience.contract import PublishedFitTests


def cdnow_calibration():
    from evals.datasets import CDNOW_CALIBRATION_END, cdnow

    return btyd_summary(cdnow(), CDNOW_CALIBRATION_END + pd.Timedelta(days=1), unit_days=7)


class TestBetaGeo(PublishedFitTests):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee (2005)

    @staticmethod
    def fit_cdnow():
        from evals.datasets import cdnow_summary

        summary = cdnow_summary()
        return BetaGeoModel().fit(summary.frequency, summary.recency, summary["T"])

    @staticmethod
    def fit_tiny():
        return BetaGeoModel().fit([0, 1], [0, 3], [5, 5])

    def test_own_summary_matches_the_published_one(self):
        from evals.datasets import DatasetMissing, cdnow_summary

        try:
            ours, theirs = cdnow_calibration(), cdnow_summary().set_index("customer_id")
        except DatasetMissing as missing:
            pytest.skip(str(missing))
        assert (ours.frequency.reindex(theirs.index) == theirs.frequency).all()
        # The published T runs to the start of the last calibration day, ours to its end: one day (1/7 week) more.
        assert np.allclose(ours["T"].reindex(theirs.index) - 1 / 7, theirs["T"], atol=0.006)

    def test_p_alive_rules(self, fitted):
        alive = fitted.p_alive([0, 5, 5], [0, 30, 5], [38, 38, 38])
        assert alive[0] == 1.0  # no repeat: BG/NBD cannot tell them dead
        assert alive[1] > 0.5 > 0.01 > alive[2]  # same frequency, the long-silent one is less likely alive

    def test_expectations_grow_with_time_and_frequency(self, fitted):
        short, long = (fitted.expected_purchases(t, [2], [20], [30])[0] for t in (10, 40))
        assert 0 < short < long
        assert fitted.expected_purchases(10, [8], [29], [30])[0] > short


def test_bgnbd_recovers_simulated_parameters():
    rng = np.random.default_rng(1)
    r, alpha, a, b, n, horizon = 0.5, 10.0, 1.5, 4.0, 4000, 52.0
    rates, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    frequency, recency = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / rates[i])
            if t > horizon:
                break
            frequency[i] += 1
            recency[i] = t
            if rng.random() < drop[i]:
                break
    model = BetaGeoModel().fit(frequency, recency, np.full(n, horizon))
    assert model.r == pytest.approx(r, rel=0.15)
    assert model.alpha == pytest.approx(alpha, rel=0.25)
    assert model.a == pytest.approx(a, rel=0.35)
    assert model.b == pytest.approx(b, rel=0.45)


def _histories(n: int = 500, seed: int = 3):
    rng = np.random.default_rng(seed)
    frequency = rng.integers(0, 9, n).astype(float)
    T = rng.integers(5, 60, n).astype(float)
    recency = np.where(frequency > 0, np.floor(rng.uniform(0, 1, n) * T), 0.0)
    return frequency, recency, T


@pytest.mark.parametrize("params", [[0.24, 4.4, 0.79, 2.4], [1.3, 20.0, 2.5, 0.6], [0.05, 0.5, 0.1, 9.0]])
def test_the_log_likelihood_gradient_is_its_derivative(params):
    x, t_x, T = _histories()
    params = np.array(params)
    _, gradient = BetaGeoModel._log_likelihood_and_gradient(params, x, t_x, T)
    for i in range(4):
        step = 1e-5 * params[i] * np.eye(4)[i]
        slope = (
            BetaGeoModel._log_likelihood(params + step, x, t_x, T)
            - BetaGeoModel._log_likelihood(params - step, x, t_x, T)
        ) / (2 * step[i])
        np.testing.assert_allclose(gradient[i], slope, rtol=1e-4, atol=1e-7)


def test_customers_with_the_same_history_are_fitted_as_one_weighted_history():
    x, t_x, T = _histories()
    assert len(np.unique(np.column_stack([x, t_x, T]), axis=0)) < len(x)  # repeated histories
    each = BetaGeoModel(penalizer=1e-3).fit(x, t_x, T)
    order = np.argsort(x, kind="stable")  # the order of the customers does not matter either
    weighted = BetaGeoModel(penalizer=1e-3).fit(x[order], t_x[order], T[order], weights=np.ones(len(x)))
    for name, value in each.params.items():
        assert weighted.params[name] == pytest.approx(value, rel=1e-9)
    doubled = BetaGeoModel(penalizer=1e-3).fit(np.r_[x, x], np.r_[t_x, t_x], np.r_[T, T])
    halves = BetaGeoModel(penalizer=1e-3).fit(x, t_x, T, weights=np.full(len(x), 2.0))
    for name, value in doubled.params.items():
        assert halves.params[name] == pytest.approx(value, rel=1e-9)
    assert doubled.log_likelihood_ == pytest.approx(2 * each.log_likelihood_, rel=1e-6)


class TestGammaGamma(PublishedFitTests):
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}  # Fader, Hardie & Lee (2005), CDNOW sample

    @staticmethod
    def fit_cdnow():
        summary = cdnow_calibration()
        return GammaGammaModel().fit(summary.frequency, summary.monetary)

    @staticmethod
    def fit_tiny():
        return GammaGammaModel().fit([1, 0], [10.0, 0.0])

    def test_expected_spend_shrinks_to_the_population(self, fitted):
        few, many, none = fitted.expected_spend([1, 20, 0], [100.0, 100.0, 0.0])
        assert none == pytest.approx(fitted.population_mean)
        assert none < few < many < 100.0


def test_p_no_purchase_is_death_or_a_poisson_zero():
    risk = p_no_purchase(np.array([1.0, 0.0, 0.5]), np.array([2.0, 0.0, 0.5]))
    assert risk == pytest.approx([np.exp(-2.0), 1.0, 0.5 + 0.5 * np.exp(-1.0)])


def test_bgnbd_and_gamma_gamma_fit_on_one_blas_thread_with_the_parameters_of_one_thread_around(monkeypatch):
    """L-BFGS-B's steps call BLAS: on OpenBLAS's two threads a 400-customer shop's BG/NBD fit took 68 ms of CPU
    instead of 9 ms (the churn model fits it at 18 past days). The fits run on one BLAS thread whatever the limit
    around them, with the parameters they had under build_profiles' limit of one thread for everything."""
    import scipy.optimize
    from threadpoolctl import threadpool_info, threadpool_limits

    import audience.bgnbd
    import audience.gamma_gamma
    from audience.orders import validate_orders
    from tests.audience.conftest import AS_OF, simulated_shop

    threads_seen = []
    minimize = scipy.optimize.minimize

    def minimize_spy(*args, **kwargs):
        threads_seen.extend(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")
        return minimize(*args, **kwargs)

    monkeypatch.setattr(audience.bgnbd, "minimize", minimize_spy)
    monkeypatch.setattr(audience.gamma_gamma, "minimize", minimize_spy)
    summary = btyd_summary(validate_orders(simulated_shop()), AS_OF)

    def fitted() -> tuple[dict, tuple]:
        bgnbd = BetaGeoModel(penalizer=1e-3).fit(summary["frequency"], summary["recency"], summary["T"])
        spend = GammaGammaModel().fit(summary["frequency"], summary["monetary"])
        return bgnbd.params, (spend.p, spend.q, spend.gamma)

    with threadpool_limits(limits=2, user_api="blas"):  # two threads around, as for a caller outside build_profiles
        threads_seen.clear()
        around_two = fitted()
        assert threads_seen and set(threads_seen) == {1}
    with threadpool_limits(limits=1):  # build_profiles' limit
        around_one = fitted()
    assert around_two == around_one  # the same floats, to the bit
