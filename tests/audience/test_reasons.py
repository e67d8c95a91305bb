"""Profile reasons: each sentence carries the profile's own figures, and missing values give no sentence."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from audience.reasons import profile_reasons

PROFILE = {
    "recency_days": 136, "frequency": 2, "monetary": 25.945, "r_score": 3, "f_score": 2, "m_score": 2,
    "rfm_segment": "potential_loyalists", "cluster": 3, "cluster_label": "narrow-basket, lapsed customers",
    "p_alive": 0.742, "churn_risk": 0.877, "expected_purchases": 0.317, "expected_purchase_value": 38.80,
    "clv": 12.30, "repeat_purchase_days": 1, "cycle_days": 61.0, "next_purchase_date": "2026-11-12",
}  # fmt: skip
ONE_ORDER = {
    **PROFILE, "recency_days": 600, "frequency": 1, "monetary": 310.0, "p_alive": 1.0, "churn_risk": 0.93,
    "repeat_purchase_days": 0, "cycle_days": 48.0, "rfm_segment": "lost",
}  # fmt: skip


def test_every_field_is_explained_with_its_figures():
    reasons = profile_reasons(PROFILE, "2026-11-01", horizon_days=90)
    assert set(reasons) == {"segment", "cluster", "churn_risk", "clv", "next_purchase"}
    assert reasons["segment"].startswith("potential loyalists (recent customers with a few orders")
    assert "last order 136 days ago (recency score 3/5), 2 orders" in reasons["segment"]
    assert "25.95 an order" in reasons["segment"]
    assert reasons["churn_risk"].startswith("88% chance of no order in the next 90 days")
    assert "74% that they are still a customer" in reasons["churn_risk"]
    assert "last order 136 days ago after 2 orders, about every 61 days" in reasons["churn_risk"]
    # a near-certain P(alive) says nothing the silence does not contradict: it is left out
    lapsed = profile_reasons({**PROFILE, "recency_days": 312, "p_alive": 0.96}, "2026-11-01")["churn_risk"]
    assert "still a customer" not in lapsed and "last order 312 days ago after 2 orders, about every 61 days" in lapsed
    assert (
        reasons["clv"]
        == "12.30 expected over the next 90 days: 0.317 expected days with an order, spending 38.80 on each"
    )
    assert "2026-11-12 (due in 11 days)" in reasons["next_purchase"]
    assert reasons["cluster"] == "grouped with narrow-basket, lapsed customers"


@pytest.mark.parametrize("profile", [PROFILE, ONE_ORDER])
def test_clv_sentence_multiplies_out_to_the_clv(profile):
    """The CLV is expected purchases times the spend model's value per purchase, not the past order value."""
    sentence = profile_reasons({**profile, "clv": profile["expected_purchases"] * profile["expected_purchase_value"]},
                               "2026-11-01")["clv"]  # fmt: skip
    clv, purchases, each = (float(n) for n in re.findall(r"\d+\.\d+", sentence))
    assert purchases * each == pytest.approx(clv, rel=0.01)


def test_one_order_customers_are_not_given_bgnbd_p_alive_as_evidence():
    """BG/NBD gives P(alive) = 1 to every customer without a repeat purchase day, however long ago they bought."""
    reasons = profile_reasons(ONE_ORDER, "2026-11-01")
    assert "100%" not in reasons["churn_risk"] and "still a customer" not in reasons["churn_risk"]
    assert reasons["churn_risk"] == (
        "93% chance of no order in the next 90 days: their only order was 600 days ago, "
        "against the shop's usual 48 days between orders"
    )
    same_day = profile_reasons({**ONE_ORDER, "frequency": 3}, "2026-11-01")["churn_risk"]
    assert "their 3 orders were all on one day, 600 days ago" in same_day and "still a customer" not in same_day


def test_missing_values_give_no_sentence():
    lapsed = {**PROFILE, "next_purchase_date": None, "clv": math.nan, "p_alive": None}
    reasons = profile_reasons(lapsed, "2026-11-01")
    assert "next_purchase" not in reasons and "clv" not in reasons
    assert "still a customer" not in reasons["churn_risk"]
    assert profile_reasons({}, "2026-11-01") == {}


