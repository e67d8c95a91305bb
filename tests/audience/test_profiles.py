"""Customer profiles (segment, cluster, churn risk, CLV, next purchase) for every customer, and the audience file
`tailor audience` reads and writes."""

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from audience.batch import OUTPUT_COLUMNS, audience_from_file
from audience.bgnbd import p_no_purchase
from audience.errors import InvalidOrders
from audience.profiles import PROFILE_COLUMNS, build_profiles
from tests.audience.conftest import AS_OF, known_customers


@pytest.fixture(scope="module")
def profiles(shop_orders) -> pd.DataFrame:
    return build_profiles(shop_orders, AS_OF, horizon_days=90)


def test_every_customer_gets_every_column(profiles, shop_orders):
    assert list(profiles.columns) == PROFILE_COLUMNS
    assert profiles.index.name == "customer_id"
    assert set(profiles.index) == set(shop_orders.customer_id)
    assert profiles.attrs["fallbacks"] == []
    numeric = profiles[["p_alive", "churn_risk", "expected_purchases", "clv"]]
    assert numeric.notna().all().all()
    assert profiles.p_alive.between(0, 1).all() and profiles.churn_risk.between(0, 1).all()
    assert (profiles.expected_purchases >= 0).all() and (profiles.clv >= 0).all()
    assert profiles.cluster_label.notna().all()


def test_models_agree_with_behaviour(profiles):
    recent = profiles.recency_days < 30
    lapsed = profiles.recency_days > 365
    assert profiles.churn_risk[recent].mean() < profiles.churn_risk[lapsed].mean()
    assert profiles.expected_purchases[recent].mean() > profiles.expected_purchases[lapsed].mean()
    clv = profiles.groupby("rfm_segment").clv.mean()
    assert clv["champions"] > clv["lost"]


def test_small_shop_churn_risk_is_bgnbd_p_no_purchase_shifted_by_one_season_constant(profiles):
    """A small shop's churn risk ranks as BG/NBD's P(no purchase) does; only its level moves, by one log-odds
    constant learned from the churn the shop saw a year earlier."""
    assert profiles.attrs["churn_model"] == "bgnbd"
    expected = p_no_purchase(profiles.p_alive.to_numpy(), profiles.expected_purchases.to_numpy())
    inside = (expected > 1e-4) & (expected < 1 - 1e-4)
    shifts = logit(profiles.churn_risk.to_numpy()[inside]) - logit(expected[inside])
    assert np.ptp(shifts) < 1e-6


def test_next_purchase_dates_are_not_in_the_past(profiles):
    dates = profiles.next_purchase_date.dropna()
    assert len(dates) > 0 and (dates >= AS_OF).all()


def test_a_profile_reports_each_step_and_the_churn_model_s_past_days(shop_orders):
    """A 100,000-customer shop took 26 s to profile (a million customers, minutes) with nothing said meanwhile:
    the figure rises step by step, and through the churn model's past days, short of the end its caller reports."""
    from audience.profiles import PROFILE_CHURN_MODEL, STEP_STARTS

    heard: list[tuple[int, int, str]] = []
    build_profiles(shop_orders, AS_OF, horizon_days=90, progress=lambda *told: heard.append(told))
    figures = [done for done, _, _ in heard]
    assert {total for _, total, _ in heard} == {100} and figures == sorted(figures) and figures[-1] < 100
    steps = [message for _, _, message in heard if not message.startswith("churn model")]
    assert steps == [name for name in STEP_STARTS if name not in ("churn model", "fitting")]
    days = [message for _, _, message in heard if message.startswith("churn model")]
    n = PROFILE_CHURN_MODEL["n_cutoffs"]
    assert days == [f"churn model: features at past day {day} of {n}" for day in range(1, n + 1)]
    assert len({done for done, _, message in heard if message in days}) > n // 2  # the figure moves within it


def test_the_churn_model_reports_its_past_days_then_its_trees(shop_orders):
    from audience.churn import ChurnModel
    from audience.orders import validate_orders

    heard: list[tuple[int, int, str]] = []
    lines = validate_orders(shop_orders)
    model = ChurnModel(small_shop_rows=0, n_cutoffs=6).fit(lines, AS_OF, progress=lambda *told: heard.append(told))
    assert model.kind_ == "boosted_trees"
    assert [(done, total) for done, total, _ in heard] == [(day, 6) for day in range(1, 7)] + [(6, 6)]
    assert [message for _, _, message in heard[:2]] == ["features at past day 1 of 6", "features at past day 2 of 6"]
    snapshots = re.fullmatch(r"fitting the trees on ([\d,]+) customer snapshots", heard[-1][2])
    assert snapshots and 0 < int(snapshots[1].replace(",", "")) < model.training_rows_  # less the latest day's


