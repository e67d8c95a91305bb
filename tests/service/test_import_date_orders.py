"""A file whose numeric dates are all ambiguous (a month's export of its first twelve days: 03/05/2011) is read in the
order an earlier file of its kind settled (25/04/2011: day first), and says so; a date only the other order reads is
refused by its row; an order given with the file wins; the shop lists and forgets what was settled."""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from evals.datasets import available, data_path
from service import cli
from service.consent import ImportSource
from service.db.models import Customer, Interaction
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_file
from service.importing.date_orders import every_settled_order, settle
from tests.service.conftest import new_migrated_postgres_database, wait_for_job

CUSTOMERS = "customer_id,email,first_name,locale,marketing_consent\nc1,ann@example.com,Ann,en,true\n"
PRODUCTS = (
    "sku,name,category,price,currency,description,url,in_stock\nT1,Tea,tea,7.5,EUR,,,true\nK1,Knife,kit,49,EUR,,,true\n"
)
HEADER = "order_id,customer_id,product_id,quantity,amount,timestamp\n"
# A UK shop's April export proves the day comes first; its early-May export holds only days 1 to 12.
APRIL = HEADER + "o1,c1,T1,1,7.5,02/04/2011 10:00\no2,c1,K1,1,49,25/04/2011 11:00\n"
EARLY_MAY = HEADER + "o3,c1,T1,1,7.5,03/05/2011 09:00\no4,c1,K1,1,49,12/05/2011 16:30\n"
MONTH_FIRST = HEADER + "o5,c1,T1,1,7.5,05/02/2011 09:00\no6,c1,K1,1,49,05/13/2011 10:00\n"
ONLINE_RETAIL = "online-retail/online_retail_2010_2011.parquet"


@pytest.fixture
def shop(engine, tmp_path):
    """A customer and two products imported; ``write`` puts a file's text in the test's folder."""
    for kind, text in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        with session_scope(engine) as session:
            import_file(session, kind, _write(tmp_path, f"{kind}.csv", text))
    return engine


def _write(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text, encoding="utf-8")
    return folder / name


def _imported(engine, path: Path, kind: str = "orders", **given):
    with session_scope(engine) as session:
        return import_file(session, kind, path, **given)


def _order_days(engine, order_ids: list[str]) -> list[str]:
    with session_scope(engine) as session:
        stored = session.scalars(
            select(Interaction.timestamp).where(Interaction.order_id.in_(order_ids)).order_by(Interaction.order_id)
        )
        return [moment.strftime("%Y-%m-%d %H:%M") for moment in stored]


def test_a_file_of_ambiguous_dates_is_read_in_the_order_an_earlier_file_settled(shop, tmp_path):
    """A shop's monthly export of early-month days was refused every month, though its April file had proved
    that the day comes first."""
    april = _imported(shop, _write(tmp_path, "april.csv", APRIL))
    assert april.date_orders == (
        "dates read day-first, as '25/04/2011 11:00' (row 3) shows; later orders files are read so too "
        "(`tailor date-orders list`, the API's GET /imports/date-orders)",
    )
    may = _imported(shop, _write(tmp_path, "may.csv", EARLY_MAY))
    assert may.rows == 2
    assert _order_days(shop, ["o3", "o4"]) == ["2011-05-03 09:00", "2011-05-12 16:30"]
    (read_as,) = may.date_orders
    assert read_as.startswith("dates read day-first, as settled by the orders file april.csv of 20")


def test_a_date_only_the_other_order_reads_is_refused_by_its_row_and_column(shop, tmp_path):
    """pandas reads 05/13/2011 month first even when told the day comes first: settled day-first, it would have
    been stored as 13 May beside 5 February read as 2 May."""
    _imported(shop, _write(tmp_path, "april.csv", APRIL))
    with pytest.raises(InvalidInput) as refused:
        _imported(shop, _write(tmp_path, "us.csv", MONTH_FIRST))
    message = str(refused.value)
    assert "row 3, column 'timestamp': '05/13/2011 10:00' puts the month first, but orders files are read day-first, " \
        "as settled by the orders file april.csv of " in message  # fmt: skip
    assert "`tailor date-orders forget orders`, the API's DELETE /imports/date-orders/orders" in message
    assert "--dates day-first|month-first" in message and "the API's dates=day-first|month-first" in message
    assert _order_days(shop, ["o5", "o6"]) == []


