"""What the audience refresh and the recommenders read of a shop's orders: purchases less the returns that cancel
them, and, as of a past day (a backtest), nothing from after it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from audience.batch import audience_from_file
from audience.errors import InvalidOrders
from evals.datasets import available, data_path
from recommenders.reorder import buyer_counts
from service.db.models import AudienceSnapshot, Customer
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_file, import_frame
from service.pipeline import frames
from service.pipeline.training import refresh_audience
from tests.service.test_importing import CUSTOMERS, PRODUCTS

ONLINE_RETAIL = "online-retail/online_retail_2010_2011.parquet"

ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o1", "o2", "o3", "C3", "o4", "C9"],
        "customer_id": ["c1", "c1", "c2", "c2", "c2", "c1", "c1"],
        "product_id": ["T1", "K1", "T1", "K1", "K1", "K1", "T1"],
        "quantity": ["2", "1", "1", "10", "-10", "1", "-5"],
        "amount": ["15", "49", "7.5", "490", "-490", "49", "-100"],
        "timestamp": ["2026-01-03 10:00", "2026-01-03 10:00", "2026-02-01 09:30", "2026-03-01 09:15",
                      "2026-03-01 09:27", "2026-03-01 12:00", "2026-03-05 12:00"],
        "kind": ["purchase", "purchase", "purchase", "purchase", "return", "purchase", "return"],
    }
)  # fmt: skip


def _load(engine) -> None:
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS.assign(marketing_consent="true"))
        import_frame(session, "products", PRODUCTS)
        import_frame(session, "orders", ORDERS)


def _profiles(engine) -> dict[str, dict]:
    with session_scope(engine) as session:
        return dict(session.execute(select(Customer.external_id, Customer.profile)).all())


def test_a_cancelled_order_is_no_order(engine):
    """c2's order o3 was cancelled 12 minutes later: their last order is o2, and their spend is o2's."""
    _load(engine)
    with session_scope(engine) as session:
        orders = frames.orders_frame(session)
    assert orders.groupby("customer_id")["order_id"].agg(list).to_dict() == {
        "c1": ["o1", "o1", "o4"], "c2": ["o2"]
    }  # fmt: skip
    assert orders.loc[orders["customer_id"] == "c2", "amount"].tolist() == [7.5]
    refresh_audience(engine)
    profiles = _profiles(engine)
    assert (profiles["c2"]["recency_days"], profiles["c2"]["frequency"]) == (29, 1)


def test_an_audience_as_of_a_past_day_reads_nothing_after_it(engine, monkeypatch):
    """c1's return of March (which cancels no purchase) once shrank their January spend in a refresh as of
    February, and c2's March order counted towards it."""
    _load(engine)
    with session_scope(engine) as session:
        orders = frames.orders_frame(session, before=pd.Timestamp("2026-02-01").date())
    assert orders[["order_id", "amount"]].values.tolist() == [["o1", 15.0], ["o1", 49.0]]
    monkeypatch.setenv("TAILOR_AUDIENCE_AS_OF", "2026-02-01")
    refresh_audience(engine)
    profiles = _profiles(engine)
    assert profiles["c1"]["monetary"] == 64.0 and profiles["c1"]["recency_days"] == 29
    assert not profiles["c2"].get("rfm_segment")


def test_a_customer_erased_while_the_audience_is_profiled_leaves_the_others_refreshed(engine):
    """DELETE /customers/{id} while a refresh computed profiles (a training's first step) failed the whole refresh,
    and the training with it, with "StaleDataError: UPDATE statement on table 'customers' expected to update 2
    row(s); 1 were matched": the erased customer's row was gone when the profiles were written."""
    from service.customers import erase_customer

    _load(engine)

    def erase_c1_before_the_writes(_done: int, _total: int, message: str = "") -> None:
        if message == "saving profiles":
            with session_scope(engine) as session:
                erase_customer(session, "c1")

    refresh_audience(engine, erase_c1_before_the_writes)
    profiles = _profiles(engine)
    assert list(profiles) == ["c2"] and profiles["c2"]["frequency"] == 1


