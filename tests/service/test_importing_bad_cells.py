"""Cells a file should not hold, each named by its row and column, the file refused whole: found by an audit of
the API, which saw them stored (an infinite amount that then failed every audience refresh, a NUL that PostgreSQL
refuses without naming the row) or hidden (every problem but an ambiguous date's)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.db.models import Customer, Interaction, Product, Send
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_file
from tabular import read_csv_text
from tests.service.test_importing import CUSTOMERS, ORDERS, PRODUCTS


def _refused(engine, kind: str, path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, kind, path)
    return [f"row {p.row}, {p.column}: {p.message}" for p in raised.value.problems]


def _count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _imported(engine, tmp_path, kind: str, frame) -> None:
    frame.to_csv(tmp_path / f"{kind}.csv", index=False)
    with session_scope(engine) as session:
        import_file(session, kind, tmp_path / f"{kind}.csv")


def test_an_infinite_number_is_no_amount(engine, tmp_path):
    products = PRODUCTS.assign(price=["inf", "1e400"])
    products.to_csv(tmp_path / "products.csv", index=False)
    assert _refused(engine, "products", tmp_path / "products.csv") == [
        "row 2, price: 'inf' is not a finite number",
        "row 3, price: '1e400' is not a finite number",
    ]
    _imported(engine, tmp_path, "customers", CUSTOMERS)
    _imported(engine, tmp_path, "products", PRODUCTS)
    ORDERS.assign(amount=["15", "-Infinity", "7.5"]).to_csv(tmp_path / "orders.csv", index=False)
    assert _refused(engine, "orders", tmp_path / "orders.csv") == ["row 3, amount: '-Infinity' is not a finite number"]
    assert _count(engine, Interaction) == 0


def test_a_count_is_a_whole_number(engine, tmp_path):
    _imported(engine, tmp_path, "customers", CUSTOMERS)
    sends = "send_id,customer_id,subject,campaign_type,sent_at,n_products\ns1,c1,Hello,win_back,2026-01-02,2.5\n"
    (tmp_path / "sends.csv").write_text(sends, encoding="utf-8")
    assert _refused(engine, "sends", tmp_path / "sends.csv") == ["row 2, n_products: '2.5' is not a whole number"]
    assert _count(engine, Send) == 0


def test_an_empty_consent_or_stock_level_is_named_not_taken_for_no(engine, tmp_path):
    CUSTOMERS.assign(marketing_consent=["", "yes"], unsubscribed=["", "true"]).to_csv(
        tmp_path / "customers.csv", index=False
    )
    assert _refused(engine, "customers", tmp_path / "customers.csv") == [
        "row 2, marketing_consent: is empty: write true or false"
    ]  # an optional flag left empty keeps its default
    PRODUCTS.assign(in_stock=["1", ""]).to_csv(tmp_path / "products.csv", index=False)
    assert _refused(engine, "products", tmp_path / "products.csv") == ["row 3, in_stock: is empty: write true or false"]
    assert _count(engine, Customer) == _count(engine, Product) == 0


def test_an_empty_address_is_named_once(engine, tmp_path):
    CUSTOMERS.assign(email=["", "jan@example.com"], locale=["de", ""]).to_csv(tmp_path / "customers.csv", index=False)
    assert _refused(engine, "customers", tmp_path / "customers.csv") == [
        "row 2, email: is empty",
    ]  # an empty locale is the shop's default (test_importing_languages)


def test_a_nul_character_is_named_in_any_column(engine, tmp_path):
    CUSTOMERS.assign(first_name=["An\x00na", "Jan"], tier=["gold", "sil\x00ver"]).to_csv(
        tmp_path / "customers.csv", index=False
    )
    assert _refused(engine, "customers", tmp_path / "customers.csv") == [
        "row 2, first_name: holds a NUL character (\\x00), which cannot be stored: remove it",
        "row 3, tier: holds a NUL character (\\x00), which cannot be stored: remove it",
    ]


def test_a_row_with_more_cells_than_the_header_is_named_by_its_line(engine, tmp_path):
    lines = ["sku,name,category,price,currency,description,url,in_stock", "A1,Pan,kitchen,10,EUR,Good,,true"]
    lines.append("A2,Pot,kitchen,12,EUR,Good, and big,,true")
    (tmp_path / "products.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _refused(engine, "products", tmp_path / "products.csv") == [
        "row 3, None: has 9 cells where the header names 8 columns: a cell holding a comma needs quotes"
    ]


def test_a_date_of_unknown_order_hides_no_other_problem(engine, tmp_path):
    """One ambiguous date refused the file with that problem alone: a user fixed the dates, then met the rest."""
    _imported(engine, tmp_path, "customers", CUSTOMERS)
    _imported(engine, tmp_path, "products", PRODUCTS)
    orders = ORDERS.assign(
        timestamp=["01/02/2026", "03/04/2026", "2026-13-45"], amount=["15", "abc", "7.5"], quantity=["2", "1", "-1"]
    )
    orders.to_csv(tmp_path / "orders.csv", index=False)
    assert _refused(engine, "orders", tmp_path / "orders.csv") == [
        "row 2, timestamp: '01/02/2026' could be day/month or month/day, and no date settles it; use YYYY-MM-DD, or "
        "give the file's order (tailor import --dates day-first|month-first, the API's dates=day-first|month-first)",
        "row 3, amount: 'abc' is not a number",
        "row 4, quantity: a purchase needs a positive quantity; give a return or cancellation the kind 'return' (its "
        "quantity and amount may be negative or not; the audience models take it off the customer's spend), and "
        "leave free items out",
        "row 4, timestamp: '2026-13-45' is not a date/time",
    ]
    assert _count(engine, Interaction) == 0


def test_a_file_whose_rows_do_not_line_up_with_its_header_is_refused_by_its_line(engine, tmp_path):
    """A column named twice imported the first and kept the second as an attribute; a value past the header on the
    first data row made the reader take the first column for row labels, so every value was read one column off
    (an address refused as none, a product id taken for a customer)."""
    header = "customer_id,email,first_name,locale,marketing_consent"
    twice = tmp_path / "twice.csv"
    twice.write_text(f"{header},email\nc1,a@example.com,Ann,en,true,b@example.com\n", encoding="utf-8")
    assert _refused(engine, "customers", twice) == ["row 1, None: the header names column 'email' twice"]
    extra = tmp_path / "extra.csv"
    extra.write_text(f"{header}\nc1,a@example.com,Ann,en,true,gold\nc2,b@example.com,Bo,en,true\n", encoding="utf-8")
    assert _refused(engine, "customers", extra) == [
        "row 2, None: has 6 cells where the header names 5 columns: a cell holding a comma needs quotes"
    ]
    trailing = tmp_path / "trailing.csv"  # a comma after each row, as some exports write: nothing past the header
    trailing.write_text(f"{header}\nc1,a@example.com,Ann,en,true,\nc2,b@example.com,Bo,en,false,\n", encoding="utf-8")
    with session_scope(engine) as session:
        assert import_file(session, "customers", trailing).inserted == 2
        stored = session.execute(select(Customer.external_id, Customer.email).order_by(Customer.id)).all()
    assert stored == [("c1", "a@example.com"), ("c2", "b@example.com")]


def test_empty_columns_a_spreadsheet_saved_past_the_data_are_left_out(engine, tmp_path):
    """A sheet with formatted columns past its data is saved with two commas or more after every line, the header
    too: it was refused as "the header names column '' twice", which named no column to fix."""
    lines = ["customer_id,email,first_name,locale,marketing_consent,,,", "c1,a@example.com,Ann,en,true,,,"]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join([*lines, "c2,b@example.com,Bo,en,false,,,"]) + "\n", encoding="utf-8")
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).inserted == 2
        stored = session.execute(select(Customer.external_id, Customer.attributes).order_by(Customer.id)).all()
    assert stored == [("c1", {}), ("c2", {})]


def test_lines_of_separators_alone_are_left_out_as_blank_lines_are(engine, tmp_path):
    """A sheet with formatted rows below its data is saved with lines of commas alone: each was refused with every
    column "is empty" and "the same key" as the one before (2 such lines: 13 problems for an orders file)."""
    lines = ["customer_id,email,first_name,locale,marketing_consent", "c1,a@example.com,Ann,en,true", ",,,,"]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join([*lines, "c2,b@example.com,Bo,en,false", " , ,,,", ",,,,", ""]), encoding="utf-8")
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).inserted == 2
    path.write_text("\n".join([*lines, "c3,not an address,Cy,en,true", ",,,,"]), encoding="utf-8")
    assert _refused(engine, "customers", path) == ["row 4, email: is not an email address"]


def test_header_lines_of_exports_joined_into_one_file_are_left_out(engine, tmp_path):
    """Monthly exports joined into one file repeat the header: each such line was refused as a row ("'amount' is
    not a number", "unknown customer 'customer_id'"), six problems a line, none saying why."""
    header = "customer_id,email,first_name,locale,marketing_consent"
    path = tmp_path / "customers.csv"
    joined = [header, "c1,a@example.com,Ann,en,true", header, "c2,b@example.com,Bo,en,false", f" {header}", ""]
    path.write_text("\n".join(joined).replace(" customer_id,", " customer_id , "), encoding="utf-8")
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).inserted == 2
    path.write_text("\n".join([header, header, "c3,not an address,Cy,en,true"]), encoding="utf-8")
    assert _refused(engine, "customers", path) == ["row 3, email: is not an email address"]  # its own line


