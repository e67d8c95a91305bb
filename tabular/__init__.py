"""Reading values from shop files, shared by the importer and the model packages' own file readers."""

from tabular.dates import DateOrderProblem, parse_dates

__all__ = ["DateOrderProblem", "parse_dates"]
