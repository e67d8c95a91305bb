"""Reading an import file: refusing one of an unknown format, another encoding, no rows or rows that do not line up
with its header before it is read, naming the file; its rows ``CHUNK_ROWS`` at a time as text columns (or Parquet's
own types); and the numbers problems name its rows by (a CSV file's lines, a Parquet file's rows counted from 1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from service.errors import InvalidInput, Problem
from service.importing.columns import TableSpec
from tabular import (
    empty_file,
    has_text,
    header_columns,
    is_parquet,
    layout_problem,
    no_data,
    packed,
    past_header_left_out,
    scan_csv,
    scan_utf8,
)
from tabular.encoding import WORKBOOKS

# Lines of a file parsed, checked and written at a time (see load.import_file).
CHUNK_ROWS = 100_000
# A CSV file's cells as the text they hold (the importer parses them), with or without a byte-order mark.
# index_col=False: cells past the header (a trailing comma on each row) are left out, never taken for row labels;
# a file whose rows hold values past the header is refused before it is read (tabular.layout_problem).
CSV_TEXT = {"dtype": str, "keep_default_na": False, "encoding": "utf-8-sig", "index_col": False}
CSV_SUFFIXES = (".csv", ".txt")


def read_table(path: Path, name: str | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without a byte-order mark) or Parquet file as text columns; the importer
    parses the values itself. Errors name the file as ``name`` (an upload's own name) or its path."""
    path = Path(path)
    shown = base_name(name or path)
    try:
        require_readable(path, shown)
        if not is_parquet(path):
            require_lined_up(shown, layout_problem(path))
        try:
            with past_header_left_out():
                return (
                    _with_index_as_columns(pd.read_parquet(path)) if is_parquet(path) else pd.read_csv(path, **CSV_TEXT)
                )
        except Exception as error:  # the reader's own message says what is wrong with the file
            raise _unreadable(shown, error) from error
    except InvalidInput as error:
        error.file = shown
        raise


# The CSV reader's words for a row with more cells than the header: the line it names is the file's own.
_RAGGED_ROW = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
# Its words for a quote never closed: the line it names is counted from 0.
_UNCLOSED_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")


def _unreadable(shown: str, error: Exception) -> InvalidInput:
    words = " ".join(str(error).split())
    if ragged := _RAGGED_ROW.search(words):
        expected, line, saw = (int(group) for group in ragged.groups())
        message = f"has {saw} cells where the header names {expected} columns: a cell holding a comma needs quotes"
        return InvalidInput(shown, [Problem(line, None, message)])
    if unclosed := _UNCLOSED_QUOTE.search(words):
        message = "a quoted cell starts on this row and is never closed: the file ends inside it"
        return InvalidInput(shown, [Problem(int(unclosed.group(1)) + 1, None, message)])
    return InvalidInput(shown, [Problem(None, None, f"cannot be read: {words}")])


def _require_utf8(path: Path, shown: str) -> int:
    """A file in another encoding is refused at the line where it stops being UTF-8; returns the number of lines."""
    scan = scan_utf8(path)
    if scan.bad_line is not None:  # a workbook or UTF-32 text is so as a whole: no line of it is to blame
        raise InvalidInput(shown, [Problem(None if scan.not_text else scan.bad_line, None, scan.problem())])
    return scan.lines


def base_name(name: str | Path) -> str:
    """A file's name without its folders, as a problem names the file: the person's own folders say nothing of which
    export it was, a staged upload's are the server's, and a browser may send a Windows path (C:\\shop\\x.csv)."""
    return re.split(r"[\\/]", str(name).rstrip("\\/"))[-1] or str(name)


def require_readable(path: Path, shown: str, spec: TableSpec | None = None) -> int:
    """Refuse a missing file, an unknown format, a CSV that is not UTF-8 or an empty one (saying which columns its
    header must name, given the ``spec``) before anything is read; returns about how many data rows the file holds
    (for progress)."""
    if not path.exists():
        raise InvalidInput(shown, [Problem(None, None, "file not found")])
    if path.is_dir():
        raise InvalidInput(shown, [Problem(None, None, "is a folder, not a file")])
    require_known_format(path, shown)
    if is_parquet(path):
        if path.stat().st_size == 0:  # the reader would say "Parquet file size is 0 bytes"
            raise InvalidInput(
                shown, [Problem(None, None, "is empty (0 bytes): even a Parquet file of no rows names its columns")]
            )
        return parquet_file(path, shown).metadata.num_rows
    lines = _require_utf8(path, shown)
    if not has_text(path):  # the reader said "No columns to parse from file"
        raise InvalidInput(shown, [Problem(None, None, empty_file(spec.required if spec is not None else ()))])
    return max(lines - 1, 0)  # the header is no row (a file of it alone has none)


def require_lined_up(shown: str, layout: tuple[int, str] | None) -> None:
    """Refuse a CSV file whose rows do not line up with its header (``tabular.layout_problem``), by its line."""
    if layout:
        raise InvalidInput(shown, [Problem(layout[0], None, layout[1])])


