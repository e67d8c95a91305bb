"""What the checks of every kind share: the rows a test picks out, a key that names no stored row, and a time that
has not come yet."""

from __future__ import annotations

import pandas as pd

from service.clock import utcnow
from service.errors import Problem


def rows_where(mask: pd.Series) -> list[int]:
    return [int(i) for i in mask.index[mask]]


def unknown_references(rows: pd.DataFrame, resolved: str, column: str, what: str, kind: str) -> list[Problem]:
    """A problem for each row whose ``column`` names no stored row (``resolved`` is NaN), quoting the key; an empty
    key is said to be empty already (parse_table)."""
    missing = rows[resolved].isna() & (rows[column] != "")
    return [
        Problem(r, column, f"unknown {what} '{key}'; import {kind} first")
        for r, key in zip(rows_where(missing), rows[column][missing], strict=True)
    ]


def not_yet(timestamps: pd.Series) -> pd.Series:
    """Which times are after tomorrow: a day of slack for clocks and zones, beyond it a typing mistake (2031 for
    2011 would make every customer look lapsed to the audience models)."""
    return timestamps > pd.Timestamp(utcnow()) + pd.Timedelta(days=1)