def test_a_repeated_header_is_left_out_with_its_unnamed_columns_and_its_byte_order_mark(engine, tmp_path):
    """A repeated header was refused as a row, three problems a line ("'marketing_consent' is not true/false"), when
    the exports joined had a spreadsheet's empty columns past the data (the header's cells there are empty, which
    the reader names "Unnamed: 5"), or began each with a UTF-8 byte order mark (Excel's "CSV UTF-8", joined by
    cat: the mark opens the repeated header's first cell)."""
    header = "customer_id,email,first_name,locale,marketing_consent"
    path = tmp_path / "customers.csv"
    rows = [f"{header},,", "c1,a@example.com,Ann,en,true,,", f"{header},,", "c2,b@example.com,Bo,en,false,,"]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).inserted == 2
    month = f"\ufeff{header}\nc{{}},{{}}@example.com,Cy,en,true\n"
    path.write_bytes((month.format(3, "c") + month.format(4, "d")).encode("utf-8"))
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).inserted == 2
    assert _count(engine, Customer) == 4


def test_a_quote_never_closed_is_named_by_the_line_it_opens_on(engine, tmp_path):
    """The reader's own words named it "row 2", counted from 0, for line 3."""
    path = tmp_path / "customers.csv"
    lines = ["customer_id,email,first_name,locale,marketing_consent", "c1,a@example.com,Ann,en,true"]
    lines += ['c2,"b@example.com,Bo,en,true', "c3,c@example.com,Cy,en,true"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _refused(engine, "customers", path) == [
        "row 3, None: a quoted cell starts on this row and is never closed: the file ends inside it"
    ]


def test_an_id_that_lost_digits_is_named_not_stored(engine, tmp_path):
    """A spreadsheet shows an id of 17 digits as 1.23457E+16 and saves it so, and a Parquet file of float ids holds
    12345678901234567 as 12345678901234568: both were stored as ids ('1.23457E+16', '1.2345678901234568e+16') that
    no order of the shop's system names, and two customers whose ids begin alike were "the same key"."""
    spreadsheet = CUSTOMERS.assign(customer_id=["1.23457E+16", "c2"])
    spreadsheet.to_csv(tmp_path / "customers.csv", index=False)
    refused = _refused(engine, "customers", tmp_path / "customers.csv")
    assert len(refused) == 1 and refused[0].startswith("row 2, customer_id: '1.23457E+16' has lost digits")
    floats = CUSTOMERS.assign(customer_id=[12345678901234567.0, 17850.0], marketing_consent=[True, False])
    floats.to_parquet(tmp_path / "customers.parquet")
    refused = _refused(engine, "customers", tmp_path / "customers.parquet")
    assert len(refused) == 1 and refused[0].startswith("row 1, customer_id: '1.2345678901234568e+16' has lost")
    assert _count(engine, Customer) == 0
    floats.assign(customer_id=[9007199254740992.0 - 2, 17850.0]).to_parquet(tmp_path / "exact.parquet")
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "exact.parquet")
        assert sorted(session.scalars(select(Customer.external_id))) == ["17850", "9007199254740990"]