def test_an_order_given_with_the_file_wins_and_settles_only_what_is_unsettled(shop, tmp_path):
    _imported(shop, _write(tmp_path, "april.csv", APRIL))
    us = _imported(shop, _write(tmp_path, "us.csv", MONTH_FIRST), day_first=False)
    assert _order_days(shop, ["o5", "o6"]) == ["2011-05-02 09:00", "2011-05-13 10:00"]
    assert us.date_orders[0].startswith("dates read month-first, as given (orders files are otherwise read day-first")
    _imported(shop, _write(tmp_path, "may.csv", EARLY_MAY))  # still day first: the given order was this file's
    assert _order_days(shop, ["o3", "o4"]) == ["2011-05-03 09:00", "2011-05-12 16:30"]
    with pytest.raises(InvalidInput, match="'05/13/2011 10:00' puts the month first, but the file's dates were given"):
        _imported(shop, _write(tmp_path, "us.csv", MONTH_FIRST), day_first=True)


def test_an_order_given_with_the_first_file_settles_its_kind(shop, tmp_path):
    """A shop whose first file held only early days gives its order once, not with every file."""
    with pytest.raises(InvalidInput, match="could be day/month or month/day.*give the file's order"):
        _imported(shop, _write(tmp_path, "may.csv", EARLY_MAY))
    _imported(shop, _write(tmp_path, "may.csv", EARLY_MAY), day_first=False)
    assert _order_days(shop, ["o3", "o4"]) == ["2011-03-05 09:00", "2011-12-05 16:30"]
    june = _imported(shop, _write(tmp_path, "june.csv", HEADER + "o7,c1,T1,1,7.5,06/01/2011 12:00\n"))
    assert _order_days(shop, ["o7"]) == ["2011-06-01 12:00"]
    assert june.date_orders[0].startswith("dates read month-first, as settled by the orders file may.csv")


def test_each_kind_settles_its_own_order(shop, tmp_path):
    """A customers file's consent dates are settled apart from the orders' (each shop system writes its own)."""
    consent = "customer_id,email,first_name,marketing_consent,consent_at\n"
    _imported(shop, _write(tmp_path, "c1.csv", consent + "c1,ann@example.com,Ann,true,25/04/2011\n"), "customers")
    with pytest.raises(InvalidInput, match="could be day/month"):  # orders settled nothing yet
        _imported(shop, _write(tmp_path, "may.csv", EARLY_MAY))
    again = _imported(shop, _write(tmp_path, "c2.csv", consent + "c2,bo@example.com,Bo,true,03/05/2011\n"), "customers")
    assert again.date_orders[0].startswith("dates read day-first, as settled by the customers file c1.csv")
    with session_scope(shop) as session:
        bo = session.scalar(select(Customer).where(Customer.external_id == "c2"))
        assert bo.consent_changed_at.strftime("%Y-%m-%d") == "2011-05-03"


def _upload(client, name: str, text: str, **query):
    return client.post("/imports/orders", params=query, files={"file": (name, io.BytesIO(text.encode()), "text/csv")})


