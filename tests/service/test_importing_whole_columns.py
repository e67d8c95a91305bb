"""What a file's header or one of its columns gets wrong as a whole is said once: a documented column spelt two
ways in the header, and a column that must have values left empty on every row."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import func, select

from service.db.models import Customer
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import files, import_file
from tests.service.test_importing import CUSTOMERS, ORDERS, PRODUCTS


def _refused(engine, kind: str, path) -> InvalidInput:
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, kind, path)
    return raised.value


def _customers(engine) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Customer))


def test_a_column_the_header_spells_two_ways_is_refused_naming_both(engine, tmp_path):
    """`email` and `Email` in one header: the first was read as the address and the second kept, silently, as a
    customer's attribute, whichever held the addresses the shop uses now."""
    CUSTOMERS.assign(Email=["anna@new.example", "jan@new.example"]).to_csv(tmp_path / "customers.csv", index=False)
    error = _refused(engine, "customers", tmp_path / "customers.csv")
    assert [(p.row, p.column, p.message) for p in error.problems] == [
        (None, "email", "the header spells it 2 ways, 'email' and 'Email': keep the one to import as email and "
         "remove or rename the other"),
    ]  # fmt: skip
    assert _customers(engine) == 0
    with session_scope(engine) as session:  # the header alone decides: the same file with one of them imports
        CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False)
        import_file(session, "customers", tmp_path / "customers.csv")
        PRODUCTS.to_csv(tmp_path / "products.csv", index=False)
        import_file(session, "products", tmp_path / "products.csv")
    ORDERS.assign(**{"Customer ID": ["c2", "c2", "c1"]}).to_csv(tmp_path / "orders.csv", index=False)
    error = _refused(engine, "orders", tmp_path / "orders.csv")  # an unread column would only have been a warning
    assert [(p.column, p.message[:50]) for p in error.problems] == [
        ("customer_id", "the header spells it 2 ways, 'customer_id' and 'Cu")
    ]


def test_a_required_column_empty_on_every_row_is_one_problem(engine, tmp_path):
    """A customers export whose email column came out empty was refused with "row 2, column 'email': is empty" for
    each of its lines, up to the 1,000-problem stop, never saying the whole column was."""
    frame = pd.concat([CUSTOMERS] * 30, ignore_index=True)
    frame["customer_id"] = [f"c{i}" for i in range(len(frame))]
    frame.assign(email="").to_csv(tmp_path / "customers.csv", index=False)
    error = _refused(engine, "customers", tmp_path / "customers.csv")
    assert [(p.row, p.column, p.message) for p in error.problems] == [
        (None, "email", "is empty on all 60 rows, 2 to 61: is it the right column, or was it left out of the export?")
    ]
    assert str(error).endswith("column 'email': is empty on all 60 rows, 2 to 61: is it the right column, or was "
                               "it left out of the export?")  # fmt: skip
    # Empty on some rows only: each of those rows is named, as before.
    frame.assign(email=["", "x@example.com"] * 30).to_csv(tmp_path / "customers.csv", index=False)
    error = _refused(engine, "customers", tmp_path / "customers.csv")
    assert [(p.row, p.column, p.message) for p in error.problems] == [(r, "email", "is empty") for r in range(2, 62, 2)]
    assert _customers(engine) == 0


def test_a_column_empty_in_one_chunk_of_a_long_file_names_that_chunk_s_rows(engine, tmp_path, monkeypatch):
    monkeypatch.setattr(files, "CHUNK_ROWS", 20)
    frame = pd.concat([CUSTOMERS] * 25, ignore_index=True)
    frame["customer_id"] = [f"c{i}" for i in range(len(frame))]
    frame.loc[20:39, "email"] = ""  # lines 22 to 41, the second chunk
    frame.to_csv(tmp_path / "customers.csv", index=False)
    error = _refused(engine, "customers", tmp_path / "customers.csv")
    assert [(p.row, p.column, p.message[:33]) for p in error.problems] == [
        (None, "email", "is empty on all 20 rows, 22 to 41")
    ]


def test_cells_a_spreadsheet_forced_to_stay_text_are_that_text_in_every_column(engine, tmp_path):
    """Excel's ="..." keeps a cell as text (leading zeros, a phone number): ids were read so, but a name, a number or
    an attribute kept the formula's own text (a product named '="Sencha tea"', a price "not a number")."""
    PRODUCTS.assign(name=['="Sencha tea"', '="The ""Chef"" knife"'], price=['="7.5"', "49"]).to_csv(
        tmp_path / "products.csv", index=False
    )
    CUSTOMERS.assign(phone=['="0049 30 1234"', "12"]).to_csv(tmp_path / "customers.csv", index=False)
    with session_scope(engine) as session:
        import_file(session, "products", tmp_path / "products.csv")
        import_file(session, "customers", tmp_path / "customers.csv")
    with session_scope(engine) as session:
        from service.db.models import Product

        products = {p.sku: (p.name, p.price) for p in session.scalars(select(Product))}
        phones = {c.external_id: c.attributes.get("phone") for c in session.scalars(select(Customer))}
    assert products == {"T1": ("Sencha tea", 7.5), "K1": ('The "Chef" knife', 49.0)}
    assert phones == {"c1": "0049 30 1234", "c2": "12"}


def test_a_forced_cell_is_unforced_once_in_an_id_column_as_in_every_other(engine, tmp_path):
    """An id column took the formula off twice: a spreadsheet keeping the text ="7" writes it as a formula of its own,
    which was the id 7, another customer's, where the name column beside it kept ="7"."""
    CUSTOMERS.assign(customer_id=['="=""7"""', "c2"], first_name=['="=""7"""', "Ann"]).to_csv(
        tmp_path / "customers.csv", index=False
    )
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "customers.csv")
    with session_scope(engine) as session:
        names = {c.external_id: c.first_name for c in session.scalars(select(Customer))}
    assert names == {'="7"': '="7"', "c2": "Ann"}
