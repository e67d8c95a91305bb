"""Profile reasons: each sentence carries the profile's own figures, and missing values give no sentence."""

from __future__ import annotations

import math

from audience.reasons import profile_reasons

PROFILE = {
    "recency_days": 136, "frequency": 2, "monetary": 25.945, "r_score": 3, "f_score": 2, "m_score": 2,
    "rfm_segment": "potential_loyalists", "cluster": 3, "cluster_label": "narrow-basket, lapsed customers",
    "p_alive": 0.742, "churn_risk": 0.877, "expected_purchases": 0.317, "clv": 12.30,
    "next_purchase_date": "2026-11-12",
}  # fmt: skip


def test_every_field_is_explained_with_its_figures():
    reasons = profile_reasons(PROFILE, "2026-11-01", horizon_days=90)
    assert set(reasons) == {"segment", "cluster", "churn_risk", "clv", "next_purchase"}
    assert reasons["segment"].startswith("potential loyalists (recent customers with a few orders")
    assert "last order 136 days ago (recency score 3/5), 2 orders" in reasons["segment"]
    assert "25.95 an order" in reasons["segment"]
    assert reasons["churn_risk"].startswith("88% chance of no order in the next 90 days")
    assert "74% that they are still a customer" in reasons["churn_risk"]
    assert reasons["clv"] == "12.30 expected over the next 90 days: 0.32 expected orders at about 25.95 each"
    assert "2026-11-12 (due in 11 days)" in reasons["next_purchase"]
    assert reasons["cluster"] == "grouped with narrow-basket, lapsed customers"


def test_missing_values_give_no_sentence():
    lapsed = {**PROFILE, "next_purchase_date": None, "clv": math.nan, "p_alive": None}
    reasons = profile_reasons(lapsed, "2026-11-01")
    assert "next_purchase" not in reasons and "clv" not in reasons
    assert "still a customer" not in reasons["churn_risk"]
    assert profile_reasons({}, "2026-11-01") == {}
