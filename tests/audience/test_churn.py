import numpy as np
import pytest

from audience.churn import ChurnModel
from audience.features import customer_features
from audience.orders import validate_orders
from tests.audience.conftest import AS_OF


def test_boosted_risk_keeps_the_trees_mean_and_the_blend_ranking(shop_orders):
    lines = validate_orders(shop_orders)
    model = ChurnModel(small_shop_rows=0).fit(lines, AS_OF)
    assert model.kind_ == "boosted_trees"
    features = customer_features(lines, AS_OF, model.horizon_days)
    risk = model.predict_features(features)
    assert risk.between(0, 1).all() and risk.index.equals(features.index)
    trees_mean = model.trees_calibrator_.predict_proba(model._log_odds(features)[:, None])[:, 1].mean()
    assert risk.mean() == pytest.approx(trees_mean, abs=1e-6)
    order = np.argsort(model._calibrated_log_odds(features))
    assert np.all(np.diff(risk.to_numpy()[order]) >= 0)
