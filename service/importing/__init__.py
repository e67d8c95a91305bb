"""Import of shop data (customers, products, orders, past sends) from CSV or Parquet: a file with any problem
is refused whole, naming its lines, and nothing of it is written; the rows of erased customers are left out, and a
warning names them."""

from service.importing.files import read_table, require_known_format
from service.importing.load import IMPORTERS, import_file, import_frame
from service.importing.writes import ImportSummary

__all__ = ["IMPORTERS", "ImportSummary", "import_file", "import_frame", "read_table", "require_known_format"]