def test_a_refresh_that_read_the_orders_before_an_erasure_stores_no_snapshot_of_them(engine):
    """A refresh reads the orders, then writes: a customer erased in between was counted in the audience snapshot it
    stored after the erasure, which had deleted those that counted them, and it kept their figures for
    TAILOR_JOBS_KEEP_DAYS."""
    from service.customers import erase_customer

    _load(engine)
    refresh_audience(engine)

    def erase_c1_before_the_writes(_done: int, _total: int, message: str = "") -> None:
        if message == "saving profiles":
            with session_scope(engine) as session:
                erase_customer(session, "c1")

    refresh_audience(engine, erase_c1_before_the_writes)
    assert _revenue_stored(engine) == []
    refresh_audience(engine)
    assert _revenue_stored(engine) == [7.5]  # c2's: o2, and o3 less its return


def test_a_refresh_that_read_the_orders_before_an_erasure_returns_no_segment_counts_of_them(engine):
    """A refresh that counted a customer erased while it ran stored no snapshot, but its result, kept as its job's
    for TAILOR_JOBS_KEEP_DAYS, still held the customers per segment and the fallbacks' reasons that counted c1: set
    beside those of the refresh the erasure queued, they told c1's segment."""
    from service.customers import erase_customer
    from service.segments import SEGMENTS_WITHHELD

    _load(engine)

    def erase_c1_before_the_writes(_done: int, _total: int, message: str = "") -> None:
        if message == "saving profiles":
            with session_scope(engine) as session:
                erase_customer(session, "c1")

    counted = refresh_audience(engine, erase_c1_before_the_writes)
    assert counted["segments"] is None and counted["segments_withheld"] == SEGMENTS_WITHHELD
    assert counted["fallbacks"] and all("(" not in fallback for fallback in counted["fallbacks"])
    after = refresh_audience(engine)
    assert sum(after["segments"].values()) == 1 and "segments_withheld" not in after


def _revenue_stored(engine) -> list[float]:
    """The revenue that each stored audience snapshot's segments add up to, oldest first."""
    with session_scope(engine) as session:
        snapshots = session.scalars(select(AudienceSnapshot).order_by(AudienceSnapshot.id))
        return [sum(row["revenue"] for row in snapshot.segments) for snapshot in snapshots]


def test_an_audience_as_of_a_day_before_every_order_is_refused(engine, monkeypatch):
    """TAILOR_AUDIENCE_AS_OF before the shop's first order stored every customer as one with no orders (and a
    win-back campaign then reached nobody), where `tailor audience --as-of` refuses such a day: refused alike, the
    profiles left as they were."""

    from service.errors import NotReady

    _load(engine)
    refresh_audience(engine)
    before = _profiles(engine)
    assert before["c1"]["frequency"] == 2
    monkeypatch.setenv("TAILOR_AUDIENCE_AS_OF", "2025-12-31")
    with pytest.raises(NotReady, match=r"no orders before 2025-12-31 \(TAILOR_AUDIENCE_AS_OF\).*start on 2026-01-03"):
        refresh_audience(engine)
    assert _profiles(engine) == before


def test_a_customer_whose_returns_cancel_all_they_bought_is_told_so_in_their_reasons(engine):
    """Online Retail's 12346 ordered 74,215 jars for £77,183.60 and cancelled them the same day: GET /customers showed
    them in no_orders with no reason at all, the same as a sign-up who never bought, though the shop's file holds
    their order (`tailor audience --orders` says so in a warning). Their profile now says why."""
    only_cancelled = ORDERS[ORDERS.order_id.isin(["o1", "o3", "C3"])]  # c2's one order, cancelled 12 minutes later
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS.assign(marketing_consent="true"))
        import_frame(session, "products", PRODUCTS)
        import_frame(session, "orders", only_cancelled)
    refresh_audience(engine)
    profiles = _profiles(engine)
    assert profiles["c2"]["reasons"] == {
        "segment": "no orders: their returns and cancellations undo every purchase they made before 2026-03-02"
    }
    assert "no orders" not in profiles["c1"]["reasons"]["segment"]
    with session_scope(engine) as session:  # a customer who never bought has no reason to give
        import_frame(session, "customers", CUSTOMERS.assign(customer_id=["c3", "c4"], email=["a@x.test", "b@x.test"]))
    refresh_audience(engine)
    assert _profiles(engine)["c3"]["reasons"] == {}