def test_tiny_shop_falls_back_and_still_answers():
    profiles = build_profiles(known_customers(), AS_OF, horizon_days=60)
    assert len(profiles) == 24
    assert any("churn_risk" in reason for reason in profiles.attrs["fallbacks"])
    assert profiles[["churn_risk", "p_alive", "clv"]].notna().all().all()
    assert profiles.churn_risk["champion"] < profiles.churn_risk["gone"]


def test_audience_file_round_trip(tmp_path, shop_orders):
    path = tmp_path / "orders.csv"
    shop_orders.drop(columns=["order_id"]).to_csv(path, index=False)
    table = audience_from_file(path, as_of=date(2024, 1, 1), horizon_days=90)
    assert list(table.columns) == OUTPUT_COLUMNS
    assert table.customer_id.nunique() == shop_orders.customer_id.nunique()
    due = table.next_purchase_date.dropna()
    assert due.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert np.isfinite(table.clv).all()


def test_audience_file_errors_name_the_problem(tmp_path):
    with pytest.raises(InvalidOrders, match="does not exist"):
        audience_from_file(tmp_path / "missing.csv", as_of=date(2024, 1, 1), horizon_days=90)
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,timestamp,amount\na,2023-01-01,3\nb,2023-02-01,lots\n")
    with pytest.raises(InvalidOrders, match="line 3, column 'amount'"):
        audience_from_file(bad, as_of=date(2024, 1, 1), horizon_days=90)


def test_a_customer_past_due_by_more_than_two_of_their_cycles_is_due_no_more():
    """A customer who bought every 20 days and had been silent 312 was "next order due today" for replenishment."""
    from audience.next_purchase import next_purchase_dates

    as_of = pd.Timestamp("2026-11-01")
    summary = pd.DataFrame(
        {
            "frequency": [10, 10, 10],  # repeat purchase days: a 20-day cycle each
            "recency": [200.0, 200.0, 200.0],
            "last": [as_of - pd.Timedelta(days=days) for days in (10, 50, 312)],
        },
        index=["due_soon", "one_cycle_late", "long_gone"],
    )
    dates, cycles = next_purchase_dates(summary, as_of, p_active=pd.Series(0.9, index=summary.index))
    assert cycles.round().tolist() == [20.0, 20.0, 20.0]
    assert dates["due_soon"] == as_of + pd.Timedelta(days=10) and dates["one_cycle_late"] == as_of
    assert pd.isna(dates["long_gone"])  # its churn risk alone (10 %) kept it due


@pytest.mark.parametrize("days", [20, 1])
def test_a_shop_where_nobody_bought_twice_has_no_churn_risk_rather_than_a_certain_one(days):
    """A young shop of one-time buyers (or one day of history) read as every customer 100% sure to churn, with a
    CLV of 0, champions included: the shop rate of 0 repeat purchases came from no evidence at all."""
    start = pd.Timestamp("2026-11-01 10:00")
    orders = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(20)],
            "timestamp": [start + pd.Timedelta(days=i % days, hours=i % 5) for i in range(20)],
            "amount": [10.0 + i for i in range(20)],
        }
    )
    profiles = build_profiles(orders, start + pd.Timedelta(days=days), horizon_days=90)
    assert len(profiles) == 20
    assert profiles[["churn_risk", "expected_purchases", "clv", "p_alive"]].isna().all().all()
    assert profiles[["next_purchase_date", "cycle_days"]].isna().all().all()  # was due 30 days on, a made-up gap
    assert profiles.rfm_segment.notna().all() and profiles.monetary.notna().all()
    assert any("nobody has bought on a second day" in reason for reason in profiles.attrs["fallbacks"])
    assert not any(reason.startswith("clv: mean order value") for reason in profiles.attrs["fallbacks"])


def test_p_alive_and_expected_purchases_are_bgnbd_s_fitted_on_the_profiles_customers(profiles, shop_orders):
    """BG/NBD, fitted once at the as-of day for the profiles and the churn model's features, gives the profiles
    what a fit on their own customers' summary (in the profiles' order) gives, to the bit."""
    from audience.bgnbd import BetaGeoModel
    from audience.orders import btyd_summary, validate_orders

    summary = btyd_summary(validate_orders(shop_orders), AS_OF).reindex(profiles.index)
    args = (summary["frequency"], summary["recency"], summary["T"])
    model = BetaGeoModel(penalizer=1e-3).fit(*args)
    assert (profiles["p_alive"].to_numpy() == model.p_alive(*args)).all()
    assert (profiles["expected_purchases"].to_numpy() == model.expected_purchases(90, *args)).all()
