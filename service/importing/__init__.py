"""Import of shop data (customers, products, orders, past sends) from CSV or Parquet, validated as a whole."""

from service.importing.load import IMPORTERS, ImportSummary, import_frame, read_table

__all__ = ["IMPORTERS", "ImportSummary", "import_frame", "read_table"]
