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
