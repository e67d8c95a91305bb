"""Retention per segment (audience.retention): measured from the segment each customer was in a horizon ago."""

import pandas as pd

from audience.orders import validate_orders
from audience.retention import segment_retention
from audience.rfm import rfm_table
from tests.audience.conftest import AS_OF, known_customers


def test_retention_follows_the_segment_customers_were_in_a_horizon_ago():
    table = segment_retention(known_customers(), AS_OF, horizon_days=60)
    # 60 days ago the champion was one, and ordered since (every 10 days); filler3, then away 45 days where 9 in 10
    # of the shop's reorders came within 15, was at risk (by rank alone a champion), and did not.
    assert table.loc["champions"].tolist() == [1, 1, 1.0]
    assert table.loc["at_risk", "customers"] == 10 and table.loc["at_risk", "retained"] == 0
    assert table.loc["cant_lose"].tolist() == [1, 0, 0.0]
    assert table["customers"].sum() == 21  # the newcomer's first order came after the horizon started


def test_retention_is_not_one_or_zero_by_construction(shop_orders):
    """On today's segments it would be: every champion ordered lately, no lost customer did."""
    table = segment_retention(shop_orders, AS_OF, horizon_days=90)
    measured = table[table["customers"] >= 10]  # a segment of one customer has a rate of 0 or 1 whatever it means
    assert {"champions", "loyal", "potential_loyalists"} <= set(measured.index)
    assert measured.loc[["champions", "loyal", "potential_loyalists"], "rate"].between(0.05, 0.95).all()
    assert (table["retained"] <= table["customers"]).all()


def test_no_history_before_the_horizon_gives_an_empty_table():
    orders = pd.DataFrame({"customer_id": ["a"], "timestamp": [AS_OF - pd.Timedelta(days=5)], "amount": [1.0]})
    assert segment_retention(orders, AS_OF, horizon_days=90).empty


def test_lines_validated_once_give_the_segments_validated_twice(shop_orders):
    """segment_retention reads the lines it validated (audience.orders.lines_before), as ``rfm_table`` read them
    after validating them again: the same table, returns cancelling purchases included."""
    returned = shop_orders.sample(frac=0.05, random_state=3).assign(kind="return")
    orders = pd.concat([shop_orders.assign(kind="purchase"), returned], ignore_index=True)
    for horizon_days in (30, 90):
        start = pd.Timestamp(AS_OF) - pd.Timedelta(days=horizon_days)
        lines = validate_orders(orders)
        segments = rfm_table(lines, start)["rfm_segment"]  # the lines validated a second time
        window = lines[(lines["timestamp"] >= start) & (lines["timestamp"] < pd.Timestamp(AS_OF))]
        retained = pd.Series(segments.index.isin(window["customer_id"].unique()), index=segments.index)
        reference = retained.groupby(segments).agg(customers="size", retained="sum")
        reference["rate"] = reference["retained"] / reference["customers"]
        pd.testing.assert_frame_equal(
            segment_retention(orders, AS_OF, horizon_days), reference.rename_axis("rfm_segment")
        )