def test_a_yes_no_column_of_ones_and_zeros_with_gaps_is_read_as_true_and_false(engine, tmp_path):
    """pandas keeps a 0/1 column with a gap as floats (1.0, NaN) and writes them to CSV so: each 1.0 was refused,
    "'1.0' is not true/false"."""
    customers = CUSTOMERS.assign(marketing_consent=[1.0, 0.0], unsubscribed=[None, 1.0])
    customers.to_parquet(tmp_path / "customers.parquet")
    customers.assign(customer_id=["c3", "c4"], email=["c3@example.com", "c4@example.com"]).to_csv(
        tmp_path / "customers.csv", index=False
    )
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "customers.parquet")
        import_file(session, "customers", tmp_path / "customers.csv")
    with session_scope(engine) as session:
        stored = session.execute(
            select(Customer.external_id, Customer.marketing_consent, Customer.unsubscribed).order_by(Customer.id)
        ).all()
    assert [tuple(row) for row in stored] == [
        ("c1", True, False), ("c2", False, True), ("c3", True, False), ("c4", False, True)
    ]  # fmt: skip


def test_empty_cells_past_the_header_are_left_out_however_many_a_row_has(engine, tmp_path):
    """A row with more empty cells past the header than the first data row (exports joined into one file, one of
    them with a comma after each row) was refused as having "5 cells where the header names 4 columns: a cell
    holding a comma needs quotes", though it held no value there; `tailor recommend` and `tailor audience` said
    "Error tokenizing data. C error"."""
    header = "customer_id,email,first_name,locale,marketing_consent"
    path = tmp_path / "customers.csv"
    rows = ["c1,a@example.com,Ann,en,true", "c2,b@example.com,Bo,en,false,", "c3,c@example.com,Cy,en,true,,"]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    with session_scope(engine) as session:
        assert import_file(session, "customers", path).inserted == 3
        stored = session.execute(select(Customer.external_id, Customer.attributes).order_by(Customer.id)).all()
    assert stored == [("c1", {}), ("c2", {}), ("c3", {})]
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,timestamp,amount\nc1,2026-01-02,15\nc2,2026-01-03,7.5,,\n", encoding="utf-8")
    assert read_csv_text(orders, dtype=str).to_dict("list") == {
        "customer_id": ["c1", "c2"], "timestamp": ["2026-01-02", "2026-01-03"], "amount": ["15", "7.5"]
    }  # fmt: skip


