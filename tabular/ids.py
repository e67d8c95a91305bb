"""Identifiers read from shop files as the text a person would type: a spreadsheet's 17850.0 is id 17850."""

from __future__ import annotations

import pandas as pd

# A whole number written as a float: what a spreadsheet or pandas makes of an integer id column with a gap in it.
_WHOLE_FLOAT = r"^(\d+)\.0$"


def id_strings(values: pd.Series) -> pd.Series:
    """Identifiers as stripped strings; whole floats lose their '.0', whether the column holds numbers (17850.0)
    or their text ("17850.0", as a CSV exported from a spreadsheet does). Other text is kept as it is: "A.0" or
    "007" are ids of their own."""
    if pd.api.types.is_float_dtype(values) and (values.dropna() % 1 == 0).all():
        values = values.astype("Int64")
    return values.astype(str).str.strip().str.replace(_WHOLE_FLOAT, r"\1", regex=True)
