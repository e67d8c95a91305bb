"""Reading values from shop files, shared by the importer and the model packages' own file readers."""

from tabular.dates import DateOrder, DateOrderProblem, parse_dates

__all__ = ["DateOrder", "DateOrderProblem", "parse_dates"]
