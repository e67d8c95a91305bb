"""Reading values from shop files, shared by the importer and the model packages' own file readers."""

from tabular.booleans import FALSE_WORDS, TRUE_WORDS
from tabular.dates import DateOrder, DateOrderProblem, parse_dates
from tabular.encoding import Utf8Scan, no_text, scan_utf8
from tabular.ids import first_inexact_id, forced_text, id_strings, inexact_id, inexact_ids, unforced, whole_number_ids
from tabular.numbers import not_a_number
from tabular.rows import (
    RowName,
    data_row,
    file_line,
    first_position,
    header_columns,
    how_many_more,
    is_parquet,
    layout_problem,
    located,
    no_data,
    past_header_left_out,
    read_csv_text,
    record_lines,
    rows_of,
    scan_csv,
    unnamed,
)

__all__ = [
    "FALSE_WORDS",
    "TRUE_WORDS",
    "DateOrder",
    "DateOrderProblem",
    "RowName",
    "Utf8Scan",
    "data_row",
    "no_text",
    "not_a_number",
    "file_line",
    "first_inexact_id",
    "first_position",
    "header_columns",
    "how_many_more",
    "forced_text",
    "id_strings",
    "inexact_id",
    "inexact_ids",
    "is_parquet",
    "layout_problem",
    "located",
    "no_data",
    "parse_dates",
    "past_header_left_out",
    "read_csv_text",
    "record_lines",
    "rows_of",
    "scan_csv",
    "scan_utf8",
    "unforced",
    "whole_number_ids",
    "unnamed",
]
