"""How an error names a bad row: a frame's row counted from 1, or a file's line as an editor shows it."""

from __future__ import annotations

import csv
import re
import warnings
from array import array
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

RowName = Callable[[int], str]  # a row's 0-based position -> how the person reading the error finds it
PARQUET_SUFFIXES = (".parquet", ".pq")
# The separators a spreadsheet may save "CSV" with instead of commas (one whose decimal mark is the comma saves
# semicolons), by the word a hint names them with.
OTHER_SEPARATORS = ((";", "semicolons"), ("\t", "tabs"), ("|", "bars"))


def data_row(position: int) -> str:
    """A frame's row, counted from 1 (a Parquet file's rows too: it has no lines)."""
    return f"row {position + 1}"


def file_line(position: int) -> str:
    """A data row's line in a file with a header line: the first data row is line 2, as an editor or a
    spreadsheet shows it (and as ``tailor import`` counts rows)."""
    return f"line {position + 2}"


def is_parquet(path: str | Path) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def rows_of(path: str | Path, separator: str = ",", kept: pd.Index | None = None) -> RowName:
    """How a problem in the file at ``path`` names its row: a CSV's line, which the person fixing the file looks
    for (the line the row starts on, however many lines its cells span), or a Parquet file's row counted from 1
    (it has no lines). ``kept``: the index of the frame ``read_csv_text`` read, whose rows holding no data are gone
    (each row's position among the file's records), so that a row after them is named by its own line."""
    if is_parquet(path):
        return data_row
    lines = record_lines(path, separator)
    records = None if kept is None else kept.to_numpy()

    def line_of(position: int) -> str:
        record = int(records[position]) if records is not None and position < len(records) else position
        return f"line {lines[record + 1]}" if record + 1 < len(lines) else file_line(record)

    return line_of


# The name pandas gives a column whose header cell is empty ("Unnamed: 5"): a spreadsheet's empty columns past the
# data, or the row numbers of a frame saved with its index.
_UNNAMED = re.compile(r"^Unnamed: \d+$")


def unnamed(column: object) -> bool:
    """Whether the reader named this column for a header cell left empty ("Unnamed: 5")."""
    return bool(_UNNAMED.match(str(column).strip()))


def no_data(frame: pd.DataFrame) -> pd.Series:
    """Which rows of a CSV file's frame hold no data: those whose every cell is empty (a line of separators alone,
    ",,,,,", as a spreadsheet saves the formatted rows below its data, holds nothing, as a blank line, which the
    reader skips, does) and those that repeat the header (exports joined into one file). A repeated header's cell
    is empty where the header's is (``unnamed``), and its first cell may hold the byte order mark each joined
    export began with. Only rows whose first cell is empty or the first column's name are looked at whole."""
    if frame.empty or frame.columns.empty:
        return pd.Series(False, index=frame.index)

    def text(column: object, rows: pd.Series | slice = slice(None)) -> pd.Series:
        return frame.loc[rows, column].astype("string").str.lstrip("\ufeff").str.strip().fillna("")

    def like_header(column: object, cells: pd.Series) -> pd.Series:
        return (cells == str(column).lstrip("\ufeff").strip()) | (unnamed(column) & (cells == ""))

    first = frame.columns[0]
    lead = text(first)
    candidates = (lead == "") | like_header(first, lead)
    found = pd.Series(False, index=frame.index)
    if candidates.any():
        cells = {column: text(column, candidates) for column in frame.columns}
        empty = pd.concat([cells[column] == "" for column in frame.columns], axis=1).all(axis=1)
        header = pd.concat([like_header(column, cells[column]) for column in frame.columns], axis=1).all(axis=1)
        found[candidates] = empty | header
    return found


def located(message: str, where: str | None = None, column: str | None = None, file: str | None = None) -> str:
    """``message`` after where it is: "orders.csv, line 4, column 'amount': ...", any part left out when unknown."""
    place = [part for part in (file, where, f"column '{column}'" if column is not None else None) if part]
    return f"{', '.join(place)}: {message}" if place else message


def first_position(mask: pd.Series) -> int:
    """The 0-based position of the first true value of ``mask``."""
    return int(np.flatnonzero(mask.to_numpy())[0])


def how_many_more(mask: pd.Series, what: str = "lines") -> str:
    """ " (1,234 lines have none)" when more than the first row of ``mask`` is true, else "": an export with
    many blank cells (guest orders without a customer id) is told how many, not only where the first is."""
    count = int(mask.sum())
    return f" ({count:,} {what} have none)" if count > 1 else ""


def examples(items: list[str]) -> str:
    """The first three of ``items``, and an ellipsis when there are more: the ids or names a warning gives."""
    return ", ".join(items[:3]) + (", …" if len(items) > 3 else "")


@dataclass(frozen=True)
class CsvScan:
    """What one pass of Python's own CSV reader over a file tells: the line each record starts on, the header first
    (empty when the reader gave up, on a cell past its size limit, say: rows are then named by their position), and
    ``layout``, (line, what is wrong) when the rows do not line up with the header (see ``layout_problem``)."""

    lines: np.ndarray
    layout: tuple[int, str] | None


