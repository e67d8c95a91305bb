"""Numeric dates are read in the order their file uses; a file that mixes orders, or settles nothing, is told so."""

from __future__ import annotations

import pandas as pd
import pytest

from audience.errors import InvalidOrders
from audience.orders import validate_orders
from recommenders.errors import InvalidInteractions
from recommenders.interactions import validate_interactions
from tabular import parse_dates


@pytest.mark.parametrize(
    "values",
    [
        ["31/01/2026", "01/02/2026", "2026-02-03"],
        ["01/31/2026", "02/01/2026", "2026-02-03T00:00:00Z"],
        ["31.01.2026", "01.02.2026", "03.02.2026"],
    ],
)
def test_numeric_dates_follow_the_columns_own_order_and_iso_dates_stay_iso(values):
    parsed, problem = parse_dates(pd.Series(values))
    assert problem is None
    assert [moment.strftime("%Y-%m-%d") for moment in parsed] == ["2026-01-31", "2026-02-01", "2026-02-03"]


@pytest.mark.parametrize("zone", [None, "Europe/Berlin"])
def test_timestamps_already_read_come_back_as_their_text_would_be_read(zone):
    moments = pd.Series(pd.to_datetime(["2026-01-31T23:30", None, "2026-03-29T01:15:07.5"], format="ISO8601"))
    moments = moments.dt.tz_localize(zone)

    parsed, problem = parse_dates(moments)

    from_text, _ = parse_dates(moments.astype(str))
    assert problem is None
    pd.testing.assert_series_equal(parsed.astype("datetime64[ns]"), from_text.astype("datetime64[ns]"))
    assert parsed.dt.tz is None and parsed.isna().tolist() == [False, True, False]


def test_both_orders_or_only_ambiguous_dates_are_a_problem_naming_the_values():
    _, mixed = parse_dates(pd.Series(["31/01/2026", "x", "02/13/2026"]))
    assert (mixed.position, mixed.other_position) == (2, 0)
    assert mixed.describe() == (
        "'02/13/2026' puts the day and month the other way round from '31/01/2026' (value 1); use one order, "
        "or YYYY-MM-DD"
    )
    _, ambiguous = parse_dates(pd.Series(["2026-01-05", "01/02/2026"]))
    assert ambiguous.position == 1 and "could be day/month or month/day" in ambiguous.describe()


def test_the_cli_readers_refuse_a_file_that_mixes_orders():
    """`tailor audience --orders` and `tailor recommend --train` read dates themselves: the same rule holds."""
    lines = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2"], "product_id": ["p1", "p2", "p1"],
            "timestamp": ["31/01/2026", "02/13/2026", "01/01/2026"], "amount": [10.0, 12.0, 8.0],
        }
    )  # fmt: skip
    with pytest.raises(InvalidOrders, match="row 2"):
        validate_orders(lines)
    with pytest.raises(InvalidInteractions, match="the other way round"):
        validate_interactions(lines)
