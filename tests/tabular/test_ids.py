"""Ids read from files: a spreadsheet's whole floats become the integer ids they stand for, other text stays."""

import pandas as pd

from tabular import id_strings, inexact_ids


def test_whole_floats_lose_their_point_zero_as_numbers_or_as_text():
    assert id_strings(pd.Series([17850.0, 13047.0])).tolist() == ["17850", "13047"]
    # a CSV exported from a spreadsheet holds the text "17850.0", read as text to keep ids like "007"
    assert id_strings(pd.Series(["17850.0", " 12 ", "17850"])).tolist() == ["17850", "12", "17850"]


def test_other_ids_are_kept_as_written():
    assert id_strings(pd.Series(["A.0", "007", "1.5", "85123A", "10.00"])).tolist() == [
        "A.0", "007", "1.5", "85123A", "10.00",
    ]  # fmt: skip


def test_ids_in_scientific_notation_or_floats_past_exact_whole_numbers_lost_digits():
    assert inexact_ids(
        pd.Series(["1.23457E+16", "1E+12", " 1.2e+16 ", "17850.0", "2E10A", "85123A", "12E34"])
    ).tolist() == [True, True, True, False, False, False, False]  # fmt: skip
    floats = pd.Series([2.0**53, 2.0**53 - 1, 17850.0, None])
    assert inexact_ids(floats).tolist() == [True, False, False, False]


def test_an_id_a_spreadsheet_forced_to_text_is_the_text_it_forced():
    """Excel keeps the zeros of 00123 when the export writes it as the formula ="00123", which was stored as the id
    `="00123"`: no orders file, nor the shop's own system, names that customer so."""
    assert id_strings(pd.Series(['="00123"', ' ="A-7" ', '="', "00123"])).tolist() == ["00123", "A-7", '="', "00123"]