def test_a_purchase_returned_whole_is_not_bought_for_the_business_rules(engine):
    """c2's ten K1 were sent back 12 minutes after they were bought, yet the business rules read them as bought:
    K1 left out of c2's cross-sell as "already bought", and c2 among K1's buyers a re-order reminder is for. c1's
    return of five T1 came 61 days after their purchase, past the return window: T1 stays bought."""
    _load(engine)
    with session_scope(engine) as session:
        assert frames.purchases_of(session, ["c1", "c2"]) == {"c1": {"T1", "K1"}, "c2": {"T1"}}
        assert frames.buyers_of(session, ["K1"]) == {"c1"}
        assert frames.buyers_of(session, ["T1"]) == {"c1", "c2"}


def test_a_product_s_buyers_are_counted_net_of_whole_returns(any_engine):
    """A product's buyers, which tell whether it is re-ordered, counted every purchase line: c2's ten K1 sent back
    12 minutes later made c2 one of K1's buyers, and c2's second T1, sent back the next day, a repeat buyer of T1, so
    a product bought by many and returned by most looked re-orderable. c3, who returned nothing, bought K1 twice."""
    _load(any_engine)
    with session_scope(any_engine) as session:
        import_frame(session, "customers", CUSTOMERS.assign(customer_id=["c3", "c4"], email=["a@x.test", "b@x.test"]))
        more = {
            "order_id": ["o5", "C5", "o6", "o7"], "customer_id": ["c2", "c2", "c3", "c3"],
            "product_id": ["T1", "T1", "K1", "K1"], "quantity": ["1", "-1", "1", "1"],
            "amount": ["7.5", "-7.5", "49", "49"],
            "timestamp": ["2026-03-10 10:00", "2026-03-11 10:00", "2026-01-10 10:00", "2026-02-10 10:00"],
            "kind": ["purchase", "return", "purchase", "purchase"],
        }  # fmt: skip
        import_frame(session, "orders", pd.DataFrame(more))
        counted = frames.product_buyer_counts(session).set_index("product_id").sort_index()
        orders = frames.orders_frame(session)
    assert counted.to_dict("index") == {
        "K1": {"buyers": 2, "repeat_buyers": 2}, "T1": {"buyers": 2, "repeat_buyers": 0}
    }  # fmt: skip
    assert counted.equals(buyer_counts(orders).set_index("product_id").sort_index())  # the audience's own netting


def _import_orders(engine, orders: dict[str, list[str]]) -> None:
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS.assign(marketing_consent="true"))
        import_frame(session, "products", PRODUCTS)
        import_frame(session, "orders", pd.DataFrame(orders))


def test_a_credit_note_undoes_the_order_it_fits_not_the_latest(engine):
    """Online Retail's 13208 was billed 18 units at £1.00, billed again at £0.36 the next morning and credited the
    first bill: matched to the latest order, the credit cancelled the second bill, the first stood, and their last
    order went back a day."""
    _import_orders(engine, {
        "order_id": ["o1", "o2", "C1", "o3"], "customer_id": ["c2", "c2", "c2", "c1"],
        "product_id": ["K1", "K1", "K1", "T1"], "quantity": ["18", "18", "-18", "1"],
        "amount": ["18", "6.48", "-18", "7.5"],
        "timestamp": ["2026-03-10 16:25", "2026-03-11 09:54", "2026-03-11 09:54", "2026-03-12 10:00"],
        "kind": ["purchase", "purchase", "return", "purchase"],
    })  # fmt: skip
    with session_scope(engine) as session:
        orders = frames.orders_frame(session)
    assert orders.loc[orders["customer_id"] == "c2", ["order_id", "amount"]].values.tolist() == [["o2", 6.48]]
    refresh_audience(engine)
    assert _profiles(engine)["c2"]["recency_days"] == _profiles(engine)["c1"]["recency_days"] + 1


