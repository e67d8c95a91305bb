"""Which purchase a return undoes: the line it fits (same quantity, same amount) before the latest one, so a
customer's kept order is the one they kept, with what it cost them."""

from __future__ import annotations

import pandas as pd
import pytest

from evals.datasets import available, online_retail
from tabular.returns import match_returns


def matched(purchases: list[tuple], returns: list[tuple]) -> tuple[list[float], list[float]]:
    """``match_returns`` of lines given as (when, quantity, amount), all of one customer's one product."""
    columns = ["timestamp", "quantity", "amount"]
    bought = pd.DataFrame(purchases, columns=columns).assign(customer_id="a", product_id="mug")
    returned = pd.DataFrame(returns, columns=columns).assign(customer_id="a", product_id="mug")
    for frame in (bought, returned):
        frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    kept_share, unmatched = match_returns(bought, returned)
    return kept_share.round(6).tolist(), unmatched.round(6).tolist()


def test_a_return_undoes_the_purchase_whose_price_it_fits_not_the_latest():
    """A mug at £10.00, then one at £6.00 in a sale: £10.00 back is the first. Matched to the latest, the return
    cancelled the sale's order and left £4 of credit shrinking every line (Online Retail's 13208: 18 units at
    £1.00, billed again at £0.36 the next morning and the first bill credited; their last order went back a day)."""
    assert matched(
        [("2024-06-01", 1, 10.0), ("2024-06-20", 1, 6.0)], [("2024-06-25", -1, -10.0)]
    ) == ([0.0, 1.0], [0.0])  # fmt: skip


def test_a_partial_refund_undoes_the_line_of_its_quantity_not_part_of_the_latest():
    """Online Retail's 14409 ordered 72 at £2.10, ordered 96 at £1.85 three minutes later and cancelled the 72:
    matched to the latest, 72 of the 96 were undone and the cancelled order stood whole."""
    assert matched(
        [("2010-12-06 15:03", 72, 151.2), ("2010-12-06 15:06", 96, 177.6)], [("2010-12-06 15:07", -72, -151.2)]
    ) == ([0.0, 1.0], [0.0])  # fmt: skip


def test_returns_of_an_order_split_in_lines_undo_those_lines():
    """Online Retail's 15514 ordered a product in lines of 1, 2, 3 and 1, ordered the 7 again in one line, and
    cancelled the four lines: latest first, the line of 7 was cancelled and the cancelled lines kept."""
    lines = [("2010-12-10 13:50", quantity, 3.75 * quantity) for quantity in (1, 2, 3, 1)]
    returns = [("2010-12-10 14:03", -quantity, -3.75 * quantity) for quantity in (1, 2, 3, 1)]
    assert matched([*lines, ("2010-12-10 13:58", 7, 26.25)], returns) == ([0.0, 0.0, 0.0, 0.0, 1.0], [0.0] * 4)


def test_a_return_with_no_amount_fits_by_its_quantity():
    assert matched([("2024-01-01", 4, 40.0), ("2024-01-05", 1, 10.0)], [("2024-01-06", -4, 0.0)]) == (
        [0.0, 1.0], [0.0]
    )  # fmt: skip


def test_where_none_fits_the_latest_is_undone_first_and_among_those_that_fit_too():
    assert matched(
        [("2024-01-01", 4, 40.0), ("2024-01-05", 4, 36.0)], [("2024-01-06", -2, -20.0)]
    ) == ([1.0, 0.5], [2.0])  # fmt: skip
    assert matched(
        [("2024-01-01", 2, 20.0), ("2024-01-05", 2, 20.0)], [("2024-01-06", -2, -20.0)]
    ) == ([1.0, 0.0], [0.0])  # fmt: skip


@pytest.mark.skipif(not available("online-retail/online_retail_2010_2011.parquet"), reason="Online Retail is absent")
def test_on_online_retail_the_lines_cancelled_are_those_credited():
    """14409's 72 at £2.10, 13208's 18 at £1.00 and 15098's 60 at £4.95 (not the unit at £649.50 bought since) are
    what their credit notes undo, whole; the lines they ordered instead are kept whole."""
    raw = online_retail("2010-2011", include_cancellations=True)
    raw = raw[raw["customer_id"].isin(["14409", "13208", "15098"]) & raw["product_id"].isin(["22834", "M", "22502"])]
    returned = raw["order_id"].str.startswith("C")
    purchases, returns = raw[~returned].reset_index(drop=True), raw[returned].reset_index(drop=True)
    kept_share, _ = match_returns(purchases, returns)
    kept = purchases.assign(kept_share=kept_share)
    assert kept[["customer_id", "order_id", "kept_share"]].values.tolist() == [
        ["14409", "537410", 0.0], ["14409", "537412", 1.0],
        ["15098", "556442", 0.0], ["15098", "556444", 1.0], ["15098", "556446", 1.0],
        ["13208", "570685", 0.0], ["13208", "570705", 1.0],
    ]  # fmt: skip


def test_a_return_that_fits_a_line_gets_it_before_an_earlier_return_that_fits_none():
    """A line of 3 on 1 January, one of 2 on the 20th; one unit back on the 25th (fits neither line) and the 2
    back on 5 February (the second line sent back; the first is over 30 days old by then). Matched in return order,
    the unit took one of the 2, the 2 found one left, £10 of its credit matched nothing and the line of 3 stood whole
    though a unit of it had come back."""
    assert matched(
        [("2024-01-01", 3, 30.0), ("2024-01-20", 2, 20.0)], [("2024-01-25", -1, -10.0), ("2024-02-05", -2, -20.0)]
    ) == ([0.666667, 0.0], [0.0, 0.0])  # fmt: skip
