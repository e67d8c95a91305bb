"""Every kind is imported a chunk of lines at a time: the same rows as a whole-file import, the same problems on
the file's own lines, nothing written when any chunk is bad, and dates read in the file's order."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from service.db.models import Customer, Event, Interaction, Product, Send
from service.db.session import make_engine, session_scope
from service.errors import InvalidInput, error_body
from service.importing import import_file

ORDER_LINES = (
    select(
        Interaction.order_id, Customer.external_id, Product.sku, Interaction.kind, Interaction.quantity,
        Interaction.amount, Interaction.discount, Interaction.timestamp,
    )
    .join(Customer, Customer.id == Interaction.customer_id)
    .join(Product, Product.id == Interaction.product_id)
    .order_by(Interaction.order_id, Product.sku, Interaction.kind)
)  # fmt: skip
CUSTOMERS = select(
    Customer.external_id, Customer.email, Customer.first_name, Customer.locale, Customer.marketing_consent,
    Customer.unsubscribed, Customer.bounced_email, Customer.attributes,
).order_by(Customer.external_id)  # fmt: skip
PRODUCTS = select(
    Product.sku, Product.name, Product.category, Product.price, Product.in_stock, Product.margin, Product.arrived_at
).order_by(Product.sku)
SENDS = select(Send.external_id, Send.subject, Send.sent_at, Send.churn_risk).order_by(Send.external_id)
EVENTS = (
    select(Send.external_id, Event.kind, Event.occurred_at)
    .join(Send, Send.id == Event.send_id)
    .order_by(Send.external_id, Event.kind)
)


def _rows(engine, statement) -> list[tuple]:
    with session_scope(engine) as session:
        return [tuple(row) for row in session.execute(statement)]


def _shop(engine, demo_files) -> list:
    with session_scope(engine) as session:
        return [import_file(session, kind, demo_files[kind]) for kind in ("customers", "products")]


def _chunked(monkeypatch, rows: int) -> None:
    monkeypatch.setattr("service.importing.files.CHUNK_ROWS", rows)


# Lines a chunk for each kind: every file of the demo slice (160 customers, 60 products, 3,854 order lines, 835
# sends) is read in several chunks, the last one shorter. 37 lines for all of them read the order lines in 105
# chunks, each with pandas' own cost, and proved no more.
CHUNKS = {"customers": 37, "products": 37, "orders": 401, "sends": 301}
WHOLE = dict.fromkeys(CHUNKS, 1_000_000)


def test_a_file_read_in_chunks_writes_what_the_whole_file_writes(
    engine, demo_files, tmp_path, migrated_database, monkeypatch
):
    shutil.copyfile(migrated_database, tmp_path / "whole.db")  # migrated once a session, as `engine`'s is
    whole = make_engine(f"sqlite:///{tmp_path / 'whole.db'}")
    summaries = {}
    for database, chunks in (("whole", WHOLE), ("chunked", CHUNKS)):
        summaries[database] = []
        for kinds in (("customers", "products"), ("orders", "sends")):
            with session_scope(whole if database == "whole" else engine) as session:
                for kind in kinds:
                    _chunked(monkeypatch, chunks[kind])
                    summaries[database].append(import_file(session, kind, demo_files[kind]))
    assert summaries["chunked"] == summaries["whole"]
    assert all(summary.inserted > CHUNKS[kind] for summary, kind in zip(summaries["chunked"], CHUNKS, strict=True))
    for statement in (CUSTOMERS, PRODUCTS, ORDER_LINES, SENDS, EVENTS):
        assert _rows(engine, statement) == _rows(whole, statement)

    # Importing the same file again changes nothing, and says so: what the database held before is not "repeated",
    # and Online Retail's 787,115 lines imported twice were "787,115 updated".
    with session_scope(engine) as session:
        again = import_file(session, "orders", demo_files["orders"])
    assert (again.rows, again.inserted, again.updated, again.unchanged) == (
        summaries["chunked"][2].rows,
        0,
        0,
        again.rows,
    )
    assert _rows(engine, ORDER_LINES) == _rows(whole, ORDER_LINES)
    orders = pd.read_csv(demo_files["orders"], dtype=str, keep_default_na=False)
    corrected_line = CHUNKS["orders"] + 3
    orders.loc[corrected_line, "amount"] = "1234.5"  # one line corrected, in the second chunk
    orders.to_csv(tmp_path / "corrected.csv", index=False)
    with session_scope(engine) as session:
        corrected = import_file(session, "orders", tmp_path / "corrected.csv")
    assert (corrected.inserted, corrected.updated, corrected.unchanged) == (0, 1, again.rows - 1)
    with session_scope(engine) as session:
        amounts = session.execute(
            select(Interaction.amount).where(Interaction.order_id == orders.order_id[corrected_line])
        )
        assert 1234.5 in set(amounts.scalars())


def test_a_parquet_file_is_read_in_chunks_too(engine, demo_files, tmp_path, monkeypatch):
    _chunked(monkeypatch, CHUNKS["orders"])  # 10 uneven batches of its 3,854 lines, as the CSV's: 50 lines made 78
    _shop(engine, demo_files)
    parquet = tmp_path / "orders.parquet"
    pd.read_csv(demo_files["orders"], dtype=str, keep_default_na=False).to_parquet(parquet)
    with session_scope(engine) as session:
        summary = import_file(session, "orders", parquet)
    assert summary.rows == len(pd.read_csv(demo_files["orders"])) == len(_rows(engine, ORDER_LINES))


def _orders_file(demo_files, tmp_path: Path, change, lines: int = 400, name: str = "orders.csv") -> Path:
    """The demo's first ``lines`` order lines, changed: 20 chunks of 20, where the whole file's 125 took 13-34 s a
    test on a busy machine."""
    frame = pd.read_csv(demo_files["orders"], dtype=str, keep_default_na=False).head(lines)
    path = tmp_path / name
    change(frame).to_csv(path, index=False)
    return path


def _refused(engine, path: Path) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "orders", path)
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).select_from(Interaction)) == 0
    return raised.value


def test_problems_in_later_chunks_name_their_lines_and_nothing_is_written(engine, demo_files, tmp_path, monkeypatch):
    _chunked(monkeypatch, 20)
    _shop(engine, demo_files)

    def spoil(frame):
        frame.loc[45, "quantity"], frame.loc[301, "customer_id"] = "lots", "nobody"
        return frame

    error = _refused(engine, _orders_file(demo_files, tmp_path, spoil))
    assert [(p.row, p.column) for p in error.problems] == [(47, "quantity"), (303, "customer_id")]


def test_a_key_repeated_in_a_later_chunk_is_refused(engine, demo_files, tmp_path, monkeypatch):
    _chunked(monkeypatch, 20)
    _shop(engine, demo_files)

    def repeat(frame):
        return pd.concat([frame, frame.iloc[[3]]], ignore_index=True)

    path = _orders_file(demo_files, tmp_path, repeat)
    error = _refused(engine, path)
    last_line = len(pd.read_csv(path)) + 1
    assert [(p.row, p.message) for p in error.problems] == [(last_line, "the same key is on row 5")]


def test_a_key_repeated_in_a_later_chunk_is_refused_when_the_database_held_it_before(
    engine, demo_files, tmp_path, monkeypatch
):
    """Re-importing a shop's orders with a line repeated past the chunk boundary overwrote the stored line with
    the repeat's values ("132685 rows, 0 new, 132685 updated"), where a file under one chunk was refused."""
    _chunked(monkeypatch, 20)
    _shop(engine, demo_files)
    with session_scope(engine) as session:
        import_file(session, "orders", _orders_file(demo_files, tmp_path, lambda frame: frame, name="first.csv"))
    before = _rows(engine, select(Interaction.order_id, Interaction.quantity, Interaction.amount))

    def repeat_changed(frame):
        return pd.concat([frame, frame.iloc[[3]].assign(quantity="999", amount="9999")], ignore_index=True)

    path = _orders_file(demo_files, tmp_path, repeat_changed)
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "orders", path)
    assert [(p.row, p.message) for p in raised.value.problems] == [
        (len(pd.read_csv(path)) + 1, "the same key is on row 5")
    ]
    assert _rows(engine, select(Interaction.order_id, Interaction.quantity, Interaction.amount)) == before


