"""Identifiers read from shop files as the text a person would type: a spreadsheet's 17850.0 is id 17850."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# Excel's way to keep an id's leading zeros in a CSV export: the formula ="00123", whose value is the text 00123.
_FORCED_TEXT = r'^="(.*)"$'
# A whole number written as a float: what a spreadsheet or pandas makes of an integer id column with a gap in it.
_WHOLE_FLOAT = r"^(\d+)\.0$"
# A long number in scientific notation: a spreadsheet shows 12345678901234567 as 1.23457E+16 and saves it so, and
# pandas writes such a float as 1.2345678901234568e+16. The id's last digits are gone either way. Both write the
# exponent's sign: a product code such as "12E34" is a code, not a number.
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE]\+\d+$")
# Above 2**53 a float no longer holds every whole number: 9007199254740993 is read as 9007199254740992.
_LARGEST_EXACT_FLOAT = 2**53


def id_strings(values: pd.Series) -> pd.Series:
    """Identifiers as stripped strings; whole floats lose their '.0', whether the column holds numbers (17850.0)
    or their text ("17850.0", as a CSV exported from a spreadsheet does), and text a spreadsheet forced to stay
    text (="00123") is that text. Other text is kept as it is: "A.0" or "007" are ids of their own."""
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return whole_number_ids(unforced(values.astype(str).str.strip()))


def whole_number_ids(text: pd.Series) -> pd.Series:
    """Text ids, already stripped and unforced, with a whole float's '.0' dropped: "17850.0" is 17850."""
    return text.str.replace(_WHOLE_FLOAT, r"\1", regex=True)


def unforced(text: pd.Series) -> pd.Series:
    """Cells a spreadsheet forced to stay text as that text: ``="00123"`` is 00123, and a quote inside is written
    twice there. Other cells as they are; ``text``: strings (missing cells stay missing)."""
    forced = forced_text(text)
    if not forced.any():
        return text
    inner = text[forced].str.slice(2, -1).str.replace('""', '"', regex=False)
    return text.mask(forced, inner)


def forced_text(text: pd.Series) -> pd.Series:
    """Which cells a spreadsheet forced to stay text (``="..."``); ``text``: strings, missing cells are not."""
    return text.str.fullmatch(_FORCED_TEXT).fillna(False).astype(bool)


def inexact_ids(values: pd.Series) -> pd.Series:
    """Which ids lost digits before they reached the reader, so that no reading gives them back: text in
    scientific notation, or floats too large to hold a whole number exactly."""
    text = values.astype("string").str.strip()
    inexact = text.str.fullmatch(_SCIENTIFIC).fillna(False).astype(bool)
    if pd.api.types.is_float_dtype(values):
        inexact |= (values.abs() >= _LARGEST_EXACT_FLOAT).fillna(False).astype(bool)
    return inexact


def inexact_id(value: object) -> str:
    """What the person whose id ``inexact_ids`` found is told: why it cannot be read, and how to save it."""
    return (
        f"'{value}' has lost digits: a long number saved in scientific notation or as a decimal (floating-point) "
        "number keeps only its first digits; format the column as text in the spreadsheet (or write the ids as "
        "whole numbers) and save the file again"
    )


def first_inexact_id(values: pd.Series) -> tuple[int, str] | None:
    """The position of the first id of ``values`` that lost digits (``inexact_ids``) with what its file's reader
    says of it (``inexact_id``); none when every id is whole. For the model packages' readers, which refuse a file
    at its first problem."""
    inexact = inexact_ids(values)
    if not inexact.any():
        return None
    position = int(np.flatnonzero(inexact.to_numpy())[0])
    return position, inexact_id(values.iloc[position])
