"""The documented columns of each import kind and the parsing of their values, reporting every bad cell."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from generation.invisible import HIDDEN, first_hidden, visible
from service.bounds import AMOUNT_MAX, COUNT_MAX, QUANTITY_MAX
from service.db.models import Customer, Interaction, Product, Send
from service.errors import Problem
from tabular import (
    FALSE_WORDS,
    TRUE_WORDS,
    forced_text,
    inexact_id,
    inexact_ids,
    not_a_number,
    parse_dates,
    separator_hint,
    unforced,
    unnamed,
    whole_number_ids,
)

INTERACTION_KINDS = ("purchase", "cart", "view", "return")
CAMPAIGN_TYPES = ("welcome", "cross_sell", "win_back", "replenishment", "vip")
# The most characters a free text keeps where its database column bounds none (README, Import columns): a 20 MB
# `notes` attribute and a 20 MB description were imported, answered whole by the API, and went towards the prompts.
DESCRIPTION_MAX = 5_000  # a catalog page's description; the copy prompts read its first 200 (generation.copywriter)
SUBJECT_MAX = 998  # the longest line a mail header holds (RFC 5322)
PREHEADER_MAX = 1_000
INTRO_MAX = 5_000
ATTRIBUTE_MAX = 1_000  # a customer's attribute, which an audience query compares and a template may show
ATTRIBUTE_NAME_MAX = 200  # the name an audience query gives it (attributes.NAME)
# The attribute columns a customers file keeps (README, Import columns): each is stored on every customer and offered
# to audience queries, and a file of thousands of columns was stored whole, row by row.
ATTRIBUTE_COLUMNS_MAX = 200


# 4,99 or 1,299.00 or 1.299,00, or 1 299,00 with the no-break space (U+00A0, U+202F) a French spreadsheet writes
@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # id (text read as tabular.id_strings reads it: 17850.0 is 17850), text, bool, number, timestamp
    required: bool = True
    allow_empty: bool = False
    default: object = None
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    whole: bool = False  # a number that counts things: 2.5 is refused
    stored: object = None  # the database column a text value is written to, which bounds its length
    kept_when_missing: bool = False  # a file without the column leaves a stored row's value (None in the frame)
    # The kinds of line (the `kind` column's values) whose cell may be empty, read as ``empty_as``: a view or cart
    # event has no amount paid, and a shop's export of them leaves it out.
    empty_for_kinds: tuple[str, ...] = ()
    empty_as: object = None
    # Text an email shows its reader, kept without direction controls and characters that take no room
    # (generation.invisible): a supplier's feed turned a product line around, and hid words from the copy checks.
    shown: bool = False
    # An address, which a character no one sees makes another (whom the email goes to, where its link leads): refused
    # rather than dropped.
    exact: bool = False
    most: int | None = None  # the most characters a text keeps whose database column bounds none (a description)

    @property
    def max_length(self) -> int | None:
        """The most characters the value keeps: ``most``, else the database column's (None: any). SQLite would
        store more, PostgreSQL refuses the whole import with a database error that names no line."""
        return self.most or getattr(getattr(self.stored, "type", None), "length", None)


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    keep_extra: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]


CUSTOMERS = TableSpec(
    "customers",
    key=("customer_id",),
    columns=(
        Column("customer_id", "id", stored=Customer.external_id),
        Column("email", "text", stored=Customer.email, exact=True),
        Column("first_name", "text", allow_empty=True, stored=Customer.first_name, shown=True),
        # none given (no column, an empty cell): a stored customer keeps theirs, a new one gets the shop's default
        Column("locale", "text", required=False, allow_empty=True, kept_when_missing=True, stored=Customer.locale),
        # An IANA zone, whose clock the customer's send hours are (service.send_times); none given (no column, an
        # empty cell): a stored customer keeps theirs, a new one has the shop's (customers.import_customers)
        Column("timezone", "text", required=False, allow_empty=True, kept_when_missing=True, stored=Customer.timezone),
        Column("marketing_consent", "bool"),
        # When the shop collected that consent, kept only where the consent is new or changed
        # (customers.import_customers)
        Column("consent_at", "timestamp", required=False, allow_empty=True, kept_when_missing=True),
        # An import may set these, never clear them: see customers.import_customers.
        Column("unsubscribed", "bool", required=False, default=False),
        Column("email_bounced", "bool", required=False, default=False),
    ),
    keep_extra=True,
)
PRODUCTS = TableSpec(
    "products",
    key=("sku",),
    columns=(
        Column("sku", "id", stored=Product.sku),
        Column("name", "text", stored=Product.name, shown=True),
        Column("category", "text", allow_empty=True, stored=Product.category, shown=True),
        Column("price", "number", minimum=0, maximum=AMOUNT_MAX),
        Column("currency", "text"),
        Column("description", "text", allow_empty=True, shown=True, most=DESCRIPTION_MAX),
        # the link every email shows: a character no one sees in it leads the reader elsewhere than it shows
        Column("url", "text", allow_empty=True, stored=Product.url, exact=True),
        Column("in_stock", "bool"),
        Column("recommendable", "bool", required=False, default=True, kept_when_missing=True),
        Column(
            "margin", "number", required=False, allow_empty=True, minimum=0, maximum=AMOUNT_MAX, kept_when_missing=True
        ),
        Column("arrived_at", "timestamp", required=False, allow_empty=True, kept_when_missing=True),
    ),
)
ORDERS = TableSpec(
    "orders",
    key=("order_id", "product_id", "kind"),
    columns=(
        Column("order_id", "id", stored=Interaction.order_id),
        Column("customer_id", "id", stored=Customer.external_id),
        Column("product_id", "id", stored=Product.sku),
        # a return's quantity and amount may be written negative, as a credit note has them
        Column(
            "quantity",
            "number",
            minimum=-QUANTITY_MAX,
            maximum=QUANTITY_MAX,
            empty_for_kinds=("cart", "view"),
            empty_as=1.0,
        ),
        Column(
            "amount", "number", minimum=-AMOUNT_MAX, maximum=AMOUNT_MAX, empty_for_kinds=("cart", "view"), empty_as=0.0
        ),
        Column("timestamp", "timestamp"),
        Column("kind", "text", required=False, default="purchase", choices=INTERACTION_KINDS),
        Column("discount", "number", required=False, allow_empty=True, minimum=0, maximum=AMOUNT_MAX),
    ),
)
SENDS = TableSpec(
    "sends",
    key=("send_id",),
    columns=(
        Column("send_id", "id", stored=Send.external_id),
        Column("customer_id", "id", stored=Customer.external_id),
        # as the reader saw them, as the copy the scoring model is asked about is (generation.invisible)
        Column("subject", "text", shown=True, most=SUBJECT_MAX),
        Column("campaign_type", "text", choices=CAMPAIGN_TYPES),
        Column("sent_at", "timestamp"),
        Column("preheader", "text", required=False, allow_empty=True, default="", shown=True, most=PREHEADER_MAX),
        Column("intro", "text", required=False, allow_empty=True, default="", shown=True, most=INTRO_MAX),
        Column("segment", "text", required=False, allow_empty=True, default="", stored=Send.segment),
        Column("n_products", "number", required=False, default=0, minimum=0, maximum=COUNT_MAX, whole=True),
        Column("mean_price", "number", required=False, default=0.0, minimum=0, maximum=AMOUNT_MAX),
        Column("churn_risk", "number", required=False, allow_empty=True, minimum=0, maximum=1),
        Column("rec_score", "number", required=False, allow_empty=True),
        Column("opened", "bool", required=False, default=False),
        Column("clicked", "bool", required=False, default=False),
        Column("converted", "bool", required=False, default=False),
        # An open the email service tells a machine made (a privacy proxy's, a gateway's), beside `opened`, a reader's:
        # kept as a machine_open, no open for any rate or model (service.machine_opens).
        Column("machine_opened", "bool", required=False, default=False),
    ),
)
# Excel's day numbers for 1954-10-03 to 2173-10-14: what a date column saved without its date format holds.
_SERIAL_DAY = re.compile(r"^[2-9]\d{4}(\.\d+)?$")
SPECS = {spec.name: spec for spec in (CUSTOMERS, PRODUCTS, ORDERS, SENDS)}
# What a spreadsheet's totals row says in its first cell, if anything (English, German, French).
_TOTAL_WORDS = re.compile(r"(grand\s+)?(sub)?totals?:?|sums?:?|summe:?|gesamt(summe)?:?|totaux?:?", re.IGNORECASE)
TOTALS_ROW = "looks like a totals row (sums, and no ids or dates): remove it from the export and try again"


@lru_cache(maxsize=4096)  # the same header's names, compared with each documented column's, chunk after chunk
def _plain(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).casefold()


# What shops' own exports call a required column (as _plain writes them): Online Retail's InvoiceNo, StockCode and
# InvoiceDate, and the names other order and product exports give.
_OTHER_NAMES = {
    "order_id": ("invoiceno", "invoice", "invoiceid", "invoicenumber", "ordernumber", "orderno", "order"),
    "product_id": ("stockcode", "sku", "itemid", "itemcode", "productcode", "articlenumber"),
    "sku": ("productid", "stockcode", "itemid", "itemcode", "productcode", "articlenumber"),
    "timestamp": ("invoicedate", "orderdate", "purchasedate", "createdat", "date", "datetime"),
    "amount": ("total", "linetotal", "totalprice", "revenue"),
}
# A price per unit, which an order line's `amount` (the line's total) is not.
_UNIT_PRICES = ("unitprice", "price", "itemprice", "priceeach")


def _missing(name: str, columns: pd.Index) -> str:
    """A required column's absence, with the file's column it is likely spelt as (``CustomerID`` for
    customer_id) or named as in a shop's own export (``InvoiceNo`` for order_id); a missing `amount` beside a unit
    price is told that it is the line's total."""
    names = [str(column) for column in columns]
    spelt = [n for n in names if _plain(n) == _plain(name)] or [
        n for other in _OTHER_NAMES.get(name, ()) for n in names if _plain(n) == other
    ]
    if spelt:
        return f"required column is missing; the file's {spelt[0]!r} may be it: name it {name}"
    unit_price = [n for n in names if _plain(n) in _UNIT_PRICES] if name == "amount" else []
    if unit_price:
        return (
            f"required column is missing; the file's {unit_price[0]!r} is a price per unit: amount is what the line "
            "cost in all, its quantity times that"
        )
    return "required column is missing"