def require_known_format(path: str | Path, shown: str, file: str | None = None) -> None:
    """Refuse a file whose name says it is neither CSV nor Parquet (a spreadsheet's .xlsx, say, told what to do): an
    upload is refused so before it is stored, not by the job it would have started."""
    suffix = Path(path).suffix.lower()
    if not (is_parquet(path) or suffix in CSV_SUFFIXES):
        workbook = WORKBOOKS.get(suffix)
        to_do = f", and this is {workbook}: save the sheet as CSV UTF-8 and import that" if workbook else ""
        if compressed := packed(path):  # orders.csv.gz: its name ends in neither, and the person asks why not
            to_do = f", and this one {compressed}"
        raise InvalidInput(shown, [Problem(None, None, f"must be a .csv or .parquet (.pq) file{to_do}")], file=file)


def parquet_file(path: Path, shown: str):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as error:  # the reader's own message says what is wrong with the file
        raise _unreadable(shown, error) from error


def parquet_columns(path: Path, shown: str) -> list[str]:
    """The columns a Parquet file's rows are read with: not those pandas wrote its frame's index to
    (``__index_level_0__`` of a frame saved after a filter or a sort), which the reader makes the rows' index."""
    schema = parquet_file(path, shown).schema_arrow
    index = {name for name in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)}
    return [name for name in schema.names if name not in index]


def first_row(path: Path) -> int:
    """How problems number the file's first data row: a CSV's rows are its lines, as an editor or a spreadsheet
    shows them (the header is line 1), a Parquet file's rows are counted from 1 (it has no lines), as
    ``tailor recommend`` and ``tailor audience`` name them too (``tabular.rows_of``)."""
    return 1 if is_parquet(path) else 2


class RowNumbers:
    """The number problems name each data row by, from its 0-based position among the rows the reader gives:
    a Parquet file's row counted from 1, a CSV file's line. A CSV row's line is not its position + 2 when a
    quoted cell holds a line break or blank lines are skipped, so a CSV's records are counted once with Python's
    own reader, as the lines each starts on (8 bytes a row; half a second for a million lines)."""

    def __init__(self, path: Path) -> None:
        self.first = first_row(path)
        scan = None if is_parquet(path) else scan_csv(path)  # one pass: the lines, and whether the rows line up
        self.lines = None if scan is None else scan.lines
        self.layout = None if scan is None else scan.layout

    def __call__(self, position: int) -> int:
        return int(self.of(position, 1)[0])

    def of(self, start: int, count: int) -> pd.Index:
        """The numbers of the ``count`` rows from position ``start``."""
        if self.lines is None or start + count + 1 > len(self.lines):  # the readers disagree: count positions
            return pd.RangeIndex(start + self.first, start + count + self.first)
        return pd.Index(self.lines[start + 1 : start + count + 1])


def file_chunks(
    path: Path, shown: str, numbers: RowNumbers, columns: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The file's rows ``CHUNK_ROWS`` at a time as text columns (or Parquet's own types), each chunk indexed by
    the numbers problems name its rows by (``numbers``)."""
    try:
        if is_parquet(path):
            parts = parquet_file(path, shown).iter_batches(batch_size=CHUNK_ROWS, columns=columns)
            frames = (_with_index_as_columns(part.to_pandas()) for part in parts)
        else:
            within_header = columns if columns is not None else header_columns(path, encoding=CSV_TEXT["encoding"])
            frames = pd.read_csv(path, **CSV_TEXT, chunksize=CHUNK_ROWS, usecols=within_header)
        start, chunks = 0, 0
        with past_header_left_out():
            for chunk in frames:
                numbered = chunk.set_axis(numbers.of(start, len(chunk)))
                yield numbered if is_parquet(path) or columns is not None else _data_rows(numbered)
                start, chunks = start + len(chunk), chunks + 1
        if chunks == 0 and is_parquet(path):  # no batch at all: its columns are checked as a header-only CSV's are
            names = parquet_file(path, shown).schema_arrow.names
            yield pd.DataFrame(columns=[name for name in names if columns is None or name in columns])
    except InvalidInput:
        raise
    except Exception as error:  # the reader's own message says what is wrong with the file
        raise _unreadable(shown, error) from error


def _data_rows(chunk: pd.DataFrame) -> pd.DataFrame:
    """A CSV chunk less its rows that hold no data (``tabular.no_data``: lines of separators alone, repeated
    header lines)."""
    empty = no_data(chunk)
    return chunk[~empty] if empty.any() else chunk


def _with_index_as_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A Parquet file's rows with the columns pandas saved as their index (``set_index("sku")`` before
    ``to_parquet``) back among the others: the file holds them as columns, and they were "missing"."""
    named = [name for name in frame.index.names if name is not None]
    return frame.reset_index(level=named) if named else frame


def csv_header(path: Path, shown: str) -> list[str]:
    try:
        return list(pd.read_csv(path, **CSV_TEXT, nrows=0).columns)
    except Exception as error:  # an empty file, say: the reader's own message says what is wrong
        raise _unreadable(shown, error) from error
