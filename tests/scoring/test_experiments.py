"""Experiment arithmetic: stable assignment, Thompson allocation toward the better arm, credible effects, and
revenue per customer over the holdout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring.errors import ScoringError
from scoring.experiments import (
    HOLDOUT,
    allocate_sends,
    assign_arms,
    effects,
    probability_best,
    revenue_difference,
    thompson_allocation,
)

ROOT = Path(__file__).resolve().parents[2]


def test_assignment_is_stable_and_keeps_the_holdout_share():
    ids = [f"C{i}" for i in range(20_000)]
    arms = assign_arms(ids, ["a", "b", "c"], holdout_share=0.1)
    assert arms.equals(assign_arms(ids, ["a", "b", "c"], holdout_share=0.1))
    shares = arms.value_counts(normalize=True)
    assert shares[HOLDOUT] == pytest.approx(0.1, abs=0.01)
    assert all(shares[arm] == pytest.approx(0.3, abs=0.015) for arm in "abc")
    assert not assign_arms(ids, ["a", "b"], salt="other").equals(assign_arms(ids, ["a", "b"]))
    with pytest.raises(ScoringError):
        assign_arms(ids, [])


def test_assignment_is_the_same_in_another_process():
    """A customer's arm must not change when the server restarts: an arm drawn from Python's own string hash, salted
    anew in each process, agreed with itself within one process (as the test above checks) and nowhere else."""
    ids = [f"C{i}" for i in range(200)]
    script = (
        "import json, sys; from scoring.experiments import assign_arms; "
        f"print(json.dumps(assign_arms({ids!r}, ['a', 'b'], holdout_share=0.2, salt='campaign:7').tolist()))"
    )
    here = assign_arms(ids, ["a", "b"], holdout_share=0.2, salt="campaign:7").tolist()
    for seed in ("1", "2"):
        environment = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=environment, cwd=ROOT, check=True
        )
        assert json.loads(run.stdout) == here, f"PYTHONHASHSEED={seed}"


def _counts() -> pd.DataFrame:
    return pd.DataFrame({"arm": ["a", "b", HOLDOUT], "trials": [1000, 1000, 300], "successes": [100, 60, 15]})


def test_thompson_sends_most_traffic_to_the_clear_winner():
    shares = thompson_allocation(_counts())
    # 10 % against 6 % of 1,000: 0.978, not 0.9995 as under flat priors, for variants rarely differ by two thirds
    assert set(shares.index) == {"a", "b"} and shares["a"] > 0.97
    even = thompson_allocation(pd.DataFrame({"arm": ["a", "b"], "trials": [0, 0], "successes": [0, 0]}))
    assert even["a"] == pytest.approx(0.5, abs=0.02)
    sends = allocate_sends(pd.DataFrame({"arm": ["a", "b"], "trials": [50, 50], "successes": [5, 4]}), 101)
    assert sends.sum() == 101


def test_p_best_is_the_posterior_s_not_monte_carlo_noise():
    """Two arms with no data read P(best) 0.4905 and 0.5095 from 20,000 draws: noise shown as information."""
    no_data = pd.DataFrame({"arm": ["A", "B", HOLDOUT], "trials": [0, 0, 0], "successes": [0, 0, 0]})
    assert effects(no_data)["p_best"].dropna().tolist() == [0.5, 0.5]
    assert thompson_allocation(no_data).tolist() == [0.5, 0.5]
    alike = pd.DataFrame({"arm": ["a", "b", "c"], "trials": [50, 50, 50], "successes": [5, 5, 5]})
    assert thompson_allocation(alike).tolist() == pytest.approx([1 / 3] * 3, abs=1e-12)
    # Narrow (a million sends each), 0.15 points apart, within noise: the integral finds the peaks (0.7327 under
    # flat priors; 0.6512 by a direct double integral over the prior's strength and the rate, with scipy.stats).
    apart = pd.DataFrame({"arm": ["a", "b"], "trials": [10**6, 10**6], "successes": [30_000, 30_150]})
    assert thompson_allocation(apart)["b"] == pytest.approx(0.6512, abs=2e-3)


def test_effects_have_credible_intervals_around_the_lift():
    table = effects(_counts())
    assert table.loc["a", "lift"] == pytest.approx(0.1 - 16 / 302, abs=0.005)
    assert table.loc["a", "lift_low"] > 0 and table.loc["a", "p_better_than_control"] > 0.99
    assert table.loc["b", "lift_low"] < 0 < table.loc["b", "lift_high"]
    assert table.loc["a", "p_best"] > 0.97
    with pytest.raises(ScoringError, match="holdout"):
        effects(_counts()[lambda frame: frame["arm"] != HOLDOUT])
    with pytest.raises(ScoringError):
        effects(pd.DataFrame({"arm": ["a", HOLDOUT], "trials": [1, 1], "successes": [2, 0]}))


def test_a_small_holdout_is_compared_without_being_pulled_further_than_the_arm():
    """Each arm under its own uniform prior: with 2 % converting in both, a 50-customer holdout against a
    225-customer arm put the lift at -1.5 points on average and P(better) under 5 % in 9 % of campaigns; 0
    conversions of 1,000 against 0 of 5 read "+0.0 pts [-46.4, -0.3], P(better) 1 %"."""
    rng = np.random.default_rng(4)
    lifts, worse = [], 0
    for _ in range(200):
        counts = pd.DataFrame(
            {"arm": ["A", HOLDOUT], "trials": [225, 50], "successes": [rng.binomial(225, 0.02), rng.binomial(50, 0.02)]}
        )
        row = effects(counts).loc["A"]
        lifts.append(row["lift"])
        worse += row["p_better_than_control"] <= 0.05
    assert abs(np.mean(lifts)) < 0.004 and worse / 200 < 0.05
    nothing = effects(pd.DataFrame({"arm": ["A", HOLDOUT], "trials": [1000, 5], "successes": [0, 0]})).loc["A"]
    assert nothing["lift_low"] <= 0 <= nothing["lift_high"] and 0.05 < nothing["p_better_than_control"] < 0.95


def _summary(values) -> tuple[int, float, float]:
    values = np.asarray(values, dtype=float)
    return len(values), float(values.sum()), float((values**2).sum())


def test_revenue_difference_is_welchs_normal_interval():
    result = revenue_difference(_summary([0, 10, 20]), _summary([0, 0, 10, 10]), level=0.95)
    half_width = 1.959964 * np.sqrt(100 / 3 + (100 / 3) / 4)  # sample variances 100 and 33.3
    assert result["mean"] == pytest.approx(5.0)
    assert (result["low"], result["high"]) == pytest.approx((5.0 - half_width, 5.0 + half_width), rel=1e-5)
    assert revenue_difference(_summary([5.0]), _summary([0, 1])) is None
    # no purchase in either arm yet: no interval, rather than one of width 0 claiming certainty
    assert revenue_difference(_summary([0, 0, 0]), _summary([0, 0])) is None
    assert revenue_difference(_summary([0, 0, 0]), _summary([0, 7])) is not None


def test_revenue_interval_covers_the_true_difference_about_as_often_as_promised():
    """Zero-inflated, long-tailed revenue as shops see it: 10 % buy, order values log-normal."""
    rng = np.random.default_rng(3)

    def revenue(n, buy_rate):
        return np.where(rng.random(n) < buy_rate, rng.lognormal(3.5, 0.8, n), 0.0)

    true_difference = (0.12 - 0.10) * np.exp(3.5 + 0.8**2 / 2)
    covered = 0
    for _ in range(400):
        result = revenue_difference(_summary(revenue(2000, 0.12)), _summary(revenue(2000, 0.10)), level=0.9)
        covered += result["low"] <= true_difference <= result["high"]
    assert 0.85 <= covered / 400 <= 0.95


def test_an_arm_s_rate_and_its_interval_are_the_beta_posterior_s_exactly():
    """From 20,000 draws, 0 conversions in 7 sends had 0.3751 as the interval's top; Beta(1, 8)'s is exact."""
    from scipy.stats import beta

    counts = pd.DataFrame({"arm": ["A", "holdout"], "trials": [7, 9], "successes": [0, 1]})
    table = effects(counts)
    assert table.at["A", "rate"] == pytest.approx(1 / 9)
    assert table.at["A", "rate_low"] == 0.0
    assert table.at["A", "rate_high"] == pytest.approx(beta.ppf(0.95, 1, 8), abs=1e-12)
    low, high = table.at["holdout", "rate_low"], table.at["holdout", "rate_high"]
    assert beta.cdf(high, 2, 9) - beta.cdf(low, 2, 9) == pytest.approx(0.95, abs=1e-9)
    assert beta.pdf(low, 2, 9) == pytest.approx(beta.pdf(high, 2, 9), rel=1e-4)  # the shortest: equal density


def test_a_rate_s_interval_holds_the_share_counted_and_covers_a_rare_true_rate():
    """A holdout with 0 conversions read "0.0 % [0.1–11.9]": the central interval left out the share counted, and
    missed every true rate under its lower end (for 1 in 2,000 in 30 customers, 98.5 % of the time)."""
    for trials, successes in ((30, 0), (30, 30), (30, 1), (1, 0), (1, 1), (0, 0), (5000, 3), (400, 200)):
        counts = pd.DataFrame({"arm": ["A", "holdout"], "trials": [trials, 10], "successes": [successes, 0]})
        row = effects(counts).loc["A"]
        share = successes / trials if trials else 0.5
        assert row["rate_low"] <= share <= row["rate_high"], (trials, successes)
        assert row["rate_high"] - row["rate_low"] <= 0.95 + 1e-9
    zero = effects(pd.DataFrame({"arm": ["A", "holdout"], "trials": [5, 30], "successes": [1, 0]})).loc[HOLDOUT]
    assert zero["rate_low"] == 0.0 and zero["rate_high"] == pytest.approx(1 - 0.05 ** (1 / 31))


def test_p_best_averages_over_how_far_the_arms_may_spread():
    """Two arms tell how far variants spread with one degree of freedom. Fitted to the spread the two happened to
    show (a prior of 237 sends' worth), 3.0 % against 5.0 % of 1,000 each read P(best) 0.980; in the eval
    ``evals.experiments.run`` arms stated best with 0.95 or more were truly best for 0.738 of them. Averaged over
    the spreads the counts leave possible, under a prior that expects variants about 10 % apart: 0.849."""
    told_apart_by_chance = pd.DataFrame({"arm": ["a", "b"], "trials": [1000, 1000], "successes": [30, 50]})
    # 0.8500 and 0.5194 by a direct double integral over the prior's strength and the rate, with scipy.stats;
    # the grid in the prior's strength is within 0.002 of it.
    assert probability_best(told_apart_by_chance)["b"] == pytest.approx(0.8500, abs=2e-3)
    # One miss in one send, nothing sent to the other: the counts say nothing of the spread, and the prior says
    # variants differ little (under a prior one success's worth it was 0.6).
    one_miss = pd.DataFrame({"arm": ["a", "b"], "trials": [1, 0], "successes": [0, 0]})
    assert probability_best(one_miss)["b"] == pytest.approx(0.5194, abs=2e-3)
    # Within noise: close to even. Far beyond noise: the counts outweigh the prior.
    alike = pd.DataFrame({"arm": ["a", "b"], "trials": [1000, 1000], "successes": [50, 52]})
    assert 0.5 < probability_best(alike)["b"] < 0.55
    apart = pd.DataFrame({"arm": ["a", "b"], "trials": [1000, 1000], "successes": [10, 100]})
    assert probability_best(apart)["b"] > 0.9999


def test_the_lift_and_p_better_are_integrated_not_drawn():
    """From 20,000 draws the lift's interval and P(better) were ±0.003 off, and moved with the seed."""
    no_data = effects(pd.DataFrame({"arm": ["A", HOLDOUT], "trials": [0, 0], "successes": [0, 0]})).loc["A"]
    # Beta(1, 1) minus Beta(1, 1) is triangular on [-1, 1]: P(lift ≤ t) = (1 + t)² / 2 for t ≤ 0.
    assert no_data["p_better_than_control"] == pytest.approx(0.5, abs=1e-9)
    assert no_data["lift_low"] == pytest.approx(np.sqrt(0.05) - 1, abs=1e-5)  # the kink at the ends costs 1e-6
    assert no_data["lift_high"] == pytest.approx(1 - np.sqrt(0.05), abs=1e-5)
    # 0 of 1,000 against 0 of 5, prior Beta(1, 1006) (one success at the pooled 1/1007): Beta(1, 2006) against
    # Beta(1, 1011), and P(X > Y) = 1011 / (2006 + 1011) for Beta(1, n) against Beta(1, m).
    none_converted = effects(pd.DataFrame({"arm": ["A", HOLDOUT], "trials": [1000, 5], "successes": [0, 0]}))
    assert none_converted.at["A", "p_better_than_control"] == pytest.approx(1011 / 3017, abs=1e-9)
    assert none_converted.at["A", "lift"] == pytest.approx(1 / 2007 - 1 / 1012, abs=1e-12)


def test_a_batch_of_one_send_goes_to_each_arm_as_often_as_its_share():
    """Rounded to the largest remainders, every batch of one (a customer's best hour come, batch_size=1) went to
    the leading arm, and the arm behind was never tried again: Thompson sampling tries it as often as it may be
    best."""
    counts = pd.DataFrame({"arm": ["a", "b"], "trials": [20, 20], "successes": [3, 2]})
    shares = thompson_allocation(counts)
    rng = np.random.default_rng(7)
    batches = [allocate_sends(counts, 1, rng) for _ in range(2000)]
    assert all(batch.sum() == 1 for batch in batches)
    assert np.mean([batch["b"] for batch in batches]) == pytest.approx(shares["b"], abs=0.04)
    many = allocate_sends(counts, 101, rng)  # a large batch: each arm its share's whole part or one more
    assert many.sum() == 101 and all(np.floor(shares * 101) <= many) and all(many <= np.ceil(shares * 101))


def test_p_best_of_counts_asked_for_again_is_remembered_and_each_answer_is_the_callers_own():
    from scoring.experiments import _probability_best

    counts = pd.DataFrame({"arm": ["a", "b"], "trials": [30, 30], "successes": [4, 2]})
    first = probability_best(counts)
    first["a"] = 5.0  # a caller's change stays in its own answer
    hits = _probability_best.cache_info().hits
    again = probability_best(counts.assign(arm=["x", "y"]))  # the same counts under other names
    assert again.sum() == pytest.approx(1) and again["x"] == probability_best(counts)["a"] != 5.0
    assert _probability_best.cache_info().hits == hits + 2  # not integrated again


def _best_given_strengths_as_one_expression(successes, failures, pooled, strengths):
    """``scoring.experiments._best_given_strengths`` with its integrand written as one expression, allocating its
    arrays at each call, as it was before it wrote into buffers."""
    from scipy.integrate import quad_vec
    from scipy.special import betainc, betaincinv, betaln, xlog1py, xlogy

    a = strengths[:, None] * pooled + successes
    b = strengths[:, None] * (1 - pooled) + failures
    start, end = float(betaincinv(a, b, 1e-12).min()), float(betaincinv(a, b, 1 - 1e-12).max())
    peaks = sorted({float(mean) for mean in (a / (a + b))[[0, -1]].ravel() if start < mean < end})
    ones = np.ones((len(a), 1))

    def best_densities(x: float) -> np.ndarray:
        cdfs = betainc(a, b, x)
        before = np.hstack([ones, np.cumprod(cdfs[:, :-1], axis=1)])
        after = np.hstack([np.cumprod(cdfs[:, :0:-1], axis=1)[:, ::-1], ones])
        return np.exp(xlogy(a - 1, x) + xlog1py(b - 1, -x) - betaln(a, b)) * before * after

    masses = quad_vec(best_densities, start, end, points=peaks, epsabs=1e-9, epsrel=1e-6, limit=2000)[0]
    return masses / masses.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("successes", "trials"),
    [([30, 42], [1000, 1000]), ([12, 15, 19], [400, 420, 380]), ([50, 53, 47, 61], [2000, 2100, 1900, 2050])],
)
def test_p_best_is_the_same_to_the_bit_as_the_integrand_written_as_one_expression(successes, trials, monkeypatch):
    """The integrand of P(best) writes into buffers it keeps between its calls: its shares are the very floats the
    expression that allocated each step's arrays gives, for two, three and four arms. Both are worked out here, on
    the machine at hand: the shares written down as measured on one machine would fail on another's floats."""
    import scoring.experiments as experiments

    counts = pd.DataFrame({"arm": [chr(ord("a") + i) for i in range(len(successes))], "trials": trials,
                           "successes": successes})  # fmt: skip
    experiments._probability_best.cache_clear()
    buffered = probability_best(counts).tolist()
    experiments._probability_best.cache_clear()
    monkeypatch.setattr(experiments, "_best_given_strengths", _best_given_strengths_as_one_expression)
    assert probability_best(counts).tolist() == buffered
    experiments._probability_best.cache_clear()
