"""A text parsed once for all the cells that hold it (service.importing.columns reads each distinct text once) is
read as each of those cells was on its own: the same value and the same problem on every row, named by that row,
whatever column also holds it, and the date that unsettles the order named at the first row holding it."""

from __future__ import annotations

import pandas as pd

from service.errors import Problem
from service.importing.columns import SPECS, parse_table, parsed_column
from tabular import inexact_id


def _orders(**columns: list[str]) -> pd.DataFrame:
    lines = {
        "order_id": ["A1", "A1", " 00123 ", '="00123"', "17850.0", "17850.0"],
        "customer_id": ["17850.0", " 17850 ", "17850.0", "1.23457E+16", "00123", "A1"],
        "product_id": ["00123", "00123", "a\x00b", "A.0", "17850.0", "17850.0"],
        "quantity": ["1", "1", "", "2.5", "inf", "1"],
        "amount": ["4.5", "", "", "4.5", "-1", "1e400"],
        "timestamp": ["2024-01-02", "2024-01-02", " 2024-01-02 ", "40513.4", "", "2024-01-02"],
        "Kind": ["purchase", "purchase", "View", "VIEW", "gift", "purchase"],
    }
    frame = pd.DataFrame({**lines, **columns}, dtype=str)
    return frame.set_axis(pd.RangeIndex(2, 2 + len(frame)))


def test_repeated_texts_give_each_row_its_own_value_and_problem():
    frame = _orders().rename(columns={"Kind": "kind"})
    parsed, problems = parse_table(frame, SPECS["orders"])
    assert parsed.order_id.tolist() == ["A1", "A1", "00123", "00123", "17850", "17850"]
    assert parsed.customer_id.tolist() == ["17850", "17850", "17850", "1.23457E+16", "00123", "A1"]
    assert parsed.product_id.tolist() == ["00123", "00123", "a\x00b", "A.0", "17850", "17850"]
    assert parsed.kind.tolist() == ["purchase", "purchase", "view", "view", "gift", "purchase"]
    assert parsed.quantity.fillna(-9).tolist() == [1.0, 1.0, 1.0, 2.5, -9, 1.0]  # a view's empty quantity is 1
    assert parsed.amount.fillna(-9).tolist() == [4.5, -9, 0.0, 4.5, -1.0, -9]
    assert parsed.timestamp.isna().tolist() == [False, False, False, True, True, False]
    assert parsed.dtypes.astype(str).tolist() == ["object"] * 3 + ["float64"] * 2 + ["datetime64[us]"] + ["object"] * 2
    assert [(p.row, p.column, p.message) for p in problems] == [
        (4, "product_id", "holds a NUL character (\\x00), which cannot be stored: remove it"),
        (5, "customer_id", inexact_id("1.23457E+16")),
        (6, "quantity", "'inf' is not a finite number"),
        (3, "amount", "is empty"),
        (7, "amount", "'1e400' is not a finite number"),
        (5, "timestamp", "'40513.4' is not a date/time; it looks like a spreadsheet's day number: format the column "
         "as dates before saving the file"),
        (6, "timestamp", "is empty"),
        (6, "kind", "'gift' is not one of purchase, cart, view, return"),
        (3, "order_id, product_id, kind", "the same key is on row 2"),
    ]  # fmt: skip


def test_a_column_read_alone_is_read_as_in_its_frame():
    frame = _orders()
    for name in ("order_id", "customer_id", "product_id"):
        whole = parse_table(frame.rename(columns={"Kind": "kind"}), SPECS["orders"])[0][name]
        assert parsed_column(frame[name], SPECS["orders"], name).tolist() == whole.tolist()


def test_the_date_that_unsettles_the_order_is_named_at_its_first_row():
    frame = _orders(timestamp=["13/01/2024", "13/01/2024", "01/13/2024", "02/14/2024", "01/13/2024", "13/01/2024"])
    _, problems = parse_table(frame, SPECS["orders"])
    assert [problem for problem in problems if problem.column == "timestamp"] == [
        Problem(4, "timestamp", "'01/13/2024' puts the day and month the other way round from '13/01/2024' (row 2); "
                "use one order, or YYYY-MM-DD")
    ]  # fmt: skip
