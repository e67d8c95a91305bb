import pandas as pd

from audience.retention import segment_retention
from tests.audience.conftest import AS_OF, known_customers


def test_retention_follows_the_segment_customers_were_in_a_horizon_ago():
    table = segment_retention(known_customers(), AS_OF, horizon_days=60)
    # 60 days ago the champion and filler3 were champions; only the champion (every 10 days) ordered since.
    assert table.loc["champions"].tolist() == [2, 1, 0.5]
    assert table.loc["cant_lose"].tolist() == [1, 0, 0.0]
    assert table["customers"].sum() == 21  # the newcomer's first order came after the horizon started


def test_retention_is_not_one_or_zero_by_construction(shop_orders):
    """On today's segments it would be: every champion ordered lately, no lost customer did."""
    table = segment_retention(shop_orders, AS_OF, horizon_days=90)
    assert table.loc[["champions", "loyal", "potential_loyalists", "new"], "rate"].between(0.05, 0.95).all()
    assert (table["retained"] <= table["customers"]).all()


def test_no_history_before_the_horizon_gives_an_empty_table():
    orders = pd.DataFrame({"customer_id": ["a"], "timestamp": [AS_OF - pd.Timedelta(days=5)], "amount": [1.0]})
    assert segment_retention(orders, AS_OF, horizon_days=90).empty