def scan_csv(path: str | Path, separator: str = ",") -> CsvScan:
    """One pass over a CSV file for both ``record_lines`` and ``layout_problem``, skipping the blank lines pandas
    skips (8 bytes a row; half a second for a million lines)."""
    starts, header, layout = array("q"), None, None
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        reader, previous = csv.reader(handle, delimiter=separator), 0
        try:
            for record in reader:
                if len(record) > 1 or (record and record[0].strip()):
                    starts.append(previous + 1)
                    if header is None:
                        header, layout = record, _repeated_column(record)
                    elif layout is None:
                        layout = _past_header(record, header, previous + 1, separator)
                previous = reader.line_num
        except csv.Error:  # the reader's own limits: pandas reads such a file, or says what is wrong itself
            starts = array("q")
    lines = np.frombuffer(starts, dtype=np.int64) if starts else np.empty(0, dtype=np.int64)
    return CsvScan(lines, layout)


def _repeated_column(header: list[str]) -> tuple[int, str] | None:
    """A column the header names twice (the reader would keep the first and rename the other). Columns without a
    name (a spreadsheet's empty ones past the data) are none: the reader numbers them, and the importers leave them
    out."""
    names = [name.strip() for name in header]
    repeated = next((name for position, name in enumerate(names) if name and name in names[:position]), None)
    return (1, f"the header names column '{repeated}' twice") if repeated is not None and len(names) > 1 else None


def _past_header(record: list[str], header: list[str], line: int, separator: str) -> tuple[int, str] | None:
    """A record with a value past the header's columns (on the first data row, the reader would take the first
    column for row labels, shifting every value one column). A header of one column holding another separator is
    a file with other separators, which the readers hint at instead (``separator_hint``); a header of one column
    that holds none is a file of one column, whose cell holding a comma lost all after it."""
    if len(header) == 1 and separator_hint(header):
        return None
    if len(record) <= len(header) or not any(cell.strip() for cell in record[len(header) :]):
        return None
    holding = {",": "a comma", "\t": "a tab", ";": "a semicolon"}.get(separator, "the separator")
    names = f"{len(header)} column{'s' if len(header) > 1 else ''}"
    return line, f"has {len(record)} cells where the header names {names}: a cell holding {holding} needs quotes"


def separator_hint(columns: Iterable[object]) -> str | None:
    """What a person is told of a header read as one column that holds another separator (a spreadsheet saved with
    semicolons or tabs), else None: the importer and the model packages' readers say it alike."""
    names = [str(column) for column in columns]
    if len(names) != 1:
        return None
    separator = next((name for sign, name in OTHER_SEPARATORS if sign in names[0]), None)
    if separator is None:
        return None
    return (
        f"the header was read as one column, {names[0][:80]!r}: the file looks separated by {separator}; save it as "
        "CSV with commas"
    )


def has_text(path: str | Path) -> bool:
    """Whether the file holds anything but white space (and a byte-order mark), read from its start: an empty one
    is told so, where the reader said "No columns to parse from file"."""
    with Path(path).open("rb") as handle:
        while block := handle.read(1 << 16):
            if block.replace(b"\xef\xbb\xbf", b"").strip():
                return True
    return False


def empty_file(needed: Iterable[str] = ()) -> str:
    """What a person is told of an empty file (``has_text`` false): what its first line must name."""
    at_least = f" (at least {', '.join(needed)})" if needed else ""
    return f"is empty: its first line must name its columns{at_least}"


def record_lines(path: str | Path, separator: str = ",") -> np.ndarray:
    """The line each record of a CSV file starts on, the header first: a record's line is not its position + 2 when
    a quoted cell holds a line break or a blank line comes before it."""
    return scan_csv(path, separator).lines


def layout_problem(path: str | Path, separator: str = ",") -> tuple[int, str] | None:
    """(line, what is wrong) for a CSV file whose rows do not line up with its header, else None: a column named
    twice, or a row with a value past the header's columns. Cells past the header that are all empty, a trailing
    separator on each row as some exports write, are no problem: ``read_csv_text`` leaves them out."""
    return scan_csv(path, separator).layout


@contextmanager
def past_header_left_out() -> Iterator[None]:
    """Around pandas reading a file with ``index_col=False``: the empty cells past the header (a trailing separator
    on each row) are left out, and pandas' warning that they are is not shown."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.ParserWarning)
        yield


def header_columns(path: str | Path, separator: str = ",", encoding: str | None = None) -> range:
    """The positions of a CSV file's header's columns, as ``usecols``: a row's cells past them, all empty where
    ``layout_problem`` found the file sound, are then left out however many a row has. Alone, pandas left out as many
    as the first data row had, and refused a later row with more as one with more cells than the header."""
    return range(len(pd.read_csv(path, sep=separator, encoding=encoding, nrows=0, index_col=False).columns))


def read_csv_text(path: str | Path, **options) -> pd.DataFrame:
    """``pandas.read_csv`` of a file whose layout ``layout_problem`` found sound: cells past the header (all
    empty) are left out, never taken for row labels, and so are the rows that hold no data (``no_data``); the
    index keeps each row's position among the file's records, for ``rows_of``."""
    columns = header_columns(path, options.get("sep", ","), options.get("encoding"))
    with past_header_left_out():
        frame = pd.read_csv(path, index_col=False, usecols=columns, **options)
    return frame[~no_data(frame)]
