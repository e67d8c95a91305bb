"""How an error names a bad row: a frame's row counted from 1, or a file's line as an editor shows it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

RowName = Callable[[int], str]  # a row's 0-based position -> how the person reading the error finds it


def data_row(position: int) -> str:
    """A frame's row, counted from 1 (a Parquet file's rows too: it has no lines)."""
    return f"row {position + 1}"


def file_line(position: int) -> str:
    """A data row's line in a file with a header line: the first data row is line 2, as an editor or a
    spreadsheet shows it (and as ``tailor import`` counts rows)."""
    return f"line {position + 2}"


def first_position(mask: pd.Series) -> int:
    """The 0-based position of the first true value of ``mask``."""
    return int(np.flatnonzero(mask.to_numpy())[0])


def how_many_more(mask: pd.Series, what: str = "lines") -> str:
    """ " (1,234 lines have none)" when more than the first row of ``mask`` is true, else "": an export with
    many blank cells (guest orders without a customer id) is told how many, not only where the first is."""
    count = int(mask.sum())
    return f" ({count:,} {what} have none)" if count > 1 else ""