def test_a_purchase_returned_in_part_weighs_what_was_kept_for_the_recommenders(engine):
    """c1 bought 12 T1 and sent 10 back: weighed by quantity, the line still counted 12. c2's K1, sent back whole,
    is no interaction."""
    from recommenders.interactions import Preparation, prepare

    _import_orders(engine, {
        "order_id": ["o1", "C1", "o2", "o3", "C3"], "customer_id": ["c1", "c1", "c1", "c2", "c2"],
        "product_id": ["T1", "T1", "K1", "K1", "K1"], "quantity": ["12", "-10", "3", "2", "-2"],
        "amount": ["90", "-75", "147", "98", "-98"],
        "timestamp": ["2026-03-01 10:00", "2026-03-04 10:00", "2026-03-01 10:00", "2026-03-02 10:00",
                      "2026-03-03 10:00"],
        "kind": ["purchase", "return", "purchase", "purchase", "return"],
    })  # fmt: skip
    with session_scope(engine) as session:
        interactions = frames.interactions_frame(session)
    for quantity, weights in (("linear", [3.0, 2.0]), ("log", [np.log1p(3.0), np.log1p(2.0)])):
        matrix, vocabulary, _ = prepare(interactions, Preparation(quantity=quantity))
        assert list(vocabulary.customers) == ["c1"] and list(vocabulary.products) == ["K1", "T1"]
        assert matrix.toarray()[0].tolist() == pytest.approx(weights)


def test_purchase_lines_read_by_keys_are_those_read_joined(any_engine, demo_files):
    """The audience reads the purchase lines with their customers' and products' keys and timestamps as stored,
    putting the ids, categories and times on them at once: the same frame, value for value and dtype for dtype, as
    the ids, categories and times read with every line through the joins (a past day's lines, and none, too; the
    lines of a customer whose row is gone left out, on SQLite); on PostgreSQL too, whose driver gives times as
    objects, not text."""
    from datetime import datetime, time

    from sqlalchemy import update

    from service.db.models import Interaction, Product

    engine = any_engine
    with session_scope(engine) as session:
        empty = frames._purchase_lines_read(session, None)
        for kind in ("customers", "products", "orders"):
            import_frame(session, kind, pd.read_csv(demo_files[kind], dtype=str, keep_default_na=False))
        session.execute(update(Interaction).where(Interaction.id % 3 == 0).values(discount=None))
        session.execute(update(Product).where(Product.id % 4 == 0).values(category=""))
        last = session.scalar(select(Interaction.timestamp).order_by(Interaction.id.desc()).limit(1))
        session.execute(  # a time with its microseconds, and one on the second
            update(Interaction).where(Interaction.id == 1).values(timestamp=datetime(2026, 1, 2, 3, 4, 5, 67))
        )
    if engine.dialect.name == "sqlite":  # a customer's row gone and their lines left, as only a broken database has
        with engine.begin() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("DELETE FROM customers WHERE id = (SELECT min(customer_id) FROM interactions)")
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    joined = {
        "customer_id": Customer.external_id, "order_id": Interaction.order_id, "product_id": Product.sku,
        "category": Product.category, "timestamp": Interaction.timestamp, "amount": Interaction.amount,
        "discount": Interaction.discount, "quantity": Interaction.quantity,
    }  # fmt: skip
    dtypes = {
        "customer_id": "str", "order_id": "str", "product_id": "str", "category": "str",
        "timestamp": "datetime64[us]", "amount": "float64", "discount": "float64", "quantity": "float64",
    }  # fmt: skip
    for before in (None, last.date(), date(2000, 1, 1)):
        with session_scope(engine) as session:
            statement = (
                select(*joined.values())
                .join(Customer, Interaction.customer_id == Customer.id)
                .join(Product, Interaction.product_id == Product.id)
                .where(Interaction.kind == "purchase")
                .order_by(Interaction.id)
            )
            if before is not None:
                statement = statement.where(Interaction.timestamp < datetime.combine(before, time()))
            reference = frames._frame_in_parts(session, statement, dtypes)
            lines = frames._purchase_lines_read(session, before)
        assert len(reference) > 1000 or before == date(2000, 1, 1)
        pd.testing.assert_frame_equal(lines, reference, check_exact=True)
    assert empty.dtypes.to_dict() == reference.dtypes.to_dict() and empty.empty


