"""The public prior carries a shop with no history, and the shop's own model takes over as sends accumulate."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.features import OUTCOME_COLUMNS
from scoring.prior import DEFAULT_RATES, BlendedEngagement, PublicPrior, shop_weight
from tests.scoring.conftest import make_sends


def test_without_shop_data_the_prior_rates_are_used():
    variants = make_sends(n=5).drop(columns=OUTCOME_COLUMNS)
    predictions = BlendedEngagement(PublicPrior.default()).predict(variants)
    assert np.allclose(predictions["p_open"], DEFAULT_RATES["open"])
    assert np.allclose(predictions["p_click"], DEFAULT_RATES["open"] * DEFAULT_RATES["click"])


def test_weight_rule():
    assert shop_weight(0, 2000) == 0 and shop_weight(2000, 2000) == 0.5
    assert shop_weight(20_000, 2000) == pytest.approx(0.909, abs=0.001)


def test_more_shop_sends_move_predictions_toward_the_shop_model(fitted_engagement):
    variants = make_sends(n=200, seed=5).drop(columns=OUTCOME_COLUMNS)
    shop = fitted_engagement.predict(variants)["p_open"].mean()
    heavy_prior = BlendedEngagement(PublicPrior.default(), fitted_engagement, prior_sends=100_000)
    light_prior = BlendedEngagement(PublicPrior.default(), fitted_engagement, prior_sends=100)
    assert abs(light_prior.predict(variants)["p_open"].mean() - shop) < abs(
        heavy_prior.predict(variants)["p_open"].mean() - shop
    )
    blended = light_prior.predict(variants)
    assert (blended["p_click"] <= blended["p_open"]).all()


def test_prior_from_public_data_when_present():
    from evals.datasets import available

    if not available("hillstrom/hillstrom_email_data.csv"):
        pytest.skip("the public Hillstrom and SME files are not in the shared data folder")
    rates = PublicPrior.from_public_data().rates
    assert rates == pytest.approx(DEFAULT_RATES, abs=0.002)


def test_fitting_sets_the_blend_to_the_shops_own_rates_shrunk_toward_the_prior():
    """Mixed in by log-odds alone, the prior's 20 % would hold a 40 %-opening shop's predictions far too low; the
    fitted offsets set the mean over the shop's sends to (30 x prior rate + opens) / (30 + sends), per link."""
    sends = make_sends(n=3000, seed=3)
    model = BlendedEngagement.fit(sends, PublicPrior.default())
    predictions = model.predict(sends.drop(columns=OUTCOME_COLUMNS))
    opens, clicks = sends["opened"].sum(), sends["clicked"].sum()
    assert opens / len(sends) > 0.35
    assert predictions["p_open"].mean() == pytest.approx((30 * DEFAULT_RATES["open"] + opens) / (30 + len(sends)))
    opened = (sends["opened"] == 1).to_numpy()
    click_given_open = (predictions["p_click"] / predictions["p_open"])[opened].mean()
    assert click_given_open == pytest.approx((30 * DEFAULT_RATES["click"] + clicks) / (30 + opens), rel=1e-6)
    without_offsets = BlendedEngagement(model.prior, model.shop).predict(sends.drop(columns=OUTCOME_COLUMNS))
    assert without_offsets["p_open"].mean() < predictions["p_open"].mean() - 0.05


def test_sends_without_enough_opens_leave_the_prior_at_the_shops_level():
    sends = make_sends(n=100, seed=4).assign(opened=0, clicked=0, converted=0)
    model = BlendedEngagement.fit(sends, PublicPrior.default())
    assert model.shop is None and "0 opens out of 100" in model.shop_model_note
    p_open = model.predict(sends.drop(columns=OUTCOME_COLUMNS))["p_open"]
    assert np.allclose(p_open, 30 * DEFAULT_RATES["open"] / 130)


def test_no_sends_leave_the_prior_as_it_is():
    model = BlendedEngagement.fit(make_sends(n=10).iloc[:0], PublicPrior.default())
    assert model.shop is None and model.offsets == {} and model.shop_model_note is None
    variants = make_sends(n=5).drop(columns=OUTCOME_COLUMNS)
    assert np.allclose(model.predict(variants)["p_open"], DEFAULT_RATES["open"])
