"""Ids read from files: a spreadsheet's whole floats become the integer ids they stand for, other text stays."""

import pandas as pd

from tabular import id_strings


def test_whole_floats_lose_their_point_zero_as_numbers_or_as_text():
    assert id_strings(pd.Series([17850.0, 13047.0])).tolist() == ["17850", "13047"]
    # a CSV exported from a spreadsheet holds the text "17850.0", read as text to keep ids like "007"
    assert id_strings(pd.Series(["17850.0", " 12 ", "17850"])).tolist() == ["17850", "12", "17850"]


def test_other_ids_are_kept_as_written():
    assert id_strings(pd.Series(["A.0", "007", "1.5", "85123A", "10.00"])).tolist() == [
        "A.0", "007", "1.5", "85123A", "10.00",
    ]  # fmt: skip
