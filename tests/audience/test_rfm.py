"""RFM scores and named segments (audience.rfm): quintiles that keep ties together, rules as data covering every
cell, and recency judged against the shop's own reorder rhythm."""

import pandas as pd
import pytest

from audience.rfm import quintile_score, rfm_table, segment_names, segment_rules
from tests.audience.conftest import AS_OF, known_customers


def test_rules_cover_every_score_cell_once():
    for r in range(1, 6):
        for f in range(1, 6):
            first = [rule["name"] for rule in segment_rules() if rule["r"][0] <= r <= rule["r"][1]
                     and rule["f"][0] <= f <= rule["f"][1]]  # fmt: skip
            assert first, f"no segment for r={r}, f={f}"
    assert set(segment_names()) == {
        "champions", "loyal", "potential_loyalists", "new", "at_risk", "cant_lose", "hibernating", "lost",
    }  # fmt: skip


def test_quintiles_keep_ties_together():
    scores = quintile_score(pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 4, 10]))
    assert scores.iloc[:6].nunique() == 1 and scores.iloc[0] == 1
    assert scores.iloc[-1] == 5
    assert quintile_score(pd.Series([5, 50, 500]), higher_is_better=False).tolist() == [5, 3, 1]


def test_a_tie_at_the_best_value_shares_the_best_score():
    assert quintile_score(pd.Series([1, 1, 1, 40]), higher_is_better=False).tolist() == [5, 5, 5, 1]
    assert quintile_score(pd.Series([9.5])).tolist() == [5]


def test_a_small_shop_whose_customers_all_bought_yesterday_once_are_new():
    orders = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "timestamp": pd.to_datetime(["2024-03-09 10:00"] * 3),
         "amount": [12.0, 30.0, 7.5], "order_id": ["1", "2", "3"]}
    )  # fmt: skip
    table = rfm_table(orders, "2024-03-10")
    assert table["r_score"].tolist() == [5, 5, 5] and table["f_score"].tolist() == [1, 1, 1]
    assert set(table["rfm_segment"]) == {"new"}


def test_obvious_customers_get_their_segment():
    table = rfm_table(known_customers(), AS_OF)
    assert table.loc["champion", "rfm_segment"] == "champions"
    assert table.loc["cant_lose", "rfm_segment"] == "cant_lose"
    assert table.loc["newcomer", "rfm_segment"] == "new"
    assert table.loc["gone", "rfm_segment"] == "lost"
    assert table.loc["champion", ["recency_days", "frequency", "monetary"]].tolist() == [2, 20, 80.0]
    assert set(table.columns) >= {"recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"}


def test_orders_on_or_after_as_of_are_ignored():
    orders = known_customers()
    later = pd.DataFrame({"customer_id": ["gone"], "timestamp": [AS_OF], "amount": [1.0], "order_id": ["x"]})
    table = rfm_table(pd.concat([orders, later]), AS_OF)
    assert table.loc["gone", "rfm_segment"] == "lost"


def _twice_ten_days_apart(last_days_ago: list[int]) -> pd.DataFrame:
    """Customer ``c<i>`` ordered ``last_days_ago[i]`` days before AS_OF, and 10 days before that."""
    rows = [
        {"customer_id": f"c{number}", "order_id": f"c{number}-{days_ago}", "amount": 20.0,
         "timestamp": AS_OF - pd.Timedelta(days=days_ago)}
        for number, last in enumerate(last_days_ago) for days_ago in (last, last + 10)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_a_customer_away_longer_than_the_shop_s_reorders_take_is_not_active_whatever_their_rank():
    """In a shop whose customers mostly lapsed (CDNOW), the recency quintiles put a customer away 430 days in
    score 4: "loyal" customers gone over a year got cross-sell email and never a win-back offer."""
    from audience.campaigns import ACTIVE
    from audience.orders import to_orders
    from audience.rfm import lapse_after_days

    orders = _twice_ten_days_apart([5 + n for n in range(20)] + [300 + n for n in range(80)])  # most lapsed
    assert lapse_after_days(to_orders(orders)) == 10.0  # every reorder came 10 days after the order before
    table = rfm_table(orders, AS_OF)
    gone = table[table["recency_days"] > 10]
    assert len(gone) == 94 and (gone["r_score"] <= 2).all() and not set(gone["rfm_segment"]) & set(ACTIVE)
    assert table.loc["c60", "rfm_segment"] == "cant_lose"  # away 340 days; by rank, recency score 4: "loyal"
    assert table.loc["c0", "rfm_segment"] == "champions"  # bought 5 days ago: the rank stands


def test_a_shop_of_few_reorders_has_no_bound_on_recency():
    """Ten reorders say too little of a shop's rhythm: its customers are ranked by recency alone, as before."""
    from audience.orders import to_orders
    from audience.rfm import lapse_after_days

    orders = _twice_ten_days_apart([5 + 30 * n for n in range(10)])
    assert lapse_after_days(to_orders(orders)) is None
    assert (
        rfm_table(orders, AS_OF)["r_score"].max() == 5 and rfm_table(orders, AS_OF).loc["c2", "r_score"] == 4
    )  # away 65 days


def test_each_score_cell_gets_the_first_rule_holding_it():
    """``assign_segments`` (rules matched on arrays) gives each cell of scores the first rule whose ranges hold it."""
    from audience.rfm import assign_segments

    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    r_score = pd.Series([r for r, _ in cells], index=[f"c{n}" for n in range(len(cells))])
    f_score = pd.Series([f for _, f in cells], index=r_score.index)
    expected = [
        next((rule["name"] for rule in segment_rules() if rule["r"][0] <= r <= rule["r"][1]
              and rule["f"][0] <= f <= rule["f"][1]), "hibernating")
        for r, f in cells
    ]  # fmt: skip
    segments = assign_segments(r_score, f_score)
    pd.testing.assert_series_equal(segments, pd.Series(expected, index=r_score.index, dtype="object"))


@pytest.mark.parametrize("order_across_midnight", [False, True])
def test_rfm_of_an_order_history_s_orders_is_that_of_the_lines(order_across_midnight):
    """A profile takes its RFM table from the orders its order history rolled up once (customers by code): the
    table is the lines' own, to the bit, also where an order's lines lie on two days."""
    from audience.features import OrderHistory
    from audience.orders import orders_before
    from audience.rfm import rfm_of_lines, rfm_of_orders
    from tests.audience.conftest import simulated_shop

    shop = simulated_shop(n_customers=120, days=500, seed=3)
    if order_across_midnight:
        later = shop.iloc[::5].assign(timestamp=lambda lines: lines["timestamp"] + pd.Timedelta(days=1))
        shop = pd.concat([shop, later.assign(product_id="P99")], ignore_index=True)
    lines = orders_before(shop, AS_OF)
    history = OrderHistory(lines, 90)
    table = rfm_of_orders(history.whole_orders_before(AS_OF), AS_OF)
    table.index = history.ids(table.index)
    pd.testing.assert_frame_equal(table, rfm_of_lines(lines, AS_OF), check_exact=True)
    assert table["rfm_segment"].nunique() > 3