def test_the_api_reads_a_later_file_in_the_settled_order_lists_it_and_forgets_it(client, tmp_path):
    for kind, text in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        assert client.post(f"/imports/{kind}", files={"file": (f"{kind}.csv", text.encode(), "text/csv")}).is_success
    assert _upload(client, "april.csv", APRIL).status_code == 200
    may = _upload(client, "may.csv", EARLY_MAY)
    assert may.status_code == 200, may.text
    assert may.json()["date_orders"][0].startswith("dates read day-first, as settled by the orders file april.csv")

    (settled,) = client.get("/imports/date-orders").json()
    assert settled["settled_at"].endswith("Z")  # UTC, as every moment the API gives
    assert {key: settled[key] for key in ("kind", "column", "order", "import_file")} == {
        "kind": "orders", "column": "timestamp", "order": "day-first", "import_file": "april.csv"
    }  # fmt: skip
    refused = _upload(client, "us.csv", MONTH_FIRST)
    assert refused.status_code == 422 and "row 3, column 'timestamp': '05/13/2011 10:00'" in refused.text
    job = _upload(client, "us.csv", MONTH_FIRST, dates="month-first", background="true")
    finished = wait_for_job(client, job.json()["job_id"])
    assert finished["status"] == "succeeded", finished["error"]
    assert finished["result"]["date_orders"][0].startswith("dates read month-first, as given")

    assert client.delete("/imports/date-orders/orders").status_code == 204
    assert client.get("/imports/date-orders").json() == []
    assert "could be day/month" in _upload(client, "may.csv", EARLY_MAY).text


def test_the_command_line_reads_a_later_file_in_the_settled_order_lists_it_and_forgets_it(
    shop, tmp_path, monkeypatch
):  # fmt: skip
    monkeypatch.setattr(cli, "command_engine", lambda: shop)
    april, may = _write(tmp_path, "april.csv", APRIL), _write(tmp_path, "may.csv", EARLY_MAY)
    assert CliRunner().invoke(cli.app, ["import", "orders", str(april)]).exit_code == 0
    imported = CliRunner().invoke(cli.app, ["import", "orders", str(may)])
    assert imported.exit_code == 0, imported.output
    assert "dates read day-first, as settled by the orders file april.csv of 20" in imported.output

    listed = CliRunner().invoke(cli.app, ["date-orders", "list"])
    assert "orders timestamp: day-first, settled by the orders file april.csv of 20" in listed.output
    assert "forgot the order of orders dates" in CliRunner().invoke(cli.app, ["date-orders", "forget", "orders"]).output
    refused = CliRunner().invoke(cli.app, ["import", "orders", str(may)])
    assert refused.exit_code == 2 and "'03/05/2011 09:00' could be day/month" in refused.output
    given = CliRunner().invoke(cli.app, ["import", "orders", str(may), "--dates", "day-first"])
    assert given.exit_code == 0 and "dates read day-first, as given; later orders files are read so too" in given.output


@pytest.mark.skipif(not available(ONLINE_RETAIL), reason="Online Retail (../shared/data) is absent")
def test_online_retail_s_early_may_export_is_read_as_its_april_export_settled(engine, tmp_path):
    """Real lines of one customer of the UCI shop, written as a UK back office exports them (dd/mm/yyyy hh:mm)."""
    columns = ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
    lines = pd.read_parquet(data_path(ONLINE_RETAIL), columns=columns)
    lines = lines[(lines.CustomerID == 12748) & (lines.Quantity > 0)].drop_duplicates(["InvoiceNo", "StockCode"])
    moments = pd.to_datetime(lines.InvoiceDate)
    months = {
        "april.csv": lines[(moments >= "2011-04-20") & (moments < "2011-05-01")],
        "may.csv": lines[(moments >= "2011-05-01") & (moments < "2011-05-13")],
    }
    orders = {
        name: pd.DataFrame(
            {
                "order_id": month.InvoiceNo,
                "customer_id": "12748",
                "product_id": month.StockCode,
                "quantity": month.Quantity,
                "amount": (month.Quantity * month.UnitPrice).round(2),
                "timestamp": pd.to_datetime(month.InvoiceDate).dt.strftime("%d/%m/%Y %H:%M"),
            }
        )  # fmt: skip
        for name, month in months.items()
    }
    assert (orders["may.csv"].timestamp.str[:2].astype(int) <= 12).all() and len(orders["may.csv"]) > 20
    products = pd.concat(orders.values()).drop_duplicates("product_id")
    catalog = products.assign(sku=products.product_id, name="x", category="", price=1, currency="GBP",
                              description="", url="", in_stock="true")  # fmt: skip
    files = {"customers": tmp_path / "customers.csv", "products": tmp_path / "products.csv"}
    files["customers"].write_text("customer_id,email,first_name,marketing_consent\n12748,a@example.com,A,true\n")
    catalog[["sku", "name", "category", "price", "currency", "description", "url", "in_stock"]].to_csv(
        files["products"], index=False
    )
    for kind, path in files.items():
        _imported(engine, path, kind)
    for name, month in orders.items():
        month.to_csv(tmp_path / name, index=False)
        _imported(engine, tmp_path / name)
    with session_scope(engine) as session:
        days = session.scalars(select(func.date(Interaction.timestamp)).where(Interaction.order_id.in_(
            orders["may.csv"].order_id))).all()  # fmt: skip
    assert sorted(set(days)) == sorted(set(pd.to_datetime(months["may.csv"].InvoiceDate).dt.strftime("%Y-%m-%d")))