def test_a_number_no_shop_sells_is_refused_before_sums_of_it_overflow(engine, tmp_path):
    """Two order lines of 1.7e308 each, finite, were stored, and their customer's spend added up to infinity: every
    audience refresh after failed in KMeans ("Input X contains NaN"), naming no row. A count of 1e20 was stored as
    -9223372036854775808 on SQLite (PostgreSQL's INTEGER refuses it with an error naming no row)."""
    products = PRODUCTS.assign(price=["1.7e308", "49"])
    products.to_csv(tmp_path / "products.csv", index=False)
    assert _refused(engine, "products", tmp_path / "products.csv") == [
        "row 2, price: must be at most 1,000,000,000,000"
    ]
    _imported(engine, tmp_path, "customers", CUSTOMERS)
    _imported(engine, tmp_path, "products", PRODUCTS)
    ORDERS.assign(amount=["1.7e308", "1.7e308", "7.5"], quantity=["2", "1e20", "-1e20"]).to_csv(
        tmp_path / "orders.csv", index=False
    )
    assert _refused(engine, "orders", tmp_path / "orders.csv") == [
        "row 2, amount: must be at most 1,000,000,000,000",
        "row 3, amount: must be at most 1,000,000,000,000",
        "row 3, quantity: must be at most 1,000,000,000",
        "row 4, quantity: must be at least -1,000,000,000",
    ]
    assert _count(engine, Interaction) == 0
    sends = "send_id,customer_id,subject,campaign_type,sent_at,n_products\ns1,c1,Hello,win_back,2026-01-02,1e20\n"
    (tmp_path / "sends.csv").write_text(sends, encoding="utf-8")
    assert _refused(engine, "sends", tmp_path / "sends.csv") == ["row 2, n_products: must be at most 2,147,483,647"]
    assert _count(engine, Send) == 0
