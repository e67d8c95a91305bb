"""Reading values from shop files, shared by the importer and the model packages' own file readers."""

from tabular.dates import DateOrder, DateOrderProblem, parse_dates
from tabular.ids import id_strings
from tabular.rows import RowName, data_row, file_line, first_position, how_many_more

__all__ = [
    "DateOrder",
    "DateOrderProblem",
    "RowName",
    "data_row",
    "file_line",
    "first_position",
    "how_many_more",
    "id_strings",
    "parse_dates",
]
