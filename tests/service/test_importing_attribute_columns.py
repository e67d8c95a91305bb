"""A customers file keeps its extra columns as attributes, up to a documented count: a file of thousands of columns
was imported, every one stored on every customer. A file with more is refused from its header, naming the file, how
many it has and the first beyond the cap, nothing written; a products file's extra columns are not kept, and not
counted."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Customer, Product
from service.errors import InvalidInput
from service.importing import import_frame
from service.importing.columns import ATTRIBUTE_COLUMNS_MAX
from tests.forked_cli import run_tailor

CAP_TOLD = (
    "the file has {count:,} columns besides the documented ones, each kept as an attribute of every customer, and a "
    f"customers file keeps {ATTRIBUTE_COLUMNS_MAX:,} at most: this is the first beyond them; leave out the columns the "
    "shop does not need"
)


def _customers_csv(attributes: int) -> str:
    """Two customers, with ``attributes`` columns besides the documented ones (and a spreadsheet's headerless index
    column, which is no attribute)."""
    names = [f"a{n}" for n in range(1, attributes + 1)]
    header = ",".join(["", "customer_id", "email", "first_name", "marketing_consent", *names])
    rows = [f"{n},c{n},c{n}@example.com,Ann,true," + ",".join("x" for _ in names) for n in (1, 2)]
    return "\n".join([header, *rows]) + "\n"


def _upload(client, name: str, text: str):
    return client.post("/imports/customers", files={"file": (name, text.encode(), "text/csv")})


def test_a_customers_file_with_more_attribute_columns_than_the_cap_is_refused_naming_the_first_beyond(client, engine):
    answer = _upload(client, "wide.csv", _customers_csv(ATTRIBUTE_COLUMNS_MAX + 1))
    assert answer.status_code == 422, answer.text
    told = CAP_TOLD.format(count=ATTRIBUTE_COLUMNS_MAX + 1)
    assert answer.json()["message"] == (
        f"customers file wide.csv rejected, nothing was written: column 'a{ATTRIBUTE_COLUMNS_MAX + 1}': {told}"
    )
    assert [(p["row"], p["column"]) for p in answer.json()["problems"]] == [(None, f"a{ATTRIBUTE_COLUMNS_MAX + 1}")]
    with Session(engine) as session:
        assert session.scalar(select(Customer.id)) is None


def test_a_customers_file_at_the_cap_keeps_every_attribute(client):
    assert _upload(client, "wide.csv", _customers_csv(ATTRIBUTE_COLUMNS_MAX)).status_code == 200
    attributes = client.get("/customers/c2").json()["attributes"]
    assert len(attributes) == ATTRIBUTE_COLUMNS_MAX and attributes[f"a{ATTRIBUTE_COLUMNS_MAX}"] == "x"


def test_a_wide_frame_is_refused_as_a_file_is(engine):
    frame = pd.DataFrame(
        {"customer_id": ["c1"], "email": ["c1@example.com"], "first_name": ["Ann"], "marketing_consent": ["true"]}
        | {f"{'long name ' * 5}{n}": ["x"] for n in range(5_000)}
    )
    with pytest.raises(InvalidInput) as raised, Session(engine) as session:
        import_frame(session, "customers", frame)
    (problem,) = raised.value.problems
    assert (problem.row, problem.column) == (None, f"{('long name ' * 5)[:40]}…")
    assert problem.message == CAP_TOLD.format(count=5_000)
    with Session(engine) as session:
        assert session.scalar(select(Customer.id)) is None


def test_a_products_file_s_extra_columns_are_not_kept_and_not_counted(client, engine):
    names = [f"p{n}" for n in range(ATTRIBUTE_COLUMNS_MAX + 1)]
    header = ",".join(["sku", "name", "category", "price", "currency", "description", "url", "in_stock", *names])
    text = f"{header}\nK1,Teapot,Kitchen,39,EUR,,,true,{','.join('x' for _ in names)}\n"
    answer = client.post("/imports/products", files={"file": ("products.csv", text.encode(), "text/csv")})
    assert answer.status_code == 200, answer.text
    assert "nothing was read from the columns" in answer.json()["warnings"][0]
    with Session(engine) as session:
        assert session.scalar(select(Product.sku)) == "K1"


def test_the_command_line_refuses_a_wide_customers_file_naming_it_and_its_count(tmp_path):
    (tmp_path / "crm-export.csv").write_text(_customers_csv(3_000))
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}
    result = run_tailor(["import", "customers", str(tmp_path / "crm-export.csv")], env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "customers file crm-export.csv rejected, nothing was written" in result.stderr
    assert f"column 'a{ATTRIBUTE_COLUMNS_MAX + 1}': {CAP_TOLD.format(count=3_000)}" in result.stderr