def test_built_profiles_give_the_figures_their_clv_is_computed_from(shop_orders):
    from audience.profiles import build_profiles
    from tests.audience.conftest import AS_OF

    profiles = build_profiles(shop_orders, AS_OF, horizon_days=90)
    assert profiles.clv.to_numpy() == pytest.approx(profiles.expected_purchases * profiles.expected_purchase_value)
    for _, row in profiles.sample(20, random_state=0).iterrows():
        reasons = profile_reasons({k: (None if pd.isna(v) else v) for k, v in row.items()}, AS_OF)
        assert f"spending {row.expected_purchase_value:.2f} on each" in reasons["clv"]
        if row.repeat_purchase_days == 0:
            assert "still a customer" not in reasons["churn_risk"]


def test_the_cluster_reason_says_what_is_true_of_the_customer():
    """17850, away 373 days, read "grouped with frequent, recent customers": the cluster is named after its
    centre, which a member can be far from on one feature."""
    away = {**PROFILE, "cluster_label": "frequent, recent customers", "recency_days": 373, "r_score": 1,
            "frequency": 34, "f_score": 5}  # fmt: skip
    assert profile_reasons(away, "2011-12-10")["cluster"] == (
        "grouped with frequent, recent customers, though unlike the group's typical customer their last order "
        "was 373 days ago (recency score 1/5)"
    )
    recent = {**away, "recency_days": 3, "r_score": 5}
    assert profile_reasons(recent, "2011-12-10")["cluster"] == "grouped with frequent, recent customers"


def test_large_figures_are_written_with_their_thousands_grouped():
    """A wholesaler of Online Retail read "53286.44 an order" and "1280 orders"."""
    big = {**PROFILE, "frequency": 1280, "monetary": 53286.441, "clv": 120345.5, "expected_purchase_value": 2400.0}
    reasons = profile_reasons(big, "2026-11-01", horizon_days=90)
    assert "1,280 orders" in reasons["segment"] and "53,286.44 an order" in reasons["segment"]
    assert reasons["clv"].startswith("120,345.50 expected over the next 90 days")
    assert "2,400.00 on each" in reasons["clv"]


def test_the_next_purchase_says_how_late_an_overdue_customer_is_and_whose_gap_it_comes_from():
    """Online Retail: 606 customers past their date read "(due today)", 584 one-time buyers "from their usual
    gap", when their date came from the shop's."""
    overdue = {**PROFILE, "recency_days": 96, "cycle_days": 84.3, "next_purchase_date": "2011-12-10"}
    sentence = profile_reasons(overdue, "2011-12-10")["next_purchase"]
    assert sentence == "next order expected around 2011-12-10 (overdue by 12 days: expected now), from their usual gap"
    due_today = {**overdue, "recency_days": 84}
    assert "(due today), from their usual gap" in profile_reasons(due_today, "2011-12-10")["next_purchase"]
    once = {**ONE_ORDER, "recency_days": 10, "cycle_days": 51.0, "next_purchase_date": "2012-01-20"}
    assert profile_reasons(once, "2011-12-10")["next_purchase"] == (
        "next order expected around 2012-01-20 (due in 41 days), from the shop's usual gap between orders "
        "(they have bought on one day only)"
    )


def test_a_missing_figure_reads_the_same_as_none_or_nan():
    """A row of a frame holds NaN where a stored profile holds None: the sentences are the same."""
    gaps = {"cycle_days": None, "p_alive": None, "clv": None, "next_purchase_date": None}
    with_none = profile_reasons({**PROFILE, **gaps}, "2026-11-01")
    assert with_none == profile_reasons({**PROFILE, **dict.fromkeys(gaps, math.nan)}, "2026-11-01")
    assert set(with_none) == {"segment", "cluster", "churn_risk"} and "about every" not in with_none["churn_risk"]
