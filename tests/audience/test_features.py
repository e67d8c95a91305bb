"""Churn features (audience.features): rolled up once from the whole history and taken at many cutoffs, they are
the features of the lines before each cutoff alone, to the last bit."""

import pandas as pd
import pytest

from audience.features import WINDOWS_DAYS, OrderHistory
from audience.orders import btyd_summary, to_orders, validate_orders
from tests.audience.conftest import AS_OF, simulated_shop

HORIZON = 90
CUTOFF = AS_OF - pd.Timedelta(days=HORIZON)  # the churn model's latest training cutoff


def _line(customer: str, order: str, product: str, when: pd.Timestamp, amount: float) -> dict:
    return {"customer_id": customer, "order_id": order, "product_id": product, "timestamp": when, "amount": amount}


def _shop(order_across_midnight: bool) -> pd.DataFrame:
    minutes = pd.Timedelta(minutes=10)
    edges = [
        # Bought product Q exactly one horizon before the cutoff and again at the cutoff: before the cutoff, nobody
        # knows yet that this buyer of Q came back.
        _line("E2", "E2-0", "Q", CUTOFF - pd.Timedelta(days=HORIZON) + pd.Timedelta(hours=9), 20.0),
        _line("E2", "E2-1", "Q", CUTOFF + pd.Timedelta(hours=9), 25.0),
        _line("E3", "E3-0", "P1", CUTOFF - pd.Timedelta(days=200), 15.0),
    ]
    if order_across_midnight:  # one order, three lines, across the midnights before and at the cutoff
        day_before = CUTOFF - pd.Timedelta(days=1)
        edges += [
            _line("E1", "E1-0", "P1", day_before - minutes, 10.0),
            _line("E1", "E1-0", "P2", day_before + minutes, 5.0),
            _line("E1", "E1-0", "P3", CUTOFF + minutes, 7.0),
        ]
    shop = pd.concat([simulated_shop(n_customers=120, days=500, seed=3), pd.DataFrame(edges)], ignore_index=True)
    return validate_orders(shop)


@pytest.mark.parametrize("order_across_midnight", [False, True])
@pytest.mark.parametrize("days_before", [0, 30, 200])
def test_features_at_a_cutoff_are_those_of_the_lines_before_it(order_across_midnight, days_before):
    lines = _shop(order_across_midnight)
    cutoff = CUTOFF - pd.Timedelta(days=days_before)
    whole = OrderHistory(lines, HORIZON).features_at(cutoff)
    before = OrderHistory(lines[lines["timestamp"] < cutoff], HORIZON).features_at(cutoff)
    pd.testing.assert_frame_equal(whole, before, check_exact=True)
    assert len(whole) > 50 and whole.notna().any().all()
    # The churn model counts and labels a small shop's snapshots by these customers, without their features.
    pd.testing.assert_index_equal(OrderHistory(lines, HORIZON).customers_before(cutoff), whole.index, exact=True)


def test_a_product_bought_again_at_the_cutoff_is_not_known_to_bring_its_buyers_back():
    lines = _shop(order_across_midnight=False)
    history = OrderHistory(lines[lines["customer_id"].isin(["E2", "E3"])], HORIZON)
    features = history.features_at(CUTOFF)
    # Q's one buyer has not come back yet: the shop's share (0 of 1 known buyers) shrinks nothing toward it.
    assert features.loc["E2", "product_retention_mean"] == 0.0
    assert history.churned_within(features.index, CUTOFF).to_dict() == {"E2": 0, "E3": 1}
    # customers are matched by code; one the history never saw has no order in the horizon either
    asked = pd.Index(["E3", "nobody", "E2"], name="customer_id")
    assert history.churned_within(asked, CUTOFF).to_dict() == {"E3": 1, "nobody": 1, "E2": 0}


def test_an_order_across_midnights_is_one_order_of_its_lines_before_the_cutoff():
    lines = _shop(order_across_midnight=True)
    features = OrderHistory(lines, HORIZON).features_at(CUTOFF)
    assert features.loc["E1", ["orders", "spend", "lines_per_order"]].tolist() == [1.0, 15.0, 2.0]


def test_features_are_taken_at_midnights():
    with pytest.raises(ValueError, match="midnight"):
        OrderHistory(_shop(False), HORIZON).features_at(CUTOFF + pd.Timedelta(hours=1))