@pytest.fixture(scope="module")
def online_retail_orders() -> pd.DataFrame:
    """The order lines of Online Retail's first 50 customers, as an orders file holds them, read once for the cases
    of the test below (each changes a copy of its own)."""
    raw = pd.read_parquet(data_path(ONLINE_RETAIL))
    raw = raw[raw.CustomerID.notna() & (raw.Quantity > 0) & (raw.UnitPrice > 0) & ~raw.InvoiceNo.str.startswith("C")]
    customers = raw.CustomerID.astype(int).astype(str)
    raw = raw[customers.isin(customers.drop_duplicates().head(50))]
    return pd.DataFrame(
        {
            "order_id": raw.InvoiceNo, "customer_id": raw.CustomerID.astype(int).astype(str),
            "product_id": raw.StockCode, "quantity": raw.Quantity, "amount": (raw.Quantity * raw.UnitPrice).round(2),
            "timestamp": pd.to_datetime(raw.InvoiceDate).dt.strftime("%Y-%m-%d %H:%M"),
        }
    ).drop_duplicates(["order_id", "product_id"]).reset_index(drop=True)  # fmt: skip


@pytest.mark.skipif(not available(ONLINE_RETAIL), reason="Online Retail (../shared/data) is absent")
@pytest.mark.parametrize("column", ["order_id", "product_id"])
def test_an_online_retail_line_without_its_invoice_or_stock_code_is_refused_by_the_import_and_the_audience_alike(
    engine, tmp_path, column, online_retail_orders
):
    """Real lines of 50 customers of the UCI shop with one line's InvoiceNo, or every postage line's StockCode,
    blanked: `tailor import orders` refused the file by its first such line, while `tailor audience --orders` took
    it. A line of no invoice was left out of its customer's frequency and monetary value (9 orders at 357.74 where
    the file holds 10 at 323.75), though BG/NBD's purchase days kept its spend; lines of no product were left out
    of their customers' distinct products and the products' come-back rates. The file as it was, both take."""
    orders = online_retail_orders.copy()
    alone = orders.groupby("order_id")["product_id"].transform("size") == 1  # an invoice of one line
    blanks = np.flatnonzero(alone)[:1] if column == "order_id" else np.flatnonzero(orders.product_id == "POST")
    assert len(blanks) == 1 or len(blanks) > 10  # an invoice; the postage lines, of many invoices
    whole, path = tmp_path / "whole.csv", tmp_path / "orders.csv"
    orders.to_csv(whole, index=False)
    skus = pd.DataFrame({"sku": orders.product_id.unique()})
    orders.loc[blanks, column] = ""
    orders.to_csv(path, index=False)
    with session_scope(engine) as session:
        import_frame(session, "customers", pd.DataFrame({"customer_id": orders.customer_id.unique()}).assign(
            email=lambda c: c.customer_id + "@example.com", first_name="A", locale="en", marketing_consent="true"
        ))  # fmt: skip
        import_frame(session, "products", skus.assign(
            name="x", category="", price="1", currency="GBP", description="", url="", in_stock="true"
        ))  # fmt: skip
    line = int(blanks[0]) + 2  # the header is line 1
    with (
        pytest.raises(InvalidInput, match=f"row {line}, column '{column}': is empty"),
        session_scope(engine) as session,
    ):
        import_file(session, "orders", path)
    count = f" \\({len(blanks)} lines have none\\)" if len(blanks) > 1 else ""
    with pytest.raises(InvalidOrders, match=f"^orders.csv, line {line}, column '{column}': {column} is empty{count};"):
        audience_from_file(path, as_of=date(2011, 12, 10))
    with session_scope(engine) as session:
        assert import_file(session, "orders", whole).rows == len(orders)
    assert len(audience_from_file(whole, as_of=date(2011, 12, 10))) == 50
