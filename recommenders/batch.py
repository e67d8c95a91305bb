"""File in, recommendations out: what `tailor recommend --train FILE [--products FILE] --k K --out FILE` runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pandas as pd

from recommenders.catalog import charges_in, charges_warning, validate_products
from recommenders.errors import InvalidData, InvalidInteractions, InvalidProducts
from recommenders.interactions import validate_interactions
from recommenders.registry import create
from recommenders.rules import for_sale
from tabular import (
    empty_file,
    examples,
    has_text,
    is_parquet,
    layout_problem,
    no_text,
    packed,
    read_csv_text,
    rows_of,
    scan_utf8,
    separator_hint,
)
from tabular.encoding import WORKBOOKS

FILE_COLUMNS = ("customer_id", "product_id", "timestamp")
CATALOG_COLUMNS = ("product_id (or sku)", "name, category or description")  # what an empty catalog is told to name


def read_interactions(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file of interactions (customer_id, product_id, timestamp, optional quantity,
    amount, kind) into the shared interactions shape.

    Raises `InvalidInteractions` naming the file (its base name), the column and the row: a CSV file's line (the
    first data row is line 2), a Parquet file's row counted from 1.
    """
    path = Path(path)
    with _named(path):
        frame = _read_table(path, InvalidInteractions, ("customer_id", "product_id"), FILE_COLUMNS)
        missing = [column for column in FILE_COLUMNS if column not in frame.columns]
        if missing:
            found = separator_hint(frame.columns) or f"found: {', '.join(map(str, frame.columns))}"
            raise InvalidInteractions(
                f"has no {', '.join(repr(c) for c in missing)} column ({found})", column=missing[0]
            )
        separator = "\t" if path.suffix.lower() == ".tsv" else ","
        return validate_interactions(frame, rows_of(path, separator, kept=frame.index))


def read_products(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet product catalog: product_id (or sku) and name, category and/or description, as
    `tailor import products` accepts them (see `recommenders.catalog`).

    Raises `InvalidProducts` naming the column and the row, as `read_interactions` does.
    """
    path = Path(path)
    with _named(path):
        frame = _read_table(path, InvalidProducts, ("product_id", "sku"), CATALOG_COLUMNS)
        return validate_products(frame, rows_of(path, kept=frame.index))


@contextmanager
def _named(path: Path, kind: type[InvalidData] = InvalidData) -> Iterator[None]:
    """An error (of ``kind``) about the file at ``path`` names it first, by its base name: `tailor recommend` reads
    two files, and "line 4, column 'product_id'" did not say which."""
    try:
        yield
    except kind as error:
        named = error.in_file(path.name)
        if named is error:
            raise
        raise named from error


def recommend_file(
    train: Path, k: int, model: str = "auto", include_seen: bool = False, products: Path | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> pd.DataFrame:  # fmt: skip
    """Fit `model` on the file (and the `products` catalog file, for the models that read one) and return the
    top-k (customer_id, rank, product_id, score) for every customer in it, from the catalog's products in stock
    when there is one; products a customer already has are left out unless `include_seen`. The frame's
    ``attrs["model"]`` names the model that was fitted (the one `auto` chose), ``attrs["warnings"]`` what the
    person should know of the catalog; `progress` hears (done, total, message) at each of the three steps."""
    report = progress or (lambda done, total, message: None)
    recommender = create(model)
    report(0, 3, "reading the files")
    catalog = read_products(products) if products is not None else None
    interactions = read_interactions(train)
    report(1, 3, f"fitting {model} on {len(interactions):,} interactions")
    # What the fit finds wrong with a file, once both are read (no purchases left once cancellations are taken
    # out), names the file as a reading error does.
    of_catalog = _named(products, InvalidProducts) if products is not None else nullcontext()
    with of_catalog, _named(train, InvalidInteractions):
        recommender.fit(interactions, catalog)
    fitted = getattr(recommender, "chosen", None) or model
    customers = interactions["customer_id"].unique()
    report(2, 3, f"recommending with {fitted} for {len(customers):,} customers")
    # A catalog says what is for sale: lines outside it, marked not recommendable in it (postage, manual
    # adjustments) or out of stock, are never recommended, as the service never shows them.
    allowed = None
    if catalog is not None:
        allowed = pd.Series(for_sale(catalog.set_index("product_id")))
    recommendations = recommender.recommend(customers, k=k, exclude_seen=not include_seen, allowed_products=allowed)
    recommendations.attrs["model"] = fitted
    # Postage bought with every order is recommended from a catalog that does not mark it, as `tailor import
    # products` warns of it.
    charges = charges_in(catalog) if catalog is not None else []
    recommendations.attrs["warnings"] = [charges_warning(charges)] if charges else []
    # A customer who has every product that may be recommended had no line and nothing said of it: a harness
    # joining the output back to its customers read a customer missing as a failed run.
    if left := sorted(set(customers.astype(str)) - set(recommendations["customer_id"].astype(str))):
        why = (
            "the catalog leaves nothing that may be recommended"
            if include_seen
            else "nothing is left to recommend to them once the products they have are left out (--include-seen "
            "keeps those)"
        )
        many = len(left) > 1
        recommendations.attrs["warnings"].append(
            f"{len(left):,} customer{'s have' if many else ' has'} no line ({examples(left)}): {why}"
        )
    report(3, 3, "done")
    return recommendations


def _read_table(
    path: Path, error: type[InvalidData], id_columns: tuple[str, ...], needed: tuple[str, ...]
) -> pd.DataFrame:
    """A CSV/TSV or Parquet file as a frame, id columns read as text; `error` says what was wrong, and what an
    empty file's first line must name (``needed``), as `tailor import` says it."""
    if not path.is_file():
        raise error(f"there is no {error.what} file at {path}", file="")  # the path it was given, folders and all
    suffix = path.suffix.lower()
    try:
        if is_parquet(path):
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt", ".tsv"):
            separator = "\t" if suffix == ".tsv" else ","
            if what := no_text(path):  # a workbook saved as .csv: its bytes may read as text, and say nothing
                raise error(what, file=path.name)
            if not has_text(path):  # the reader said "No columns to parse from file"
                raise error(empty_file(needed), file=path.name)
            if layout := layout_problem(path, separator):
                raise error(layout[1], where=f"line {layout[0]}", file=path.name)
            return read_csv_text(path, sep=separator, dtype=dict.fromkeys(id_columns, str))
    except UnicodeDecodeError as failure:
        scan = scan_utf8(path)  # a workbook or UTF-32 text is so as a whole: no line of it is to blame
        where = None if scan.not_text else f"line {scan.bad_line}"
        raise error(scan.problem() or str(failure), where=where, file=path.name) from failure
    except error:
        raise
    except Exception as failure:
        raise error(f"could not be read: {' '.join(str(failure).split())}", file=path.name) from failure
    workbook = WORKBOOKS.get(suffix)
    if workbook:
        raise error(f"is {workbook}, neither CSV nor Parquet: save the sheet as CSV UTF-8 and use that", file=path.name)
    if compressed := packed(path):  # orders.csv.gz: "neither CSV nor Parquet" left the person to find out why
        raise error(compressed, file=path.name)
    raise error("is neither CSV nor Parquet (use .csv or .parquet)", file=path.name)