def test_dates_are_read_in_the_order_of_the_whole_file(engine, demo_files, tmp_path, monkeypatch):
    """The first chunks' dates are all ambiguous (03/04/2024); a later one settles that the day comes first."""
    _chunked(monkeypatch, 20)
    _shop(engine, demo_files)

    def numeric_dates(frame):
        frame = frame.head(100).copy()
        frame["timestamp"] = "03/04/2024 10:00"
        frame.loc[90, "timestamp"] = "25/04/2024 10:00"
        return frame

    with session_scope(engine) as session:
        import_file(session, "orders", _orders_file(demo_files, tmp_path, numeric_dates))
    dates = {row[-1].date().isoformat() for row in _rows(engine, ORDER_LINES)}
    assert dates == {"2024-04-03", "2024-04-25"}


def test_dates_in_both_orders_across_chunks_are_refused(engine, demo_files, tmp_path, monkeypatch):
    _chunked(monkeypatch, 20)
    _shop(engine, demo_files)

    def both_orders(frame):
        frame = frame.head(100).copy()
        frame.loc[5, "timestamp"], frame.loc[80, "timestamp"] = "25/04/2024 10:00", "04/25/2024 10:00"
        return frame

    error = _refused(engine, _orders_file(demo_files, tmp_path, both_orders))
    [problem] = error.problems
    assert problem.row == 82 and problem.column == "timestamp" and "(row 7)" in problem.message