def _columns_hint(frame: pd.DataFrame, missing: list[str]) -> list[Problem]:
    """The columns the file has, once, when a required one is missing that none of them looks like."""
    names = [str(column) for column in frame.columns]
    if len(names) < 2 or all(any(_plain(n) == _plain(m) for n in names) for m in missing):
        return []
    shown = ", ".join(repr(name[:40]) for name in names[:12])
    more = f" and {len(names) - 12} more" if len(names) > 12 else ""
    return [Problem(None, None, f"the file's columns are {shown}{more}")]


def _header_hint(frame: pd.DataFrame) -> list[Problem]:
    """What the header was read as, when it looks like a file separated by something other than commas (a
    spreadsheet saved with semicolons or tabs reads as one column)."""
    hint = separator_hint(frame.columns)
    return [Problem(None, None, hint)] if hint else []


def parse_table(
    frame: pd.DataFrame, spec: TableSpec, dates_day_first: dict[str, bool] | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """Parse every documented column of `frame`, whose index is the number its rows' problems name them by (see
    ``files.first_row``: a CSV file's line, a Parquet file's row); returns the typed frame and the problems found.
    ``dates_day_first``: for a chunk of a file, the order of each date column's numeric dates over the whole file (or
    as given with it, or settled by an earlier file: load._date_orders), instead of the chunk's own."""
    problems: list[Problem] = []
    frame = frame.rename(columns=lambda c: str(c).strip())
    spelt_twice = _spelt_twice(frame.columns, spec)
    if spelt_twice:  # no column is read: the header decides which is which, and every chunk would say so
        return pd.DataFrame(index=frame.index), spelt_twice
    if too_many := too_many_attributes(list(frame.columns), spec):  # no row is read either
        return pd.DataFrame(index=frame.index), too_many
    missing = [name for name in spec.required if name not in frame.columns]
    if missing:
        problems = [Problem(None, name, _missing(name, frame.columns)) for name in missing]
        return frame, problems + _header_hint(frame) + _columns_hint(frame, missing)
    distinct = _Distinct(frame, [column.name for column in spec.columns if column.name in frame.columns])
    problems += _nul_characters(frame, distinct)
    columns: dict[str, object] = {}  # one frame made of them all: adding its columns one by one copied it each time
    for column in spec.columns:
        if column.name not in frame.columns:
            columns[column.name] = None if column.kept_when_missing else column.default
            continue
        raw = frame[column.name]
        values, bad = _parse_column(raw, column, (dates_day_first or {}).get(column.name), distinct)
        if column.empty_for_kinds and "kind" in frame.columns:
            values, bad = _empty_for_kinds(distinct, column, values, bad)
        columns[column.name] = values
        problems.extend(_empty_everywhere(raw, column.name, bad, distinct.blank_cells(column.name)))
    if spec.keep_extra:
        columns["attributes"], long_attributes = _attributes(frame, spec)
        problems += long_attributes
    parsed = pd.DataFrame(columns, index=frame.index)
    key = [k for k in spec.key if k in parsed.columns]
    duplicated = parsed.duplicated(subset=key, keep="first")
    if duplicated.any():
        first_rows = parsed.reset_index().groupby(key, dropna=False)["index"].transform("first")
        first_rows.index = parsed.index
        for index in parsed.index[duplicated]:
            problems.append(
                Problem(int(index), ", ".join(spec.key), f"the same key is on row {int(first_rows[index])}")
            )
    totals = _totals_rows(frame, spec, distinct)
    if totals:  # one problem says what the line is, not each of its empty cells
        problems = [problem for problem in problems if problem.row not in totals]
        problems += [Problem(row, None, TOTALS_ROW) for row in sorted(totals)]
    return parsed, problems


def parsed_column(raw: pd.Series, spec: TableSpec, name: str) -> pd.Series:
    """The column ``name`` of ``spec`` as ``parse_table`` reads it (its problems are named there)."""
    return _parse_column(raw, next(column for column in spec.columns if column.name == name))[0]


def _empty_for_kinds(
    distinct: _Distinct, column: Column, values: pd.Series, problems: list[Problem]
) -> tuple[pd.Series, list[Problem]]:
    """``column``'s values and problems where the lines of ``column.empty_for_kinds`` (by the `kind` column as
    written, in any case) may leave it empty: their empty cells read as ``column.empty_as``, not as problems."""
    kinds = distinct.texts.stripped.fillna("").str.lower().isin(column.empty_for_kinds).to_numpy(dtype=bool)
    may_be_empty = kinds[distinct.codes["kind"]] & distinct.blank_cells(column.name)
    if not may_be_empty.any():
        return values, problems
    rows = {int(index) for index in values.index[may_be_empty]}
    kept = [problem for problem in problems if problem.row not in rows]
    return values.where(~may_be_empty, column.empty_as), kept


def _spelt_twice(columns: pd.Index, spec: TableSpec) -> list[Problem]:
    """A documented column the header also spells another way (``email`` and ``Email``, ``customer_id`` and
    ``Customer ID``): the import would read the first and keep the other as a customer's attribute, or leave it
    unread, without a word about which held the right values."""
    found = []
    for column in spec.columns:
        spellings = [str(name) for name in columns if _plain(str(name)) == _plain(column.name)]
        if column.name in spellings and len(spellings) > 1:
            shown = " and ".join(repr(name) for name in spellings)
            found.append(
                Problem(None, column.name, f"the header spells it {len(spellings)} ways, {shown}: keep the one "
                        f"to import as {column.name} and remove or rename the other")
            )  # fmt: skip
    return found


def _empty_everywhere(raw: pd.Series, name: str, problems: list[Problem], blank: np.ndarray) -> list[Problem]:
    """``problems`` of one column, where a column that must have values is empty on every row of ``raw`` (``blank``:
    which cells are, as ``_text`` reads them) said so in one problem, not once a row (a file of 300,000 lines listed
    its first thousand lines and stopped)."""
    if len(raw) < 2 or len(problems) < len(raw) or not blank.all():
        return problems
    rows = [int(index) for index in raw.index]
    if {problem.row for problem in problems if problem.message.startswith("is empty")} != set(rows):
        return problems
    return [Problem(None, name, f"is empty on all {len(rows):,} rows, {rows[0]:,} to {rows[-1]:,}: is it the "
                    "right column, or was it left out of the export?")]  # fmt: skip


def _totals_rows(frame: pd.DataFrame, spec: TableSpec, distinct: _Distinct) -> set[int]:
    """The rows that hold numbers and no id, text nor date, but perhaps a label such as "Total" in the first cell: the
    sums a spreadsheet keeps under its data, saved with it."""
    numbers = [c.name for c in spec.columns if c.kind == "number" and c.name in frame.columns]
    blank = [c.name for c in spec.columns if c.kind in ("id", "text", "timestamp") and c.name in frame.columns]
    if not numbers or not blank or frame.empty:
        return set()
    first = frame.columns[0]
    empty = np.ones(len(frame), dtype=bool)
    for name in [name for name in blank if name != first]:
        empty &= distinct.blank_cells(name)
    rows = frame.index[empty]
    if rows.empty:
        return set()
    label = _text(frame.loc[rows, first])
    labelled = (label == "") | label.str.fullmatch(_TOTAL_WORDS.pattern, case=False)
    summed = pd.concat([_text(frame.loc[rows, name]) != "" for name in numbers], axis=1).any(axis=1)
    return {int(row) for row in rows[(labelled & summed).to_numpy(dtype=bool)]}


def _text(cells: pd.Series) -> pd.Series:
    return cells.astype("string").str.strip().fillna("")


def _nul_characters(frame: pd.DataFrame, distinct: _Distinct) -> list[Problem]:
    """The cells holding a NUL character (U+0000, a broken export's): PostgreSQL stores no text with it, and refused
    the whole import with an error that named no row. ``distinct``: the documented columns' texts, read once."""
    found = []
    holds_nul = distinct.texts.raw.str.contains("\x00", regex=False).fillna(False).to_numpy(dtype=bool)
    for name in frame.columns:
        cells = frame[name]
        if not (cells.dtype == object or pd.api.types.is_string_dtype(cells)):
            continue
        if name in distinct.codes:
            holding = holds_nul[distinct.codes[name]]
        else:
            holding = cells.astype("string").str.contains("\x00", regex=False).fillna(False)
        found += [
            Problem(int(index), str(name), "holds a NUL character (\\x00), which cannot be stored: remove it")
            for index in cells.index[holding]
        ]
    return found


def _hidden_characters(text: pd.Series, cells: np.ndarray, rows: pd.Index, column: Column) -> list[Problem]:
    """The cells of an address column holding a character no one sees (generation.invisible): dropped, the address
    would be another than the file's, mailing someone the shop did not name. ``text``: the column's distinct texts,
    ``cells``: each row's among them, ``rows``: the rows' numbers."""
    holding = text.str.contains(HIDDEN, regex=True).fillna(False).to_numpy(dtype=bool)
    hidden = {at: first_hidden(text.iloc[at]) for at in np.flatnonzero(holding)}
    return [
        Problem(int(rows[position]), column.name, f"{hidden[cells[position]]}, which no one sees and which makes it "
                "another address: correct the address where the file comes from")
        for position in np.flatnonzero(holding[cells])
        if hidden[cells[position]]
    ]  # fmt: skip


def _serial_day_hint(value: object) -> str:
    """A hint when ``value`` looks like a spreadsheet's day number (40513.4 is 2010-12-01 09:41 in Excel)."""
    return (
        "; it looks like a spreadsheet's day number: format the column as dates before saving the file"
        if _SERIAL_DAY.match(str(value).strip())
        else ""
    )


def unread_columns(header: list, spec: TableSpec) -> list[str]:
    """The columns of a file's ``header`` that an import of ``spec`` reads nothing from: none for customers, whose
    other columns are kept as attributes; the columns without a header a spreadsheet wrote are not named."""
    return [] if spec.keep_extra else _extra_columns(header, spec)


def _extra_columns(header: list, spec: TableSpec) -> list[str]:
    """The columns of ``header`` that ``spec`` does not name, less those without a header a spreadsheet wrote."""
    known = {c.name for c in spec.columns}
    names = (str(column).strip() for column in header)
    return [name for name in names if name not in known and not unnamed(name)]


def too_many_attributes(header: list, spec: TableSpec) -> list[Problem]:
    """The problem of a file whose ``header`` names more attribute columns (those ``spec`` does not name, of a kind
    that keeps them) than ``ATTRIBUTE_COLUMNS_MAX``, named by the first beyond them (by its start, as a long name is);
    none otherwise. Read from the header alone, before any row."""
    extra = _extra_columns(header, spec) if spec.keep_extra else []
    if len(extra) <= ATTRIBUTE_COLUMNS_MAX:
        return []
    first = extra[ATTRIBUTE_COLUMNS_MAX]
    return [
        Problem(None, first if len(first) <= 40 else f"{first[:40]}…", f"the file has {len(extra):,} columns "
                f"besides the documented ones, each kept as an attribute of every customer, and a {spec.name} file "
                f"keeps {ATTRIBUTE_COLUMNS_MAX:,} at most: this is the first beyond them; leave out the columns the "
                "shop does not need")
    ]  # fmt: skip


def _attributes(frame: pd.DataFrame, spec: TableSpec) -> tuple[list[dict], list[Problem]]:
    """Per row, its values in the columns ``spec`` does not name, leaving out empty cells (a file that has no value
    for one says nothing about it) and the columns without a header a spreadsheet or pandas wrote for the row
    numbers ("Unnamed: 0"); and the problems of the names and values longer than an attribute keeps."""
    known = {c.name for c in spec.columns}
    extra = [c for c in frame.columns if c not in known and not unnamed(c)]
    values = frame[extra].astype(object)
    for name in extra:  # a spreadsheet's ="0049 30 1234" is the text it kept, as in the documented columns
        text = values[name].astype("string")
        forced = forced_text(text)
        if forced.any():
            values.loc[forced, name] = unforced(text[forced]).astype(object)
    present = values.notna() & (values.astype(str).apply(lambda column: column.str.strip()) != "")
    attributes = [
        {name: _composed(value) for name, value, keep in zip(extra, row, kept, strict=True) if keep}
        for row, kept in zip(values.itertuples(index=False), present.itertuples(index=False), strict=True)
    ]
    return attributes, _long_attributes(values, extra)


def _long_attributes(values: pd.DataFrame, names: list[str]) -> list[Problem]:
    """The attribute columns whose name, and the cells whose text (as kept: composed), pass what an attribute
    keeps; a long name is shown by its start, as the file's columns are (``_columns_hint``)."""
    problems = [
        Problem(None, f"{name[:40]}…", f"the column's name is {len(name):,} characters long; an attribute's name "
                f"takes {ATTRIBUTE_NAME_MAX:,} at most")
        for name in names
        if len(name) > ATTRIBUTE_NAME_MAX
    ]  # fmt: skip
    for name in names:
        lengths = values[name].astype("string").str.normalize("NFC").str.len()
        for index in values.index[(lengths > ATTRIBUTE_MAX).fillna(False).to_numpy(dtype=bool)]:
            problems.append(
                Problem(int(index), name, f"is {lengths[index]:,} characters long; at most {ATTRIBUTE_MAX:,} are kept")
            )
    return problems


def _composed(value: object) -> object:
    """Text in its composed form (NFC), as the documented columns are kept; a number or true/false as it is; any
    other value as its text (a Parquet file's date, timestamp or decimal), which the attributes' JSON can hold:
    such a column failed the whole import with a traceback."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value if isinstance(value, bool | int | float) else _composed(str(value))


class _Texts:
    """Distinct cell texts and what parsing reads in each, worked out once for all the cells that hold it. ``raw``:
    each as ``astype("string")`` writes a cell; ``text``: as read, composed (NFC), stripped and unforced."""

    def __init__(self, raw: pd.Series, text: pd.Series):
        self.raw, self.text = raw, text

    @cached_property
    def empty(self) -> np.ndarray:
        return (self.text.isna() | (self.text == "")).to_numpy(dtype=bool)

    @cached_property
    def filled(self) -> pd.Series:
        return self.text.fillna("")

    @cached_property
    def ids(self) -> pd.Series:
        return whole_number_ids(self.filled)  # unforced already: ="=""7""" is the id ="7"

    @cached_property
    def inexact(self) -> np.ndarray:
        return inexact_ids(self.raw).to_numpy(dtype=bool)

    @cached_property
    def lowered(self) -> pd.Series:
        return self.text.str.lower().fillna("")

    @cached_property
    def stripped(self) -> pd.Series:
        return self.raw.str.strip()  # as ``_text`` reads a cell

    @cached_property
    def blank(self) -> np.ndarray:
        return (self.stripped.fillna("") == "").to_numpy(dtype=bool)


class _Distinct:
    """The distinct texts of a frame's documented columns (``_Texts``), read once however many cells hold them: an
    order file repeats its ids, dates and amounts line after line, and a file read in chunks of a few lines paid
    each column's reading on its own. ``codes``: per column, each cell's position among ``texts``."""

    def __init__(self, frame: pd.DataFrame, names: list[str]):
        raw = [frame[name].astype("string") for name in names]
        together = pd.concat(raw, ignore_index=True) if raw else pd.Series(dtype="string")
        codes, distinct = together.factorize(use_na_sentinel=False)
        ends = np.cumsum([len(cells) for cells in raw]).tolist()
        self.codes = {name: codes[end - len(cells) : end] for name, cells, end in zip(names, raw, ends, strict=True)}
        texts = pd.Series(distinct, dtype="string")
        # composed (NFC), as people type: "Jürgen" from a Mac's export is "Ju" and a combining diaeresis, which the
        # greeting took for no name and a search for the typed name did not find
        self.texts = _Texts(texts, unforced(texts.str.normalize("NFC").str.strip()))  # ="0049 30 1234" is that text

    def of(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Column ``name``'s own distinct texts, in the order its cells first hold them: each cell's position among
        them, and their positions in ``texts``."""
        return pd.factorize(self.codes[name])

    def shown(self, name: str) -> tuple[np.ndarray, _Texts]:
        """Column ``name``'s own distinct texts as a reader sees them (``generation.invisible.visible``), and each
        cell's position among them."""
        cells, positions = self.of(name)
        shown = self.texts.text.iloc[positions].map(visible, na_action="ignore").astype("string").str.strip()
        return cells, _Texts(self.texts.raw.iloc[positions], shown)

    def blank_cells(self, name: str) -> np.ndarray:
        """Which cells of column ``name`` are empty or blank, as ``_text`` reads them."""
        return self.texts.blank[self.codes[name]]


def _parse_column(
    raw: pd.Series, column: Column, day_first: bool | None = None, distinct: _Distinct | None = None
) -> tuple[pd.Series, list[Problem]]:
    """``raw``'s values as ``column`` reads them, and its problems; each distinct text is read once (``distinct``:
    those of ``raw``'s frame, else of ``raw`` alone)."""
    distinct = distinct or _Distinct(raw.to_frame(column.name), [column.name])
    if column.kind in ("id", "text"):
        return _text_values(raw, column, distinct)
    if column.kind == "bool":
        return _bool_values(raw, column, distinct)
    if column.kind == "number":
        return _number_values(raw, column, distinct)
    if column.kind == "timestamp":
        return _timestamp_values(raw, column, distinct, day_first)
    raise ValueError(f"unknown column kind {column.kind}")


def _text_values(raw: pd.Series, column: Column, distinct: _Distinct) -> tuple[pd.Series, list[Problem]]:
    rows, problems = raw.index, []
    cells, texts = distinct.shown(column.name) if column.shown else (distinct.codes[column.name], distinct.texts)
    if column.exact:
        problems += _hidden_characters(texts.text, cells, rows, column)
    values = texts.filled
    if column.kind == "id":  # the models read ids so: a key stored otherwise would match none of them
        values = texts.ids
        # a float too large to be a whole number exactly is read as such
        inexact = inexact_ids(raw).to_numpy(dtype=bool) if pd.api.types.is_float_dtype(raw) else texts.inexact[cells]
        for index in rows[inexact]:
            problems.append(Problem(int(index), column.name, inexact_id(raw[index])))
    kept = values.to_numpy(dtype=object)
    if column.max_length is not None:
        too_long = (values.str.len() > column.max_length).to_numpy(dtype=bool)
        for position in np.flatnonzero(too_long[cells]):
            problems.append(
                Problem(int(rows[position]), column.name, f"is {len(kept[cells[position]]):,} characters long; at "
                        f"most {column.max_length:,} are kept")
            )  # fmt: skip
    if column.choices:
        values = values.where(~texts.empty, column.default or "")
        values = values.str.lower()
        kept = values.to_numpy(dtype=object)
        bad = ~values.isin(column.choices).to_numpy(dtype=bool)
        for index in rows[bad[cells]]:
            problems.append(
                Problem(
                    int(index),
                    column.name,
                    f"'{raw[index]}' is not one of {', '.join(column.choices)}",
                )
            )
    elif not column.allow_empty:
        for index in rows[texts.empty[cells]]:
            problems.append(Problem(int(index), column.name, "is empty"))
    return pd.Series(kept[cells], index=rows, name=raw.name, dtype=object), problems


def _bool_values(raw: pd.Series, column: Column, distinct: _Distinct) -> tuple[pd.Series, list[Problem]]:
    rows, problems = raw.index, []
    cells, texts = distinct.codes[column.name], distinct.texts
    true = texts.lowered.isin(TRUE_WORDS).to_numpy(dtype=bool)
    empty = texts.empty[cells]
    values = true[cells]
    if column.default is not None:
        values = np.where(empty, bool(column.default), values)
    elif not column.allow_empty:  # a consent or a stock level the file does not give is not taken for "no"
        for index in rows[empty]:
            problems.append(Problem(int(index), column.name, "is empty: write true or false"))
    bad = ~(true | texts.lowered.isin(FALSE_WORDS).to_numpy(dtype=bool))[cells] & ~empty
    for index in rows[bad]:
        problems.append(Problem(int(index), column.name, f"'{raw[index]}' is not true/false"))
    return pd.Series(values, index=rows, name=raw.name, dtype=bool), problems


def _number_values(raw: pd.Series, column: Column, distinct: _Distinct) -> tuple[pd.Series, list[Problem]]:
    """The column's numbers, read from its own distinct texts: which of them are, pandas decides over them all."""
    rows, problems = raw.index, []
    cells, positions = distinct.of(column.name)
    empty = distinct.texts.empty[positions]
    values = pd.to_numeric(distinct.texts.text.iloc[positions], errors="coerce")
    if column.default is not None:
        values = values.where(~empty, column.default)
    for position in np.flatnonzero(_cells_where(values.isna() & ~(empty & column.allow_empty), cells)):
        index = rows[position]
        what = "is empty" if empty[cells[position]] else not_a_number(str(raw[index]))
        problems.append(Problem(int(index), column.name, what))
    infinite = np.isinf(values)
    for index in rows[_cells_where(infinite, cells)]:  # "inf" and 1e400 read as infinite: no amount is
        problems.append(Problem(int(index), column.name, f"'{raw[index]}' is not a finite number"))
    values = values.where(~infinite)  # kept out of the checks below, which would name it again
    if column.whole:
        for index in rows[_cells_where((values % 1 != 0) & values.notna(), cells)]:
            problems.append(Problem(int(index), column.name, f"'{raw[index]}' is not a whole number"))
    if column.minimum is not None:
        for index in rows[_cells_where((values < column.minimum).fillna(False), cells)]:
            problems.append(Problem(int(index), column.name, f"must be at least {column.minimum:,}"))
    if column.maximum is not None:
        for index in rows[_cells_where((values > column.maximum).fillna(False), cells)]:
            problems.append(Problem(int(index), column.name, f"must be at most {column.maximum:,}"))
    return pd.Series(values.astype(float).to_numpy()[cells], index=rows, name=raw.name), problems


def _timestamp_values(
    raw: pd.Series, column: Column, distinct: _Distinct, day_first: bool | None
) -> tuple[pd.Series, list[Problem]]:
    """The column's dates, read from its own distinct texts in the order its cells first hold them: the first
    value that settles (or unsettles) the order of numeric dates is the first cell's that does."""
    rows, problems = raw.index, []
    cells, positions = distinct.of(column.name)
    empty = distinct.texts.empty[positions][cells]
    text = distinct.texts.text.iloc[positions].rename(raw.name)
    read, order_problem = parse_dates(text, day_first)
    values = pd.Series(read.array.take(cells), index=rows, name=read.name)
    if order_problem:
        first_cells = rows[np.unique(cells, return_index=True)[1]]  # the row where each distinct text is first

        def where(position: int) -> str:
            return f"row {int(first_cells[position])}"

        message = order_problem.describe(where)
        return values, [Problem(int(first_cells[order_problem.position]), column.name, message)]
    for position in np.flatnonzero(values.isna().to_numpy(dtype=bool) & ~(empty & column.allow_empty)):
        index = rows[position]
        what = "is empty" if empty[position] else f"'{raw[index]}' is not a date/time{_serial_day_hint(raw[index])}"
        problems.append(Problem(int(index), column.name, what))
    return values, problems


def _cells_where(flags: pd.Series, cells: np.ndarray) -> np.ndarray:
    """Per cell, whether its distinct text's flag (a boolean Series, missing: no) holds."""
    return flags.to_numpy(dtype=bool, na_value=False)[cells]
