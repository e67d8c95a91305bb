"""What a person who imported several shop exports is told about one of them: the file by its name, then the line
and column; what a file that is no CSV text is (a workbook, UTF-32); and an id a spreadsheet cut short named once,
as the cause, not again as an unknown customer."""

from __future__ import annotations

import pytest

from service.db.session import session_scope
from service.errors import InvalidInput, error_body
from service.importing import import_file
from tests.service.conftest import wait_for_job
from tests.service.test_importing import CUSTOMERS, ORDERS, PRODUCTS


def _shop(engine, tmp_path) -> None:
    with session_scope(engine) as session:
        for kind, frame in (("customers", CUSTOMERS), ("products", PRODUCTS)):
            frame.to_csv(tmp_path / f"{kind}.csv", index=False)
            import_file(session, kind, tmp_path / f"{kind}.csv")


def _refused(engine, kind: str, path, name: str | None = None) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, kind, path, name)
    return raised.value


def test_a_bad_row_is_named_by_its_file_s_own_name_then_line_and_column(engine, tmp_path):
    """A job's result said "orders file rejected ... row 3" where the shop had imported four orders files."""
    _shop(engine, tmp_path)
    folder = tmp_path / "exports" / "2026-03"
    folder.mkdir(parents=True)
    ORDERS.assign(quantity=["2", "two", "1"]).to_csv(folder / "orders_march.csv", index=False)
    error = _refused(engine, "orders", folder / "orders_march.csv")
    assert str(error) == (
        "orders file orders_march.csv rejected, nothing was written: row 3, column 'quantity': 'two' is not a number"
    )  # the base name: the folders are the person's own, and a job's result would show the server's
    assert error.headline.startswith("orders file orders_march.csv rejected")
    assert error_body(error)["problems"] == [
        {"file": "orders_march.csv", "row": 3, "column": "quantity", "message": "'two' is not a number"}
    ]
    uploaded = _refused(engine, "orders", folder / "orders_march.csv", name="C:\\Users\\shop\\orders_march.csv")
    assert str(uploaded).startswith("orders file orders_march.csv rejected")  # a browser's full Windows path
    ORDERS.drop(columns="amount").to_csv(folder / "no_amount.csv", index=False)
    assert str(_refused(engine, "orders", folder / "no_amount.csv")).startswith(
        "orders file no_amount.csv rejected, nothing was written: column 'amount': required column is missing"
    )
    (folder / "empty.csv").write_text("")
    assert str(_refused(engine, "orders", folder / "empty.csv")).startswith("orders file empty.csv rejected")


def test_a_background_import_s_failure_names_the_uploaded_file(client, engine, tmp_path):
    _shop(engine, tmp_path)
    body = ORDERS.assign(quantity=["2", "two", "1"]).to_csv(index=False).encode()
    files = {"file": ("bestellungen_maerz.csv", body, "text/csv")}
    response = client.post("/imports/orders", files=files, params={"background": "true"})
    job = wait_for_job(client, response.json()["job_id"], timeout=60)
    assert job["status"] == "failed"
    message = job["result"]["message"]
    assert message.startswith("orders file bestellungen_maerz.csv rejected, nothing was written: row 3")
    assert job["result"]["problems"] == [
        {"file": "bestellungen_maerz.csv", "row": 3, "column": "quantity", "message": "'two' is not a number"}
    ]


def test_an_id_a_spreadsheet_cut_short_is_named_once_as_the_cause(engine, tmp_path):
    """A customer id of 17 digits saved as 1.23457E+16 was named as having lost digits, and again as an unknown
    customer ("import customers first"), which sent the shop to import a customer it had imported."""
    _shop(engine, tmp_path)
    ORDERS.assign(customer_id=["c1", "1.23457E+16", "c2"], product_id=["T1", "K1", "1.5E+12"]).to_csv(
        tmp_path / "orders.csv", index=False
    )
    error = _refused(engine, "orders", tmp_path / "orders.csv")
    assert [(p.row, p.column, p.message.split(":")[0]) for p in error.problems] == [
        (3, "customer_id", "'1.23457E+16' has lost digits"),
        (4, "product_id", "'1.5E+12' has lost digits"),
    ]


