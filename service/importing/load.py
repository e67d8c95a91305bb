"""Validates an import file and writes it in the caller's transaction: new keys are inserted, known keys updated,
and the rows of erased customers left out (service.importing.erased).

Every kind is read a chunk of lines at a time, so that a file of millions of customers or order lines is imported in
bounded memory (see import_file). Here the problems of a file are gathered and its chunks led through; how a file is
read is service.importing.files, and each kind's checks, writes and warnings are its own module (customers,
products, orders, sends), their shared writing service.importing.writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.consent import ImportSource
from service.db.data_versions import ORDERS, count_write
from service.erasures import Erasures
from service.errors import MAX_PROBLEMS, InvalidInput, Problem
from service.importing.columns import SPECS, TableSpec, parse_table, too_many_attributes, unread_columns
from service.importing.customer_locks import lock_customers
from service.importing.customer_plans import PlannedChunks, planned
from service.importing.customer_rows import unknown_countries
from service.importing.customers import (
    check_customers,
    count_languages,
    customer_keys,
    default_locale_warnings,
    ids_without_locale,
    import_customers,
    locale_warnings,
    needing_smtputf8,
    shared_address_warnings,
    smtputf8_warnings,
    unknown_country_warnings,
    write_customers,
)
from service.importing.date_orders import ColumnOrder, column_order, order_name, settle, settled_by, settled_orders
from service.importing.erased import erased_warnings, without_erased
from service.importing.files import (
    RowNumbers,
    base_name,
    csv_header,
    file_chunks,
    parquet_columns,
    parquet_file,
    require_lined_up,
    require_readable,
)
from service.importing.orders import check_orders, import_orders
from service.importing.products import (
    check_products,
    fee_warnings,
    import_products,
    looking_like_fees,
    skus_priced_zero,
    skus_without_url,
    url_warnings,
    zero_price_warnings,
)
from service.importing.sends import check_sends, import_sends
from service.importing.writes import ImportSummary, Report, progress_after, silent, summed
from tabular import (
    DateOrder,
    examples,
    is_parquet,
)
from tabular.dates import NUMERIC_DATE


def import_file(
    session: Session, kind: str, path: Path, name: str | None = None, progress: Report | None = None,
    job_id: str | None = None, day_first: bool | None = None,
) -> ImportSummary:  # fmt: skip
    """Validate the file at ``path`` as an import of `kind` and write it (see ``_import_file``); an InvalidInput
    names the file by its base name (``InvalidInput.file``), which the API's answer gives with each problem. The
    consent changes it makes, and the order of dates it settles, are recorded as of the file's base name and
    ``job_id``, when it runs as a job. ``day_first``: the order of the file's numeric dates, as the shop gave it
    (None: the file's own, or the one settled for ``kind``: service.importing.date_orders)."""
    try:
        return _import_file(session, kind, path, name, progress, job_id, day_first)
    except InvalidInput as error:
        error.file = base_name(name or path)
        raise


def _import_file(
    session: Session, kind: str, path: Path, name: str | None = None, progress: Report | None = None,
    job_id: str | None = None, day_first: bool | None = None,
) -> ImportSummary:  # fmt: skip
    """Validate the file at ``path`` as an import of `kind` and write it; raises InvalidInput naming the file
    (as ``name``, an upload's own name) and its lines, and the caller's transaction then writes nothing.

    The file goes ``CHUNK_ROWS`` lines at a time, so memory holds one chunk whatever the file's size: each chunk
    is parsed, checked and written (a customers file's chunks are all planned before the first is written:
    service.importing.customer_plans); after the first problem the rest are only checked, so that the error lists
    the file's problems as for a whole table (up to ``MAX_PROBLEMS``). A key repeated across chunks is found in
    what this import already wrote (order lines, sends) or in the keys of the earlier chunks, kept in memory
    (customers, products: one per customer or product), and numeric dates are read in the order of the whole
    file's column, or the one given or settled (``_date_orders``)."""
    require_kind(kind)
    path, spec, report = Path(path), SPECS[kind], progress or silent
    # The kind and the file's own name (not its folders, nor a staged upload's): which of the files a shop imported,
    # maybe in jobs side by side, each problem is of.
    shown = f"{kind} file {base_name(name or path)}"
    lines = require_readable(path, shown, spec)
    numbers = RowNumbers(path)
    require_lined_up(shown, numbers.layout)
    header = parquet_columns(path, shown) if is_parquet(path) else csv_header(path, shown)
    if too_many := too_many_attributes(header, spec):  # before a chunk of its every column is read
        raise InvalidInput(shown, too_many)
    source = ImportSource(base_name(name or path), job_id)
    date_orders = _date_orders(session, path, shown, spec, numbers, day_first)
    dates_day_first = {column: order.day_first for column, order in date_orders.items()}
    problems = [  # every other problem is named too
        Problem(numbers(order.problem[0]), column, order.problem[1])
        for column, order in date_orders.items()
        if order.problem
    ]
    unordered = {problem.column for problem in problems if problem.column}
    earlier_keys = _EarlierKeys(spec.key)
    erasures = Erasures.read(session)
    erased_rows: list[Problem] = []  # what each row of an erased customer, left out, was
    languages = pd.Series(dtype="int64")  # customers per language without email templates
    needs_smtputf8: list[str] = []  # customers whose address only a mail server offering SMTPUTF8 takes
    without_locale: list[str] = []  # customers the file gives no language
    no_countries: list[str] = []  # the `country` of each customer without a zone where it names no country
    without_url: list[str] = []  # products an email cannot link to
    fees: list[str] = []  # products named as a charge, not merchandise, that the file does not mark
    priced_zero: list[str] = []  # products in stock whose emails would show them at 0
    summaries: list[ImportSummary] = []  # what each chunk wrote, or a customers file's chunks all together
    if kind == "customers":  # every stored customer of the file, before its first chunk is read
        lock_customers(session, customer_keys(path, shown, numbers))
        plans = PlannedChunks(session)  # every chunk planned before any is written (service.importing.customer_plans)
    chunks = file_chunks(path, shown, numbers)
    for chunk in chunks:
        parsed, found = parse_table(chunk, spec, dates_day_first)
        found = _order_unknown(found, chunk, unordered)
        if not set(spec.required) <= set(parsed.columns):
            raise InvalidInput(shown, found)  # a missing column: every chunk would say so
        found += earlier_keys.repeated_in(parsed)  # every row's, those of erased customers too
        parsed, erased = without_erased(session, kind, parsed, erasures)
        found += _not_named_yet(CHECKS[kind](session, parsed), found)
        problems += found
        if len(problems) >= MAX_PROBLEMS:
            break
        if not problems:
            erased_rows += erased
            if kind == "customers":
                plans.add(planned(session, parsed, utcnow()), parsed)
                report(0, max(lines, plans.rows), "comparing customers")  # none written yet
                languages = count_languages(languages, parsed)
                needs_smtputf8 += needing_smtputf8(parsed)
                without_locale += ids_without_locale(parsed)
                no_countries += unknown_countries(parsed)
            else:
                done = sum(summary.rows for summary in summaries)
                summaries.append(IMPORTERS[kind](session, parsed, progress_after(done, lines, report)))
            if kind == "products":
                without_url += skus_without_url(parsed)
                fees += looking_like_fees(parsed)
                priced_zero += skus_priced_zero(parsed)
    if problems:
        if kind == "customers":
            plans.close()
        ordered = sorted(problems, key=lambda p: (p.row or 0, p.column or ""))
        stopped_early = next(chunks, None) is not None
        listed = _listed(ordered, stopped_early)
        raise InvalidInput(shown, listed, found=len(ordered), checked_all=not stopped_early)
    if kind == "customers":
        summaries.append(write_customers(session, plans, report, source))
    written = summed(ImportSummary(kind, 0, 0, 0), *summaries)
    _count_orders_write(session, written)
    warnings = _unread_warnings(unread_columns(header, spec), spec)
    warnings += locale_warnings(languages) + smtputf8_warnings(needs_smtputf8) + url_warnings(without_url)
    warnings += default_locale_warnings(without_locale) + unknown_country_warnings(no_countries)
    warnings += fee_warnings(session, fees) + zero_price_warnings(session, priced_zero)
    if kind == "customers":
        warnings += shared_address_warnings(session, lambda ids: earlier_keys.held(pd.DataFrame({"customer_id": ids})))
    warnings += erased_warnings(erased_rows)
    left_out = {"left_out": len(erased_rows), "left_out_rows": tuple(erased_rows)}
    _settle(session, shown, kind, date_orders, source)
    read_as = tuple(order.read_as for order in date_orders.values() if order.read_as)
    return replace(written, warnings=warnings, **left_out, date_orders=read_as)


def _not_named_yet(checked: list[Problem], parsed: list[Problem]) -> list[Problem]:
    """The problems the checks of parsed rows found, less those of a cell whose value parsing found wrong already:
    an id that lost its digits (1.23457E+16) is named as that, the cause, not again as an unknown customer; and
    less those of a row parsing found wrong as a whole (a spreadsheet's totals row)."""
    named = {(problem.row, problem.column) for problem in parsed if problem.row is not None}
    whole = {problem.row for problem in parsed if problem.row is not None and problem.column is None}
    return [p for p in checked if (p.row, p.column) not in named and p.row not in whole]


def _listed(problems: list[Problem], stopped_early: bool) -> list[Problem]:
    """The first ``MAX_PROBLEMS`` problems, then a line saying how many there were and whether checking stopped
    before the end of the file (it does once a chunk brings the count to the limit)."""
    if len(problems) <= MAX_PROBLEMS and not stopped_early:
        return problems
    counted = f"{len(problems):,} problems found, the first {min(len(problems), MAX_PROBLEMS):,} listed"
    rest = "; checking stopped before the end of the file" if stopped_early else ""
    return [*problems[:MAX_PROBLEMS], Problem(None, None, counted + rest)]


class _EarlierKeys:
    """The keys the file's earlier chunks held, as 64-bit hashes with the row each was first on (16 bytes a row:
    26 MB for 1.6 million order lines), so that a key repeated in a later chunk is refused as one repeated within
    a chunk is, naming that row, whether or not the database held it before this import (a chance collision of
    two keys' hashes is about 1 in 10^7 for a file of 1.6 million lines, and would refuse the file, never write it
    wrong)."""

    def __init__(self, key: tuple[str, ...]) -> None:
        self.key = list(key)
        self.hashes = np.empty(0, dtype=np.uint64)  # sorted
        self.rows = np.empty(0, dtype=np.int64)  # the row of each hash

    def held(self, rows: pd.DataFrame) -> np.ndarray:
        """Per row of ``rows`` (the key's columns), whether an earlier chunk held its key."""
        return np.isin(pd.util.hash_pandas_object(rows[self.key], index=False).to_numpy(), self.hashes)

    def repeated_in(self, rows: pd.DataFrame) -> list[Problem]:
        """The chunk's rows whose key an earlier chunk held; the chunk's keys join the earlier ones."""
        hashes = pd.util.hash_pandas_object(rows[self.key], index=False).to_numpy()
        numbers = rows.index.to_numpy(dtype=np.int64)
        at = np.minimum(np.searchsorted(self.hashes, hashes), max(len(self.hashes) - 1, 0))
        found = self.hashes[at] == hashes if len(self.hashes) else np.zeros(len(hashes), dtype=bool)
        problems = [
            Problem(int(row), ", ".join(self.key), f"the same key is on row {int(earlier)}")
            for row, earlier in zip(numbers[found], self.rows[at[found]], strict=True)
        ]
        joined = np.concatenate([self.hashes, hashes[~found]])
        order = np.argsort(joined, kind="stable")  # a key's earliest row first
        self.hashes, first = np.unique(joined[order], return_index=True)
        self.rows = np.concatenate([self.rows, numbers[~found]])[order][first]
        return problems


def _date_orders(
    session: Session, path: Path, shown: str, spec: TableSpec, numbers: RowNumbers, given: bool | None
) -> dict[str, ColumnOrder]:
    """For each date column of ``spec`` in the file, how its numeric dates are read (``date_orders.column_order``):
    in the order ``given`` with the file, else the one settled for the kind, else the whole column's own (a chunk's
    dates may all be ambiguous where the file's are not); the numeric dates of a column with a problem (its order
    unknown, or a date only the other order reads) are not named again (``_order_unknown``)."""
    header = parquet_file(path, shown).schema_arrow.names if is_parquet(path) else csv_header(path, shown)
    named = {str(column).strip(): column for column in header}
    settled = settled_orders(session, spec.name)
    decided = {}
    for column in (c.name for c in spec.columns if c.kind == "timestamp" and c.name in named):
        order, position = DateOrder(), 0
        for chunk in file_chunks(path, shown, numbers, [named[column]]):
            order.add(chunk[named[column]].astype("string").str.strip(), position)
            position += len(chunk)
        decided[column] = column_order(spec.name, order, given, settled.get(column), lambda at: f"row {numbers(at)}")
    return decided


def _settle(session: Session, shown: str, kind: str, orders: dict[str, ColumnOrder], source: ImportSource) -> None:
    """Settle the kind's order of each date column the file settles; refuse the file (nothing written) when an
    import beside it settled the other order meanwhile."""
    for column, order in orders.items():
        if not order.settles:
            continue
        settled = settle(session, kind, column, order.day_first, source)
        if settled.day_first != order.day_first:
            message = (
                f"its dates were read {order_name(order.day_first)}, but an import beside this one settled "
                f"{kind} files as {order_name(settled.day_first)} meanwhile ({settled_by(settled)}); import it again"
            )
            raise InvalidInput(shown, [Problem(None, column, message)])


def _order_unknown(found: list[Problem], chunk: pd.DataFrame, columns: set[str]) -> list[Problem]:
    """``found`` less the problems of the numeric dates of ``columns``, whose order is unknown or contradicted (one
    problem says so for the column): read in one order, a date of the other would be named as no date."""
    if not columns:
        return found
    named = {str(column).strip(): column for column in chunk.columns}
    return [
        problem
        for problem in found
        if not (
            problem.column in columns
            and problem.row is not None
            and re.match(NUMERIC_DATE, str(chunk.at[problem.row, named[problem.column]]))
        )
    ]


def import_frame(session: Session, kind: str, frame: pd.DataFrame, progress: Report | None = None) -> ImportSummary:
    """Validate `frame` as an import of `kind` and write it; raises InvalidInput and writes nothing on errors.
    `progress` hears (rows written, rows, message) while a big file is written."""
    require_kind(kind)
    # Rows are named as the lines of the CSV file the frame would be: its first row is line 2.
    parsed, problems = parse_table(frame.set_axis(pd.RangeIndex(2, 2 + len(frame))), SPECS[kind])
    erased: list[Problem] = []
    if set(SPECS[kind].required) <= set(parsed.columns):
        parsed, erased = without_erased(session, kind, parsed, Erasures.read(session))
        problems += _not_named_yet(CHECKS[kind](session, parsed), problems)
    if problems:
        raise InvalidInput(f"{kind} file", sorted(problems, key=lambda p: (p.row or 0, p.column or "")))
    summary = IMPORTERS[kind](session, parsed, progress or silent)
    _count_orders_write(session, summary)
    warnings = _unread_warnings(unread_columns(list(frame.columns), SPECS[kind]), SPECS[kind])
    if kind == "products":
        warnings += url_warnings(skus_without_url(parsed)) + fee_warnings(session, looking_like_fees(parsed))
        warnings += zero_price_warnings(session, skus_priced_zero(parsed))
    elif kind == "customers":
        languages = count_languages(pd.Series(dtype="int64"), parsed)
        warnings += locale_warnings(languages) + smtputf8_warnings(needing_smtputf8(parsed))
        warnings += default_locale_warnings(ids_without_locale(parsed))
        warnings += unknown_country_warnings(unknown_countries(parsed))
        warnings += shared_address_warnings(session, lambda ids: np.isin(ids, parsed.customer_id))
    return replace(
        summary, warnings=warnings + erased_warnings(erased), left_out=len(erased), left_out_rows=tuple(erased)
    )


def _count_orders_write(session: Session, written: ImportSummary) -> None:
    """Count an orders import that wrote a line, new or updated (``data_versions``): once, as it ends, so that on
    PostgreSQL the count's row is locked for the commit alone, not through the file's chunks."""
    if written.kind == "orders" and not written.changed_nothing:
        count_write(session, ORDERS)


def require_kind(kind: str) -> None:
    """InvalidInput naming the kinds, for one that is none of them."""
    if kind not in IMPORTERS:
        raise InvalidInput("import", [Problem(None, None, f"unknown kind '{kind}', use one of {', '.join(IMPORTERS)}")])


def _unread_warnings(columns: list[str], spec: TableSpec) -> tuple[str, ...]:
    """Columns nothing was read from: a misspelt optional one ("recomendable", "Discount") was dropped in silence,
    and so was a product's "artist", which a customer's extra column would have kept as an attribute."""
    if not columns:
        return ()
    named = examples([f"'{column[:40]}'" for column in columns])
    which = "column" if len(columns) == 1 else "columns"
    read = ", ".join(column.name for column in spec.columns)
    article = "an" if spec.name[0] in "aeiou" else "a"  # "an orders file"
    return (
        f"nothing was read from the {which} {named}: {article} {spec.name} file's columns are {read} (names as written "
        "here, in any order; only a customers file keeps other columns, as attributes).",
    )


CHECKS: dict[str, Callable[[Session, pd.DataFrame], list[Problem]]] = {
    "customers": check_customers,
    "products": check_products,
    "orders": check_orders,
    "sends": check_sends,
}
IMPORTERS: dict[str, Callable[[Session, pd.DataFrame, Report], ImportSummary]] = {
    "customers": import_customers,
    "products": import_products,
    "orders": import_orders,
    "sends": import_sends,
}
