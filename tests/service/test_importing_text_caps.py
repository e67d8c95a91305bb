"""The free text a shop's files bring has a documented length: a 20 MB `notes` attribute and a 20 MB product
description were imported, answered whole by GET /customers/{id} and GET /products/{id}, and the description went
towards the copy prompts. A file with a longer value is refused by the row and column of each, nothing written."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Customer, Product, Send
from service.errors import InvalidInput
from service.importing import import_frame
from tests.forked_cli import run_tailor

CUSTOMERS = (
    "customer_id,email,first_name,marketing_consent,notes\n"
    "c1,ann@example.com,Ann,true,{}\nc2,bo@example.com,Bo,true,{}\n"
)
PRODUCTS = "sku,name,category,price,currency,description,url,in_stock\nK1,Teapot,Kitchen,39,EUR,{},,true\n"


def _upload(client, kind: str, text: str):
    return client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", text.encode(), "text/csv")})


def _problems(answer) -> list[tuple]:
    return [(p["row"], p["column"], p["message"]) for p in answer.json()["problems"]]


def test_a_long_attribute_is_refused_by_its_row_and_column_and_nothing_is_written(client, engine):
    answer = _upload(client, "customers", CUSTOMERS.format("a" * 1_000, "b" * 1_001))
    assert answer.status_code == 422, answer.text
    assert _problems(answer) == [(3, "notes", "is 1,001 characters long; at most 1,000 are kept")]
    assert client.get("/customers/c1").status_code == 404
    with Session(engine) as session:
        assert session.scalar(select(Customer.id)) is None


def test_an_attribute_at_its_cap_is_kept_whole(client):
    assert _upload(client, "customers", CUSTOMERS.format("a" * 1_000, "b")).status_code == 200
    assert client.get("/customers/c1").json()["attributes"] == {"notes": "a" * 1_000}


def test_an_attribute_column_with_a_long_name_is_refused_naming_it_shortened(client, engine):
    header = "n" * 201
    answer = _upload(client, "customers", CUSTOMERS.replace("notes", header).format("a", "b"))
    assert answer.status_code == 422, answer.text
    assert _problems(answer) == [
        (None, "n" * 40 + "…", "the column's name is 201 characters long; an attribute's name takes 200 at most")
    ]
    with Session(engine) as session:
        assert session.scalar(select(Customer.id)) is None


def test_a_long_description_is_refused_by_its_row_and_column(client, engine):
    answer = _upload(client, "products", PRODUCTS.format("d" * 5_001))
    assert answer.status_code == 422, answer.text
    assert _problems(answer) == [(2, "description", "is 5,001 characters long; at most 5,000 are kept")]
    assert client.get("/products/K1").status_code == 404
    assert _upload(client, "products", PRODUCTS.format("d" * 5_000)).status_code == 200
    with Session(engine) as session:
        assert len(session.scalar(select(Product.description))) == 5_000


def test_a_past_send_s_long_copy_is_refused_by_row_and_column(engine):
    """The scoring model learns from past subjects, preheaders and intros: each is bounded as the copy it reads."""
    sends = pd.DataFrame(
        {
            "send_id": ["s1", "s2"], "customer_id": ["c1", "c1"], "campaign_type": ["vip", "vip"],
            "sent_at": ["2026-01-05 09:00", "2026-01-06 09:00"], "subject": ["Hello", "S" * 999],
            "preheader": ["P" * 1_001, ""], "intro": ["", "I" * 5_001],
        }
    )  # fmt: skip
    customer = pd.DataFrame({"customer_id": ["c1"], "email": ["ann@example.com"], "first_name": ["Ann"],
                             "marketing_consent": ["true"]})  # fmt: skip
    with Session(engine) as session:
        import_frame(session, "customers", customer)
        session.commit()
    with pytest.raises(InvalidInput) as raised, Session(engine) as session:
        import_frame(session, "sends", sends)
    assert [str(problem) for problem in raised.value.problems] == [
        "row 2, column 'preheader': is 1,001 characters long; at most 1,000 are kept",
        "row 3, column 'intro': is 5,001 characters long; at most 5,000 are kept",
        "row 3, column 'subject': is 999 characters long; at most 998 are kept",
    ]
    with Session(engine) as session:
        assert session.scalar(select(Send.id)) is None


def test_the_command_line_refuses_a_long_description_by_its_row(tmp_path):
    (tmp_path / "products.csv").write_text(PRODUCTS.format("d" * 5_001))
    env = {**os.environ, "TAILOR_HOME": str(tmp_path)}
    result = run_tailor(["import", "products", str(tmp_path / "products.csv")], env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "row 2, column 'description': is 5,001 characters long; at most 5,000 are kept" in result.stderr