@pytest.mark.parametrize(
    ("start", "what", "to_do"),
    [
        (b"\xff\xfe\x00\x00", "UTF-32 text", "save it as CSV UTF-8"),
        (b"\x00\x00\xfe\xff", "UTF-32 text", "save it as CSV UTF-8"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls)", "save the sheet as CSV UTF-8"),
    ],
)
def test_a_file_that_is_no_csv_text_is_told_what_it_is(engine, tmp_path, start, what, to_do):
    """UTF-32 was called UTF-16 (its mark begins with UTF-16's), and an .xls workbook was "not UTF-8 (byte 0xd0)"."""
    (tmp_path / "customers.csv").write_bytes(start + "customer_id,email\n".encode("utf-32-le") + bytes(600))
    error = _refused(engine, "customers", tmp_path / "customers.csv")
    [problem] = error.problems
    assert problem.message == f"is {what}, not UTF-8 text: {to_do} and try again"
    assert problem.row is None  # the whole file is, not its first line
    assert str(error).startswith(f"customers file customers.csv rejected, nothing was written: is {what}")


def test_an_xlsx_workbook_is_told_apart_from_another_zip_archive(engine, tmp_path):
    import zipfile

    path = tmp_path / "customers.csv"
    with zipfile.ZipFile(path, "w") as workbook:  # stored, not compressed: its bytes may all be UTF-8
        workbook.writestr("[Content_Types].xml", "<Types/>")
        workbook.writestr("xl/worksheets/sheet1.xml", "<sheetData/>")
    [problem] = _refused(engine, "customers", path).problems
    assert problem.message == "is an Excel workbook (.xlsx), not UTF-8 text: save the sheet as CSV UTF-8 and try again"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("customers.csv", "customer_id,email\n")
    [problem] = _refused(engine, "customers", path).problems
    assert problem.message == "is a ZIP archive, not UTF-8 text: unpack it and try again"


def test_a_workbook_s_name_says_to_save_the_sheet_as_csv(engine, tmp_path):
    (tmp_path / "kunden.xlsx").write_bytes(b"PK\x03\x04")
    [problem] = _refused(engine, "customers", tmp_path / "kunden.xlsx").problems
    assert problem.message == (
        "must be a .csv or .parquet (.pq) file, and this is an Excel workbook (.xlsx): save the sheet as CSV UTF-8 "
        "and import that"
    )


def test_ids_a_spreadsheet_forced_to_text_are_imported_as_the_ids_they_hold(engine, tmp_path):
    _shop(engine, tmp_path)
    CUSTOMERS.assign(customer_id=['="00123"', '="00124"']).to_csv(tmp_path / "customers.csv", index=False)
    ORDERS.assign(customer_id=["00123", "00123", '="00124"']).to_csv(tmp_path / "orders.csv", index=False)
    with session_scope(engine) as session:
        assert import_file(session, "customers", tmp_path / "customers.csv").inserted == 2
        assert import_file(session, "orders", tmp_path / "orders.csv").inserted == 3  # both spellings: one id


def test_a_spreadsheet_s_totals_row_is_named_as_one(engine, tmp_path):
    """A sheet saved with its sums under the data was refused with every empty cell of those rows ("row 5, column
    'customer_id': is empty", seven problems for two lines), never saying what the lines were."""
    _shop(engine, tmp_path)
    text = ORDERS.to_csv(index=False) + ",,,4,71.5,\nTotal,,,4,71.5,\n"
    (tmp_path / "orders.csv").write_text(text, encoding="utf-8")
    error = _refused(engine, "orders", tmp_path / "orders.csv")
    said = "looks like a totals row (sums, and no ids or dates): remove it from the export and try again"
    assert [(p.row, p.column, p.message) for p in error.problems] == [(5, None, said), (6, None, said)]
    ORDERS.assign(order_id=["o1", "o1", ""], customer_id=["c1", "c1", ""]).to_csv(tmp_path / "orders.csv", index=False)
    error = _refused(engine, "orders", tmp_path / "orders.csv")  # a line with a product and a date is no totals row
    assert [(p.row, p.column) for p in error.problems] == [(4, "customer_id"), (4, "order_id")]
    PRODUCTS.assign(sku=["T1", ""]).to_csv(tmp_path / "products.csv", index=False)
    error = _refused(engine, "products", tmp_path / "products.csv")  # a product with a name and no sku is none either
    assert [(p.row, p.column, p.message) for p in error.problems] == [(3, "sku", "is empty")]
