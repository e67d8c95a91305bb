"""The file-to-file audience command behind ``tailor audience --orders FILE --as-of DATE --horizon-days N``."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from audience.errors import InvalidOrders
from audience.orders import REQUIRED_COLUMNS, RETURNED_WHOLE, as_timestamp
from audience.profiles import SHOWN_DECIMALS, build_profiles
from audience.progress import Progress
from tabular import (
    empty_file,
    has_text,
    is_parquet,
    layout_problem,
    no_text,
    read_csv_text,
    rows_of,
    scan_utf8,
    separator_hint,
)

OUTPUT_COLUMNS = [
    "customer_id", "recency_days", "frequency", "monetary", "rfm_segment", "cluster", "cluster_label", "p_alive",
    "churn_risk", "expected_purchases", "clv", "next_purchase_date",
]  # fmt: skip


TEXT_COLUMNS = ("customer_id", "order_id", "product_id", "category", "kind")


def _separator_hint(path: Path) -> str:
    """A hint when the file's header looks separated by something other than commas, as `tailor import` words it,
    else ''."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:  # a sheet's "CSV UTF-8" begins with a BOM
        header = handle.readline().rstrip("\r\n")
    hint = separator_hint(header.split(","))
    return f": {hint}" if hint else ""


def read_orders(path: Path) -> pd.DataFrame:
    """Orders from a CSV or Parquet file (``customer_id, timestamp, amount``; ``order_id``, ``product_id``,
    ``quantity``, ``category``, ``discount`` and ``kind`` optional)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidOrders(f"the orders file {path} does not exist")
    if is_parquet(path):
        try:
            return pd.read_parquet(path)
        except Exception as error:  # pyarrow's words say what is wrong with the file
            raise InvalidOrders(f"the orders file {path} cannot be read as Parquet: {error}") from error
    try:
        if what := no_text(path):  # a workbook saved as .csv: its bytes may read as text, and say nothing
            raise InvalidOrders(what, where=f"the orders file {path}")
        if not has_text(path):  # the reader said "No columns to parse from file"
            raise InvalidOrders(empty_file(REQUIRED_COLUMNS), where=f"the orders file {path}")
        if layout := layout_problem(path):
            raise InvalidOrders(layout[1], where=f"the orders file {path}, line {layout[0]}")
        orders = read_csv_text(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    except UnicodeDecodeError as error:
        scan = scan_utf8(path)
        raise InvalidOrders(
            scan.problem() or str(error), where=f"the orders file {path}, line {scan.bad_line}"
        ) from error
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InvalidOrders(
            f"the orders file {path} is not a readable CSV file ({error}){_separator_hint(path)}"
        ) from error
    if not set(REQUIRED_COLUMNS) <= set(orders.columns) and _separator_hint(path):
        raise InvalidOrders(
            f"the orders file {path} has no columns {', '.join(REQUIRED_COLUMNS)}{_separator_hint(path)}"
        )
    return orders


def audience_from_file(
    orders: Path, as_of: date, horizon_days: int = 90, progress: Progress | None = None, threads: int = 1
) -> pd.DataFrame:
    """Per customer: ``OUTPUT_COLUMNS``, rounded as ``profiles.SHOWN_DECIMALS`` says, with ``next_purchase_date``
    as an ISO date (empty when none is expected); ``attrs["fallbacks"]`` says which models fell back, and why.
    ``progress`` hears ``build_profiles``'s steps once the file is read; ``threads`` are the churn trees' threads."""
    lines = read_orders(orders)
    row_name = rows_of(orders, kept=lines.index)
    try:
        profiles = build_profiles(
            lines, as_of, horizon_days=horizon_days, row_name=row_name, progress=progress, threads=threads
        )
    except InvalidOrders as error:  # a problem names its file first, as the reader's own errors do
        if error.file is not None:
            raise
        raise InvalidOrders(error.message, column=error.column, where=error.where, file=Path(orders).name) from error
    table = profiles.reset_index()[OUTPUT_COLUMNS]
    table.attrs["fallbacks"] = profiles.attrs["fallbacks"]
    table.attrs["warnings"] = profiles.attrs["warnings"] + _returned_whole(profiles.attrs[RETURNED_WHOLE], as_of)
    table["next_purchase_date"] = pd.to_datetime(table["next_purchase_date"]).dt.strftime("%Y-%m-%d")
    return table.round(SHOWN_DECIMALS)


SHOWN_CUSTOMERS = 5  # of the customers a warning names; it counts them all


def _returned_whole(missing: list[str], as_of: date) -> list[str]:
    """A warning naming the customers who bought before ``as_of`` and have no profile: their returns cancel all
    they bought (a return no purchase matched comes off their spend), so they left the output without a word."""
    if not missing:
        return []
    named = ", ".join(missing[:SHOWN_CUSTOMERS]) + (
        f" and {len(missing) - SHOWN_CUSTOMERS} more" if len(missing) > SHOWN_CUSTOMERS else ""
    )
    return [
        f"{len(missing)} customer{'s' if len(missing) > 1 else ''} bought before {as_timestamp(as_of).date()} but "
        f"{'are' if len(missing) > 1 else 'is'} not in the output: their returns cancel all they bought ({named})"
    ]