def test_an_order_settled_meanwhile_is_kept_and_told(any_engine):
    """Two imports side by side that read their kind's dates in different orders, nothing settled when each began:
    the second to settle gets the first's order back (its file is then refused), not a duplicate key's error."""
    with session_scope(any_engine) as session:
        settle(session, "orders", "timestamp", True, ImportSource("april.csv"))
    with session_scope(any_engine) as session:
        settled = settle(session, "orders", "timestamp", False, ImportSource("us.csv", "job-2"))
        assert (settled.day_first, settled.import_file, settled.import_job_id) == (True, "april.csv", None)
    with session_scope(any_engine) as session:
        assert [(row.kind, row.day_first) for row in every_settled_order(session)] == [("orders", True)]


@pytest.mark.postgres
def test_a_file_whose_order_another_import_settled_meanwhile_is_refused_whole(postgres_url, tmp_path):
    """On PostgreSQL two imports of a kind run side by side: each began with nothing settled, and the second to end
    read its dates the other way round from the order the first settled. It is refused, nothing of it written, rather
    than leaving the kind's files read in two orders."""
    engine = new_migrated_postgres_database(postgres_url, "date_orders")
    for kind, text in (("customers", CUSTOMERS), ("products", PRODUCTS)):
        _imported(engine, _write(tmp_path, f"{kind}.csv", text), kind)
    first = Session(engine)
    settle(first, "orders", "timestamp", True, ImportSource("april.csv"))  # the first import, not yet committed
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(_imported, engine, _write(tmp_path, "us.csv", MONTH_FIRST))
        time.sleep(1)  # it reads nothing settled, writes its lines, and waits for the first's settled row
        first.commit()
        with pytest.raises(InvalidInput) as refused:
            second.result(timeout=60)
    first.close()
    assert "its dates were read month-first, but an import beside this one settled orders files as day-first " \
        "meanwhile (the orders file april.csv of " in str(refused.value)  # fmt: skip
    assert _order_days(engine, ["o5", "o6"]) == []
    engine.dispose()


def test_forgetting_a_kind_that_is_none_names_the_argument_and_the_kinds(shop, monkeypatch):
    monkeypatch.setattr(cli, "command_engine", lambda: shop)
    refused = CliRunner().invoke(cli.app, ["date-orders", "forget", "order"])
    words = " ".join(refused.output.replace("│", " ").split())  # the usage error is boxed and wrapped
    assert refused.exit_code == 2
    assert "Invalid value for KIND: 'order' is not one of: customers, products, orders, sends" in words


def test_an_order_that_is_none_is_refused_naming_the_option_and_the_orders_before_anything_is_opened(
    tmp_path, monkeypatch
):
    """`--dates monthfirst` was told "Invalid value for '--dates': Value error, 'monthfirst' is not one of
    'day-first', 'month-first'.": the option parser's words, where the CLI's other choices name theirs plainly."""
    monkeypatch.setattr(cli, "command_engine", lambda: pytest.fail("the database was opened"))
    may = _write(tmp_path, "may.csv", EARLY_MAY)
    refused = CliRunner().invoke(cli.app, ["import", "orders", str(may), "--dates", "monthfirst"])
    words = " ".join(refused.output.replace("│", " ").split())
    assert refused.exit_code == 2
    assert "Invalid value for --dates: 'monthfirst' is not one of: day-first, month-first" in words, words