def test_a_byte_that_is_not_utf8_far_into_the_file_names_its_line(engine, demo_files, tmp_path, monkeypatch):
    """The file is checked a block at a time: the line is counted across blocks, and a character cut by a block
    boundary is still read whole."""
    monkeypatch.setattr("tabular.encoding.BLOCK", 64)
    _shop(engine, demo_files)
    lines = demo_files["orders"].read_text(encoding="utf-8").splitlines()
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_bytes(("\n".join(lines[:60]) + "\n").encode() + "ü€,".encode() * 40 + b"\n")
    bad.write_bytes("\n".join(lines[:60]).encode() + b"\nS99,C1,P1,1,9.5,0,2024-01-01 10:00,purchase\xe9\n")
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "orders", good)
    assert all("UTF-8" not in str(problem) for problem in raised.value.problems)  # refused for its columns only
    with pytest.raises(InvalidInput, match="is not UTF-8") as raised, session_scope(engine) as session:
        import_file(session, "orders", bad)
    assert [problem.row for problem in raised.value.problems] == [61]


def test_a_utf16_compressed_or_workbook_file_is_told_what_it_is(engine, demo_files, tmp_path):
    """A sheet saved as "Unicode text", an export left gzipped and a workbook renamed .csv were each told "is not
    UTF-8 (byte 0xff)" (0x8b, 0x..): a byte, where the person needed to hear what their file is."""
    import gzip
    import zipfile

    text = demo_files["customers"].read_text(encoding="utf-8")
    path = tmp_path / "customers.csv"
    said = {}
    for name, write in {
        "utf-16": lambda: path.write_bytes(text.encode("utf-16")),
        "gzip": lambda: path.write_bytes(gzip.compress(text.encode())),
        "xlsx": lambda: zipfile.ZipFile(path, "w").writestr("xl/worksheets/sheet1.xml", "<sheetData>" + "\xe9" * 9),
    }.items():
        write()
        with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
            import_file(session, "customers", path)
        [problem] = raised.value.problems
        said[name] = problem.message
    to_do = {name: message.split(", not UTF-8 text: ") for name, message in said.items()}
    assert to_do == {
        "utf-16": ['is UTF-16 text (a spreadsheet\'s "Unicode text")', "save it as CSV UTF-8 and try again"],
        "gzip": ["is gzip-compressed", "unpack it and try again"],
        "xlsx": ["is an Excel workbook (.xlsx)", "save the sheet as CSV UTF-8 and try again"],
    }
    named = tmp_path / "customers.csv.gz"  # told by its name, before it is read: in the same words
    named.write_bytes(gzip.compress(text.encode()))
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "customers", named)
    assert "is gzip-compressed: unpack it first" in str(raised.value)
    path.write_bytes(b"customer_id,email\nc1,caf\xe9@example.com\n")  # text in another encoding: its byte
    with pytest.raises(InvalidInput, match=r"is not UTF-8 \(byte 0xe9\)"), session_scope(engine) as session:
        import_file(session, "customers", path)


def test_progress_counts_lines_across_chunks(engine, demo_files, monkeypatch):
    _chunked(monkeypatch, 500)
    _shop(engine, demo_files)
    heard = []
    with session_scope(engine) as session:
        summary = import_file(session, "orders", demo_files["orders"], progress=lambda *args: heard.append(args[:2]))
    done = [d for d, _ in heard]
    assert done == sorted(done) and done[-1] == summary.rows and all(total == summary.rows for _, total in heard)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf\n  \n"])