def _reference_product_retention(lines: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The products' come-back features as first written, from the lines before ``cutoff`` alone, in pandas."""
    lines = lines[lines["timestamp"] < cutoff]
    bought = lines.assign(day=lines["timestamp"].dt.normalize())[["customer_id", "product_id", "day"]]
    buying_days = bought[["customer_id", "day"]].drop_duplicates().sort_values(["customer_id", "day"])
    buying_days["next_day"] = buying_days.groupby("customer_id")["day"].shift(-1)
    products = bought.merge(buying_days, on=["customer_id", "day"])
    known = products[products["day"] + pd.Timedelta(days=HORIZON) <= cutoff].drop_duplicates(
        ["customer_id", "product_id"]
    )
    came_back = ((known["next_day"] - known["day"]).dt.days <= HORIZON).astype(float)
    shop_share = float(came_back.mean()) if len(came_back) else 0.5
    by_product = came_back.groupby(known["product_id"]).agg(["sum", "count"])
    retention = (by_product["sum"] + 20 * shop_share) / (by_product["count"] + 20)
    recent = products[products["day"] >= cutoff - pd.Timedelta(days=365)]
    recent = recent.assign(rate=recent["product_id"].map(retention).fillna(shop_share).astype(float))
    last_day = recent.groupby("customer_id")["day"].transform("max")
    return pd.DataFrame(
        {
            "product_retention_mean": recent.groupby("customer_id")["rate"].mean(),
            "product_retention_last_order": recent[recent["day"] == last_day].groupby("customer_id")["rate"].mean(),
        }
    )


def _reference_gaps(lines: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Gaps between a customer's order days (an order's day: its first line's), from the lines before ``cutoff``."""
    before = lines[lines["timestamp"] < cutoff]
    orders = before.groupby(["customer_id", "order_id"])["timestamp"].min().reset_index()
    days = orders.assign(day=orders["timestamp"].dt.normalize())[["customer_id", "day"]].drop_duplicates()
    days = days.sort_values(["customer_id", "day"])
    days["gap"] = days.groupby("customer_id")["day"].diff().dt.days
    gaps = days.dropna(subset=["gap"]).groupby("customer_id")["gap"]
    frame = pd.DataFrame(
        {"mean_gap_days": gaps.mean(), "median_gap_days": gaps.median(), "std_gap_days": gaps.std(),
         "last_gap_days": gaps.last()}
    )  # fmt: skip
    return frame.reindex(days["customer_id"].unique())


@pytest.mark.parametrize("order_across_midnight", [False, True])
def test_products_and_gaps_counted_on_arrays_are_those_of_a_plain_computation(order_across_midnight):
    """The products' come-back rates (counted on arrays made once for every cutoff) and the gaps (from the purchase
    days, or the orders' days where an order crosses a midnight) are, to the bit, what pandas gives on the lines
    before the cutoff."""
    lines = _shop(order_across_midnight)
    history = OrderHistory(lines, HORIZON)
    for days_before in (0, 1, 30, 200):
        cutoff = CUTOFF - pd.Timedelta(days=days_before)
        features = history.features_at(cutoff)
        products = _reference_product_retention(lines, cutoff).reindex(features.index).astype(float)
        pd.testing.assert_frame_equal(features[products.columns], products, check_exact=True)
        gaps = _reference_gaps(lines, cutoff).reindex(features.index).astype(float)
        pd.testing.assert_frame_equal(features[gaps.columns], gaps, check_exact=True)
        assert products.notna().any().all() and gaps.notna().any().all()


def test_the_history_s_btyd_summary_is_that_of_the_lines():
    lines = _shop(order_across_midnight=True)
    for cutoff in (CUTOFF, AS_OF):
        pd.testing.assert_frame_equal(
            OrderHistory(lines, HORIZON).btyd_summary(cutoff), btyd_summary(lines, cutoff), check_exact=True
        )


@pytest.mark.parametrize("order_across_midnight", [False, True])
def test_bgnbd_alone_is_the_features_bgnbd_columns_from_one_fit_a_cutoff(order_across_midnight):
    """``bgnbd_features_at`` (a small shop's churn model takes no other feature a year back) is ``features_at``'s
    BG/NBD columns to the bit, rows in their order, and ``bgnbd_at`` BG/NBD fitted on the history's summary at that
    cutoff, once; where BG/NBD cannot be fitted (too few customers yet), the columns are NaN and the error is kept."""
    from audience.bgnbd import BetaGeoModel
    from audience.errors import AudienceError
    from audience.features import BGNBD_FEATURES

    lines = _shop(order_across_midnight)
    for days_before in (0, 30, 200, 400):  # 400: four customers, one with a repeat
        cutoff = CUTOFF - pd.Timedelta(days=days_before)
        history = OrderHistory(lines, HORIZON)
        alone = history.bgnbd_features_at(cutoff)
        pd.testing.assert_frame_equal(alone, history.features_at(cutoff)[BGNBD_FEATURES], check_exact=True)
        summary = btyd_summary(lines, cutoff)
        try:
            plain = BetaGeoModel(penalizer=1e-3).fit(summary["frequency"], summary["recency"], summary["T"])
        except AudienceError as error:
            assert str(history.bgnbd_at(cutoff)) == str(error) and days_before == 400
            assert len(alone) == 4 and alone.isna().all(axis=None)
            continue
        assert history.bgnbd_at(cutoff) is history.bgnbd_at(cutoff)
        assert history.bgnbd_at(cutoff).params == plain.params
        expected = plain.expected_purchases(HORIZON, summary["frequency"], summary["recency"], summary["T"])
        assert (alone["bgnbd_expected"].to_numpy() == expected).all() and alone.notna().all(axis=None)


def test_bgnbd_s_inputs_counted_on_arrays_are_the_summary_s_at_every_past_day():
    """BG/NBD's frequency, recency and T at the churn model's past days (counted on the purchase days' arrays, not
    grouped) are the summary's of the lines before each, to the bit, index and dtypes too; before any order, none."""
    from audience.churn import ChurnModel

    lines = validate_orders(simulated_shop(n_customers=150, seed=3))
    history = OrderHistory(lines, HORIZON)
    cutoffs = ChurnModel().training_cutoffs(lines, AS_OF) + [AS_OF, lines["timestamp"].min().normalize()]
    for cutoff in cutoffs:
        expected = btyd_summary(lines, cutoff)[["frequency", "recency", "T"]]
        inputs = history._bgnbd_inputs(cutoff)  # by customer code, as BG/NBD's features are made
        pd.testing.assert_frame_equal(inputs.set_axis(history.ids(inputs.index)), expected, check_exact=True)
        pd.testing.assert_frame_equal(inputs, history._btyd_summary(cutoff)[expected.columns], check_exact=True)
    assert len(expected) == 0 and len(cutoffs) > 10


def _reference_windows(lines: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """The orders and spend of each window before ``cutoff`` (and a year back, and the horizon before the last), each
    from a frame of the window's orders grouped by customer, as first written."""
    orders = to_orders(lines[lines["timestamp"] < cutoff])
    age_days = (cutoff - orders["timestamp"]).dt.days
    customers = pd.Index(sorted(orders["customer_id"].unique()), name="customer_id")
    frame = pd.DataFrame(index=customers)
    for window in WINDOWS_DAYS:
        recent = orders[age_days < window].groupby("customer_id")
        frame[f"orders_{window}d"] = recent.size().reindex(customers, fill_value=0)
        frame[f"spend_{window}d"] = recent["amount"].sum().reindex(customers, fill_value=0.0)
    last_year = orders[(age_days >= 365 - HORIZON) & (age_days < 365)]
    frame["orders_same_season_last_year"] = last_year.groupby("customer_id").size().reindex(customers, fill_value=0)
    last_horizon = orders[(age_days >= HORIZON) & (age_days < 2 * HORIZON)]
    frame["orders_in_horizon_before_last"] = last_horizon.groupby("customer_id").size().reindex(customers, fill_value=0)
    return frame


def test_window_counts_and_spends_are_those_of_each_window_s_orders_grouped():
    """The windows' orders (counted by code) and spend (a groupby of the window's amounts by code) are, to the bit,
    those of each window's orders grouped as a frame: the amounts outside a window left NaN in one groupby of them
    all gave sums a last bit apart."""
    lines = _shop(order_across_midnight=False)
    history = OrderHistory(lines, HORIZON)
    for days_before in (0, 1, 30, 200):
        cutoff = CUTOFF - pd.Timedelta(days=days_before)
        features = history.features_at(cutoff)
        windows = _reference_windows(lines, cutoff).astype(float)
        pd.testing.assert_frame_equal(features[windows.columns], windows, check_exact=True)
        assert (windows[[f"spend_{window}d" for window in WINDOWS_DAYS]] > 0).any().all()
