"""How an error names a bad row: a frame's row counted from 1, or a file's line as an editor shows it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

RowName = Callable[[int], str]  # a row's 0-based position -> how the person reading the error finds it
PARQUET_SUFFIXES = (".parquet", ".pq")


def data_row(position: int) -> str:
    """A frame's row, counted from 1 (a Parquet file's rows too: it has no lines)."""
    return f"row {position + 1}"


def file_line(position: int) -> str:
    """A data row's line in a file with a header line: the first data row is line 2, as an editor or a
    spreadsheet shows it (and as ``tailor import`` counts rows)."""
    return f"line {position + 2}"


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def rows_of(path: str | Path) -> RowName:
    """How a problem in the file at ``path`` names its row: a CSV's line, which the person fixing the file looks
    for, or a Parquet file's row counted from 1 (it has no lines)."""
    return data_row if is_parquet(path) else file_line


def located(message: str, where: str | None = None, column: str | None = None) -> str:
    """``message`` after where it is: "line 4, column 'amount': ...", either part left out when unknown."""
    place = [part for part in (where, f"column '{column}'" if column is not None else None) if part]
    return f"{', '.join(place)}: {message}" if place else message


def first_position(mask: pd.Series) -> int:
    """The 0-based position of the first true value of ``mask``."""
    return int(np.flatnonzero(mask.to_numpy())[0])


def how_many_more(mask: pd.Series, what: str = "lines") -> str:
    """ " (1,234 lines have none)" when more than the first row of ``mask`` is true, else "": an export with
    many blank cells (guest orders without a customer id) is told how many, not only where the first is."""
    count = int(mask.sum())
    return f" ({count:,} {what} have none)" if count > 1 else ""