def test_an_empty_file_is_refused_naming_its_kind_and_the_columns_its_header_needs(
    engine, demo_files, tmp_path, content
):
    """It was "/path/orders.csv rejected, nothing was written: cannot be read: No columns to parse from file"."""
    _shop(engine, demo_files)
    empty = tmp_path / "orders.csv"
    empty.write_bytes(content)
    with pytest.raises(InvalidInput) as refused, session_scope(engine) as session:
        import_file(session, "orders", empty)
    assert str(refused.value) == (
        f"orders file {empty.name} rejected, nothing was written: is empty: its first line must name its columns (at "
        "least order_id, customer_id, product_id, quantity, amount, timestamp)"
    )


def test_an_empty_parquet_file_is_refused_as_empty(engine, demo_files, tmp_path):
    """It was "cannot be read: Parquet file size is 0 bytes", the reader's words rather than the shop's."""
    _shop(engine, demo_files)
    empty = tmp_path / "orders.parquet"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput) as refused, session_scope(engine) as session:
        import_file(session, "orders", empty)
    assert str(refused.value) == (
        f"orders file {empty.name} rejected, nothing was written: is empty (0 bytes): even a Parquet file of no rows "
        "names its columns"
    )


def test_checking_stops_after_many_problems_and_says_so(engine, demo_files, tmp_path, monkeypatch):
    """An import listed more problems than its limit, the API body only the first 200, and the note on the count
    counted itself as a problem."""
    _chunked(monkeypatch, 20)
    monkeypatch.setattr("service.importing.load.MAX_PROBLEMS", 30)
    _shop(engine, demo_files)

    def spoil(frame):
        frame["quantity"] = "lots"
        return frame

    error = _refused(engine, _orders_file(demo_files, tmp_path, spoil))
    rows = [problem.row for problem in error.problems]  # two chunks checked: 40 problems, the first 30 listed
    assert rows[:-1] == list(range(2, 32)) and error.problems[-1].row is None
    last = "40 problems found, the first 30 listed; checking stopped before the end of the file"
    assert str(error).endswith("(40 problems found, the first 20 shown; checking stopped before the end of the file)")
    assert error.problems[-1].message == last and error_body(error)["problems"][-1] == {
        "file": "orders.csv",
        "row": None,
        "column": None,
        "message": last,
    }


def test_customers_in_chunks_keep_the_import_rules_of_a_whole_file(engine, tmp_path, monkeypatch):
    """Customers and products were read whole: 1,000,000 customers took +2.6 GB (+3.4 GB to update them).
    Across chunks a repeated customer is still refused, the language warning counts the whole file, and an
    unsubscribed customer stays unsubscribed."""
    _chunked(monkeypatch, 3)
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(8)],
            "email": [f"c{i}@example.com" for i in range(8)],
            "first_name": "Ana",
            "locale": ["cs", "en", "cs-CZ", "de", "da", "cs", "en", "sv_FI"],
            "marketing_consent": "true",
        }
    )
    path = tmp_path / "customers.csv"
    customers.assign(unsubscribed=["false"] * 7 + ["true"]).to_csv(path, index=False)
    with session_scope(engine) as session:
        summary = import_file(session, "customers", path)
    assert (summary.rows, summary.inserted) == (8, 8)
    assert summary.warnings[0].startswith(
        "5 customers have a language without email templates: cs (3), da (1), sv (1)."
    )

    customers.to_csv(path, index=False)  # no unsubscribed column: c7 stays unsubscribed
    with session_scope(engine) as session:
        again = import_file(session, "customers", path)
    assert (again.rows, again.updated, again.unchanged) == (8, 0, 8)  # the same customers, nothing to write
    assert [row[5] for row in _rows(engine, CUSTOMERS)] == [False] * 7 + [True]

    pd.concat([customers, customers.iloc[[1]]]).to_csv(path, index=False)  # c1 again on line 10, in chunk 3
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "customers", path)
    assert [(p.row, p.message) for p in raised.value.problems] == [(10, "the same key is on row 3")]


def test_a_parquet_file_of_no_rows_is_still_checked_for_its_columns(engine, tmp_path):
    """A Parquet file of no rows gave no batch to check: one of orders named only `order_id` was imported as
    customers, "0 rows"; a header-only CSV file was refused."""
    wrong = tmp_path / "wrong.parquet"
    pd.DataFrame({"order_id": pd.Series([], dtype=str)}).to_parquet(wrong)
    with pytest.raises(InvalidInput, match="customer_id"), session_scope(engine) as session:
        import_file(session, "customers", wrong)
    right = tmp_path / "right.parquet"
    columns = ["customer_id", "email", "first_name", "locale", "marketing_consent"]
    pd.DataFrame({c: pd.Series([], dtype=str) for c in columns}).to_parquet(right)
    with session_scope(engine) as session:
        assert import_file(session, "customers", right).rows == 0
