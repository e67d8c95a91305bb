"""Import of customers, products and orders: validation that names row and column, all-or-nothing, upsert."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import func, select

from service.db.models import Customer, Interaction, Product
from service.db.session import session_scope
from service.errors import InvalidInput
from service.importing import import_file, import_frame, read_table

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2"],
        "email": ["anna@example.com", "jan@example.com"],
        "first_name": ["Anna", "Jan"],
        "locale": ["de", "pl"],
        "marketing_consent": ["true", "no"],
        "tier": ["gold", "silver"],
    }
)
PRODUCTS = pd.DataFrame(
    {
        "sku": ["T1", "K1"],
        "name": ["Sencha tea", "Chef knife"],
        "category": ["tea", "kitchen"],
        "price": ["7.5", "49"],
        "currency": ["eur", "EUR"],
        "description": ["Green tea", "Steel knife"],
        "url": ["https://shop.example/p/T1", "https://shop.example/p/K1"],
        "in_stock": ["1", "0"],
    }
)
ORDERS = pd.DataFrame(
    {
        "order_id": ["o1", "o1", "o2"],
        "customer_id": ["c1", "c1", "c2"],
        "product_id": ["T1", "K1", "T1"],
        "quantity": ["2", "1", "1"],
        "amount": ["15", "49", "7.5"],
        "timestamp": ["2026-01-03 10:00", "2026-01-03 10:00", "2026-02-01T09:30:00"],
    }
)


def _count(engine, model) -> int:
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def _load_all(engine) -> None:
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
        import_frame(session, "orders", ORDERS)


def test_import_parses_values_and_keeps_extra_attributes(engine):
    _load_all(engine)
    with session_scope(engine) as session:
        anna = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        knife = session.scalar(select(Product).where(Product.sku == "K1"))
        assert anna.marketing_consent is True and anna.locale == "de" and anna.attributes == {"tier": "gold"}
        assert knife.price == 49.0 and knife.in_stock is False and knife.currency == "EUR"
        lines = session.scalars(select(Interaction).order_by(Interaction.id)).all()
        assert [(line.order_id, line.kind, line.quantity) for line in lines] == [
            ("o1", "purchase", 2.0), ("o1", "purchase", 1.0), ("o2", "purchase", 1.0),
        ]  # fmt: skip


def test_reimport_updates_instead_of_duplicating(engine):
    _load_all(engine)
    changed = CUSTOMERS.assign(first_name=["Annа-Maria", "Jan"])
    with session_scope(engine) as session:
        summary = import_frame(session, "customers", changed)
        import_frame(session, "orders", ORDERS)
    assert (summary.inserted, summary.updated, summary.unchanged) == (0, 1, 1)  # Jan's row says what is stored
    assert _count(engine, Customer) == 2 and _count(engine, Interaction) == 3


def test_a_products_file_imported_again_writes_nothing_and_the_catalog_keeps_its_time_of_change(engine):
    """The served catalog cache watches `updated_at`: a price list sent again unchanged made it reload for nothing."""
    _load_all(engine)
    with session_scope(engine) as session:
        before = dict(session.execute(select(Product.sku, Product.updated_at)).all())
        again = import_frame(session, "products", PRODUCTS)
        repriced = import_frame(session, "products", PRODUCTS.assign(price=["7.5", "52"]))
    assert (again.rows, again.inserted, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert (repriced.updated, repriced.unchanged) == (1, 1)
    with session_scope(engine) as session:
        after = dict(session.execute(select(Product.sku, Product.updated_at)).all())
        assert session.scalar(select(Product.price).where(Product.sku == "K1")) == 52.0
    assert after["T1"] == before["T1"] and after["K1"] > before["K1"]


def test_order_lines_timed_to_the_nanosecond_are_unchanged_when_imported_again(engine):
    """The database keeps microseconds: a line timed to the nanosecond never compared equal with what was stored
    of it, and the same file said "2 updated" (and wrote them) at every import."""
    _load_all(engine)
    precise = ORDERS.assign(timestamp=["2026-01-03 10:00:00.123456789"] * 2 + ["2026-02-01T09:30:00"])
    with session_scope(engine) as session:
        first = import_frame(session, "orders", precise)
        again = import_frame(session, "orders", precise)
    assert (first.updated, first.unchanged) == (2, 1)
    assert (again.updated, again.unchanged) == (0, 3)


def test_a_later_customers_file_adds_to_the_attributes_an_earlier_one_gave(tmp_path, engine):
    """A re-import without the `tier` column wiped every customer's tier; pandas' own index column was stored."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
    CUSTOMERS.drop(columns=["tier"]).assign(country=["Finland", ""]).to_csv(tmp_path / "c.csv")  # with its index
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "c.csv")
    with session_scope(engine) as session:
        stored = dict(session.execute(select(Customer.external_id, Customer.attributes)).all())
    assert stored == {"c1": {"tier": "gold", "country": "Finland"}, "c2": {"tier": "silver"}}


def test_an_attribute_whose_type_a_later_file_changes_is_written(tmp_path, engine):
    """True == 1 == 1.0 in Python, not in JSON: a Parquet file giving `vip` as 0/1 where an earlier one gave
    true/false was counted unchanged, and the stored attributes kept the earlier file's booleans."""
    CUSTOMERS.assign(vip=[True, False]).to_parquet(tmp_path / "first.parquet")
    CUSTOMERS.assign(vip=[1, 0]).to_parquet(tmp_path / "second.parquet")
    with session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "first.parquet")
        again = import_file(session, "customers", tmp_path / "second.parquet")
        same = import_file(session, "customers", tmp_path / "second.parquet")
    assert (again.updated, again.unchanged) == (2, 0) and (same.updated, same.unchanged) == (0, 2)
    with session_scope(engine) as session:
        stored = dict(session.execute(select(Customer.external_id, Customer.attributes)).all())
    assert json.dumps(stored, sort_keys=True) == json.dumps(
        {"c1": {"tier": "gold", "vip": 1}, "c2": {"tier": "silver", "vip": 0}}, sort_keys=True
    )


def test_a_parquet_attribute_of_a_type_json_cannot_hold_is_kept_as_its_text(tmp_path, engine):
    """A sign-up timestamp or a decimal among a Parquet file's extra columns stopped the whole import with a
    traceback ("Object of type Timestamp is not JSON serializable")."""
    CUSTOMERS.assign(
        signed_up=pd.to_datetime(["2011-01-01 00:00", "2011-02-01 10:00"]), credit=[Decimal("1.50"), None]
    ).to_parquet(tmp_path / "customers.parquet")
    with session_scope(engine) as session:
        summary = import_file(session, "customers", tmp_path / "customers.parquet")
    with session_scope(engine) as session:
        stored = dict(session.execute(select(Customer.external_id, Customer.attributes)).all())
    assert summary.inserted == 2
    assert stored == {
        "c1": {"tier": "gold", "signed_up": "2011-01-01 00:00:00", "credit": "1.50"},
        "c2": {"tier": "silver", "signed_up": "2011-02-01 10:00:00"},
    }


def test_a_value_longer_than_its_database_column_is_refused_naming_its_row(engine):
    """SQLite stores any length, so only PostgreSQL refused such a file, with a database error naming no line."""
    long_name, long_sku = "Tea " * 100, "T" * 129
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "products", PRODUCTS.assign(name=["Sencha", long_name], sku=[long_sku, "K1"]))
    assert [str(problem) for problem in raised.value.problems] == [
        "row 2, column 'sku': is 129 characters long; at most 128 are kept",
        "row 3, column 'name': is 399 characters long; at most 300 are kept",
    ]


def test_an_email_that_names_more_than_one_address_is_refused(engine):
    """ "postmaster,root,attacker@evil.test" passed as one address, and the mail server got three recipients."""
    several = CUSTOMERS.assign(email=["postmaster,root,attacker@evil.test", "иван@пример.рф"])
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "customers", several)
    assert [str(problem) for problem in raised.value.problems] == ["row 2, column 'email': is not an email address"]


def test_a_column_nothing_is_read_from_is_named_in_a_warning(engine, tmp_path):
    """A product's "artist" and a misspelt "recomendable" were dropped in silence: the shop believed its fees were
    marked not recommendable. A customer's extra column is kept as an attribute, and needs no warning."""
    shop = PRODUCTS.assign(artist=["Miles", "Nina"], recomendable=["false", "false"])
    expected = (
        "nothing was read from the columns 'artist', 'recomendable': a products file's columns are sku, name, "
        "category, price, currency, description, url, in_stock, recommendable, margin, arrived_at (names as written "
        "here, in any order; only a customers file keeps other columns, as attributes)."
    )
    shop.to_csv(tmp_path / "products.csv", index=False)
    with session_scope(engine) as session:
        assert import_frame(session, "products", shop).warnings == (expected,)
        assert import_file(session, "products", tmp_path / "products.csv").warnings == (expected,)
        assert import_frame(session, "customers", CUSTOMERS).warnings == ()  # its "tier" is an attribute


def test_an_orders_file_s_unread_column_is_named_in_words_that_read(engine):
    """Online Retail's order lines carry a description and a country, which an orders import does not read."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
        (warning,) = import_frame(session, "orders", ORDERS.assign(country="UK")).warnings
    assert warning.startswith("nothing was read from the column 'country': an orders file's columns are order_id, ")


def test_the_index_pandas_wrote_to_a_parquet_file_is_not_an_unread_column(engine, tmp_path):
    """A frame saved after a filter or a sort keeps its index in the file as '__index_level_0__', which the reader
    makes the rows' index: no one wrote it, and the warning named it as a column nothing was read from."""
    pd.concat([PRODUCTS, PRODUCTS.assign(sku=["T2", "K2"])]).iloc[[0, 3]].to_parquet(tmp_path / "products.parquet")
    with session_scope(engine) as session:
        assert import_file(session, "products", tmp_path / "products.parquet").warnings == ()


def test_a_column_pandas_saved_as_the_index_of_a_parquet_file_is_read(engine, tmp_path):
    """A frame saved after set_index("sku") holds its skus as a column of the file, which the reader made the rows'
    index: the import refused it, "column 'sku': required column is missing"."""
    PRODUCTS.set_index("sku").to_parquet(tmp_path / "products.parquet")
    with session_scope(engine) as session:
        summary = import_file(session, "products", tmp_path / "products.parquet")
        assert (summary.inserted, summary.warnings) == (2, ())
        assert sorted(session.scalars(select(Product.sku))) == ["K1", "T1"]
    assert list(read_table(tmp_path / "products.parquet").columns[:2]) == ["sku", "name"]


def test_a_product_url_must_be_a_web_address(engine):
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "products", PRODUCTS.assign(url=["javascript:alert(1)", "HTTPS://shop.example/p/K1"]))
    assert [str(problem) for problem in raised.value.problems] == [
        "row 2, column 'url': must be a web address starting with https:// (or http://), or empty"
    ]


def test_products_without_a_url_are_imported_with_a_warning(engine, tmp_path):
    """Allowed (the column may be empty), but their emails have nothing to click: the shop heard nothing of it."""
    from service.importing import import_file

    shop = PRODUCTS.assign(url=["", "https://shop.example/p/K1"])
    with session_scope(engine) as session:
        (warning,) = import_frame(session, "products", shop).warnings
        assert warning.startswith("1 product has no url (T1): their emails link to the brand kit's shop_url")
        shop.to_csv(tmp_path / "products.csv", index=False)
        assert import_file(session, "products", tmp_path / "products.csv").warnings == (warning,)
        assert import_frame(session, "products", PRODUCTS).warnings == ()


def test_products_priced_zero_are_imported_with_a_warning(engine, tmp_path):
    """Online Retail's last price of 610 stock codes is 0 (stock adjustments, free gifts): a catalog built from it
    showed those products in emails at £0.00, as if free, and the shop heard nothing of it. A product that is never
    offered (not recommendable, out of stock) is not named."""
    shop = PRODUCTS.assign(price=["0", "49"])
    with session_scope(engine) as session:
        (warning,) = import_frame(session, "products", shop).warnings
        assert warning.startswith("1 product has a price of 0 (T1): emails show it at that price, as if free")
        shop.to_csv(tmp_path / "products.csv", index=False)
        assert import_file(session, "products", tmp_path / "products.csv").warnings == (warning,)
        assert import_frame(session, "products", shop.assign(in_stock=["false", "true"])).warnings == ()
        assert import_frame(session, "products", shop.assign(recommendable=["false", "true"])).warnings == ()


def test_a_product_may_be_marked_no_merchandise_and_is_then_never_offered(engine, tmp_path, client):
    """Postage, carriage or a fee is a product line of the orders, bought again with every order, and was offered
    as a re-order ("time to restock POSTAGE"): a `recommendable` column marks it, for the catalog the models serve
    and the API; left out, or a cell left empty, every product is recommendable."""
    from service.pipeline.frames import products_frame

    postage = PRODUCTS.assign(sku=["POST", "K1"], recommendable=["false", ""])
    with session_scope(engine) as session:
        import_frame(session, "products", postage)
        served = products_frame(session).set_index("product_id")["recommendable"].to_dict()
        assert served == {"POST": False, "K1": True}
        import_frame(session, "products", PRODUCTS)  # a file without the column: recommendable
        assert session.scalar(select(Product.recommendable).where(Product.sku == "T1")) is True
        # a later price list without the column leaves postage as it was marked; one that gives it changes it
        import_frame(session, "products", PRODUCTS.assign(sku=["POST", "K1"], price=["9", "49"]))
        assert session.scalar(select(Product.recommendable).where(Product.sku == "POST")) is False
        import_frame(session, "products", postage.assign(recommendable=["true", ""]))
        assert session.scalar(select(Product.recommendable).where(Product.sku == "POST")) is True
        import_frame(session, "products", postage)
    listed = {p["sku"]: p["recommendable"] for p in client.get("/products").json()}
    assert listed == {"POST": False, "K1": True, "T1": True}


def test_products_named_as_a_charge_are_named_in_a_warning_until_the_catalog_marks_them(engine):
    """Online Retail's catalog lists POSTAGE, CARRIAGE and Bank Charges as products, without a `recommendable`
    column: 13 of 17 re-order reminders offered POSTAGE first, and the import warned of nothing but missing urls."""
    fees = PRODUCTS.assign(sku=["POST", "K1"], name=["POSTAGE", "Chef knife"])
    with session_scope(engine) as session:
        warned = import_frame(session, "products", fees).warnings
        assert any(w.startswith("1 product is named as a charge, not merchandise (POST)") for w in warned), warned
        marked = import_frame(session, "products", fees.assign(recommendable=["false", ""])).warnings
        again = import_frame(session, "products", fees).warnings  # a price list: POST stays marked
        manual_grinder = import_frame(session, "products", fees.assign(name=["Manual coffee grinder", "Knife"]))
    assert not any("charge" in w for w in [*marked, *again, *manual_grinder.warnings])


def test_a_price_list_without_the_margin_or_arrival_columns_keeps_what_the_catalog_says_of_them(engine):
    """A products file without `margin` and `arrived_at` (a price update) wiped every margin the margin boost weighs
    and every arrival date the new-arrivals boost reads; a cell left empty in a file with the column clears it."""
    boosted = PRODUCTS.assign(margin=["2.5", "10"], arrived_at=["2026-11-01", ""])

    def stored(session) -> dict:
        rows = session.execute(select(Product.sku, Product.margin, Product.arrived_at).order_by(Product.sku))
        return {sku: (margin, arrived and arrived.date().isoformat()) for sku, margin, arrived in rows}

    with session_scope(engine) as session:
        import_frame(session, "products", boosted)
        assert stored(session) == {"K1": (10.0, None), "T1": (2.5, "2026-11-01")}
        import_frame(session, "products", PRODUCTS.assign(price=["8", "52"]))  # neither column
        assert stored(session) == {"K1": (10.0, None), "T1": (2.5, "2026-11-01")}
        import_frame(session, "products", PRODUCTS.assign(margin=["", "11"]))  # margins given, one cleared
        assert stored(session) == {"K1": (11.0, None), "T1": (None, "2026-11-01")}
        import_frame(session, "products", PRODUCTS.assign(sku=["N1", "K1"], arrived_at=["2026-12-01", ""]))
        assert stored(session) == {"K1": (11.0, None), "N1": (None, "2026-12-01"), "T1": (None, "2026-11-01")}


def test_a_locale_is_kept_with_its_region_in_one_spelling(engine):
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS.assign(locale=["DE", "en_gb"]))
        assert set(session.scalars(select(Customer.locale))) == {"de", "en-GB"}


def test_bad_file_names_row_and_column_and_writes_nothing(engine):
    bad = CUSTOMERS.copy()
    bad.loc[1, "email"] = "not-an-email"
    bad.loc[0, "marketing_consent"] = "maybe"
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "customers", bad)
    message = str(raised.value)
    assert "row 2, column 'marketing_consent'" in message  # first data row is line 2 of the file
    assert "row 3" in message and "email" in message
    assert _count(engine, Customer) == 0


def test_a_missing_column_names_what_the_file_has_and_the_column_it_may_be(engine):
    """A shop's own export (CustomerID, Email) was told only which columns were missing."""
    own = CUSTOMERS.rename(columns={"customer_id": "CustomerID", "first_name": "Name"})
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "customers", own)
    said = sorted(str(problem) for problem in raised.value.problems)
    assert said == [
        "column 'customer_id': required column is missing; the file's 'CustomerID' may be it: name it customer_id",
        "column 'first_name': required column is missing",
        "the file's columns are 'CustomerID', 'email', 'Name', 'locale', 'marketing_consent', 'tier'",
    ]


def test_an_order_export_under_its_own_names_is_told_which_columns_to_rename(engine):
    """Online Retail's own invoice lines (InvoiceNo, StockCode, InvoiceDate, UnitPrice) were told that order_id,
    product_id, timestamp and amount were missing, with nothing of which of the file's columns hold them, nor that
    amount is the line's total and not the unit price the file has."""
    invoice_lines = pd.DataFrame(
        {
            "InvoiceNo": ["536365"], "StockCode": ["85123A"], "Description": ["WHITE HANGING HEART T-LIGHT HOLDER"],
            "Quantity": ["6"], "InvoiceDate": ["2010-12-01 08:26:00"], "UnitPrice": ["2.55"],
            "CustomerID": ["17850.0"], "Country": ["United Kingdom"],
        }
    )  # fmt: skip
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", invoice_lines)
    said = {problem.column: problem.message for problem in raised.value.problems if problem.column}
    assert said["order_id"].endswith("the file's 'InvoiceNo' may be it: name it order_id")
    assert said["product_id"].endswith("the file's 'StockCode' may be it: name it product_id")
    assert said["timestamp"].endswith("the file's 'InvoiceDate' may be it: name it timestamp")
    assert said["amount"].endswith(
        "the file's 'UnitPrice' is a price per unit: amount is what the line cost in all, its quantity times that"
    )
    assert said["customer_id"].endswith("the file's 'CustomerID' may be it: name it customer_id")


def test_a_file_of_many_columns_shows_its_first_twelve_and_counts_the_rest(engine):
    """A wide export missing a column is shown by its first 12 columns and how many more it has: the count was
    never tried, so a list cut at 12 without a word of the rest (the column sought among them unseen) passed."""
    wide = pd.DataFrame({f"col{n}": ["x"] for n in range(1, 15)})  # 14 columns, none of them a customer's
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "customers", wide)
    shown = ", ".join(f"'col{n}'" for n in range(1, 13))
    hints = [str(problem) for problem in raised.value.problems if problem.column is None]
    assert hints == [f"the file's columns are {shown} and 2 more"]
    with pytest.raises(InvalidInput) as twelve, session_scope(engine) as session:
        import_frame(session, "customers", wide.iloc[:, :12])
    assert [str(p) for p in twelve.value.problems if p.column is None] == [f"the file's columns are {shown}"]


def test_missing_column_and_unknown_references_are_reported(engine):
    with (
        pytest.raises(InvalidInput, match="column 'price': required column is missing"),
        session_scope(engine) as s,
    ):
        import_frame(s, "products", PRODUCTS.drop(columns=["price"]))
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    orders = ORDERS.copy()
    orders.loc[2, "product_id"] = "NOPE"
    orders.loc[0, "timestamp"] = "yesterday-ish"
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", orders)
    assert "row 2, column 'timestamp'" in str(raised.value)
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", ORDERS.assign(timestamp=["2026-01-03", "40513.403472", "2026-02-01"]))
    assert str(raised.value).endswith(
        "row 3, column 'timestamp': '40513.403472' is not a date/time; it looks like a spreadsheet's day number: "
        "format the column as dates before saving the file"
    )
    with (
        pytest.raises(InvalidInput, match="row 4, column 'product_id': unknown product sku 'NOPE'; import products"),
        session_scope(engine) as s,
    ):
        import_frame(s, "orders", ORDERS.assign(product_id=["T1", "K1", "NOPE"]))
    with (
        pytest.raises(InvalidInput, match="row 2, column 'customer_id': unknown customer 'c9'; import customers"),
        session_scope(engine) as s,
    ):
        import_frame(s, "orders", ORDERS.assign(customer_id=["c9", "c1", "c2"]))
    assert _count(engine, Interaction) == 0


def test_an_order_dated_after_tomorrow_is_refused(engine):
    """One line typed 2031 for 2011 moved the audience's as-of day to 2031: every customer looked lapsed."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    later = (pd.Timestamp.now() + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", ORDERS.assign(timestamp=["2026-01-03 10:00", "2026-01-03 10:00", later]))
    assert str(raised.value).endswith(
        "row 4, column 'timestamp': has not come yet: only orders already placed are imported (is the year right?)"
    )
    assert _count(engine, Interaction) == 0


def test_purchases_need_a_positive_amount(engine):
    """A return imported as a negative purchase would make spend and CLV negative and stop the audience refresh."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    refund = ORDERS.iloc[[2]].assign(order_id="r2", amount="-7.5")
    viewed = ORDERS.iloc[[2]].assign(order_id="v2", amount="0", kind="view")  # a view has no amount
    returns = pd.concat([ORDERS, refund, viewed], ignore_index=True)
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", returns)
    assert str(raised.value).endswith(
        "row 5, column 'amount': a purchase needs a positive amount; give a return or cancellation the kind "
        "'return' (its quantity and amount may be negative or not; the audience models take it off the customer's "
        "spend), and leave free items out"
    )
    with session_scope(engine) as session:
        import_frame(session, "orders", returns.drop(index=3))
    assert _count(engine, Interaction) == 4
    with session_scope(engine) as session:  # as the message says: a return, signed or not
        import_frame(session, "orders", pd.concat([refund.assign(kind="return"), refund.assign(order_id="r3",
                     amount="7.5", quantity="1", kind="return")]))  # fmt: skip
    assert _count(engine, Interaction) == 6


def test_view_and_cart_lines_may_leave_their_amount_and_quantity_empty(engine):
    """A shop's export of views and cart adds has no amount paid (nor, often, a quantity): every such line was
    refused as "is empty". They are stored with no amount and a quantity of one; a purchase or return still needs
    both, and a file of views alone whose amount column is empty throughout is read."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    events = ORDERS.iloc[[2, 2]].assign(order_id=["v2", "k2"], amount="", quantity=["", "3"], kind=["view", "Cart"])
    with session_scope(engine) as session:
        import_frame(session, "orders", pd.concat([ORDERS, events], ignore_index=True))
    with session_scope(engine) as session:
        stored = session.execute(
            select(Interaction.order_id, Interaction.kind, Interaction.quantity, Interaction.amount)
            .where(Interaction.order_id.in_(["v2", "k2"]))
            .order_by(Interaction.order_id)
        ).all()
    assert [tuple(row) for row in stored] == [("k2", "cart", 3.0, 0.0), ("v2", "view", 1.0, 0.0)]

    unpaid = ORDERS.iloc[[2]].assign(order_id="o9", amount="")  # a purchase: refused as before
    untold = ORDERS.iloc[[2]].assign(order_id="r9", quantity="", kind="return")
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", pd.concat([unpaid, untold], ignore_index=True))
    assert "row 2, column 'amount': is empty" in str(raised.value)
    assert "row 3, column 'quantity': is empty" in str(raised.value)
    views = pd.concat([events.iloc[[0]].assign(order_id=f"w{n}") for n in range(3)], ignore_index=True)
    with session_scope(engine) as session:
        import_frame(session, "orders", views)
    assert _count(engine, Interaction) == 3 + 2 + 3


def test_an_empty_customer_or_product_id_is_one_problem(engine):
    """An empty customer_id was said twice: "is empty", and "unknown customer ''; import customers first"."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "orders", ORDERS.assign(customer_id=["", "c1", "c2"], product_id=["T1", "K1", " "]))
    assert [str(p) for p in raised.value.problems] == [
        "row 2, column 'customer_id': is empty",
        "row 4, column 'product_id': is empty",
    ]


def test_returns_are_kept_as_their_own_kind_and_left_out_by_the_models(engine):
    """A shop's export with its returns imports whole: the returns are stored, neither the recommenders' data
    nor the audience's orders count them as purchases, and for both they cancel the lines they undo (a customer
    who sent back their only order was a 5/5 spender with CLV 243.72)."""
    from service.pipeline import frames

    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
        refunds = pd.DataFrame(
            {"order_id": ["C2", "C1"], "customer_id": ["c2", "c1"], "product_id": ["T1", "K1"],
             "quantity": ["-1", "1"], "amount": ["-7.5", "16"], "timestamp": "2026-02-02", "kind": "return"}
        )  # fmt: skip
        import_frame(session, "orders", pd.concat([ORDERS, refunds], ignore_index=True))
    with session_scope(engine) as session:
        assert session.scalar(select(func.count()).where(Interaction.kind == "return")) == 2
        interactions, orders = frames.interactions_frame(session), frames.orders_frame(session)
    # c1 got 16 of the knife's 49 back (it cancels no more than it credited); c2 sent back their only order.
    assert list(zip(orders["customer_id"], orders["amount"].round(2), strict=True)) == [("c1", 15.0), ("c1", 33.0)]
    from recommenders.interactions import Preparation, line_weights, validate_interactions

    prepared = line_weights(validate_interactions(interactions), Preparation())  # c2's tea, returned whole, is gone
    assert prepared[["customer_id", "product_id", "kind"]].values.tolist() == [
        ["c1", "T1", "purchase"],
        ["c1", "K1", "purchase"],
    ]


def test_order_lines_may_carry_a_discount(engine):
    """The amount taken off a line, for the clusters' discount use: empty is none, a negative one is refused."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    with pytest.raises(InvalidInput, match="row 4, column 'discount': must be at least 0"), session_scope(engine) as s:
        import_frame(s, "orders", ORDERS.assign(discount=["1.5", "", "-2"]))
    assert _count(engine, Interaction) == 0
    with session_scope(engine) as session:
        import_frame(session, "orders", ORDERS.assign(discount=["1.5", "", "0"]))
        stored = dict(session.execute(select(Interaction.amount, Interaction.discount)).all())
    assert stored[15.0] == 1.5 and stored[49.0] is None and stored[7.5] == 0.0


def test_duplicate_keys_in_one_file_are_rejected(engine):
    with (
        pytest.raises(InvalidInput, match="row 3, column 'customer_id': the same key"),
        session_scope(engine) as s,
    ):
        import_frame(s, "customers", CUSTOMERS.assign(customer_id=["c1", "c1"]))
    with pytest.raises(InvalidInput, match="the same key is on row 2"), session_scope(engine) as s:
        import_frame(s, "customers", CUSTOMERS.assign(customer_id=["c1", "c1"]))


def test_purchases_need_a_positive_quantity(engine):
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    expected = "row 3, column 'quantity': a purchase needs a positive quantity"
    with pytest.raises(InvalidInput, match=expected), session_scope(engine) as session:
        import_frame(session, "orders", ORDERS.assign(quantity=["2", "-1", "1"]))
    assert _count(engine, Interaction) == 0


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["31/01/2026", "01/02/2026", "2026-02-03"], ["2026-01-31", "2026-02-01", "2026-02-03"]),  # day first
        (["01/31/2026", "02/01/2026", "2026-02-03"], ["2026-01-31", "2026-02-01", "2026-02-03"]),  # month first
        (["31.01.2026", "01.02.2026", "03.02.2026"], ["2026-01-31", "2026-02-01", "2026-02-03"]),
    ],
)
def test_numeric_dates_are_read_in_the_order_the_file_uses(engine, dates, expected):
    """format="mixed" read 31/01 as 31 January but 01/02 in the same file as 2 January."""
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
        import_frame(session, "orders", ORDERS.assign(timestamp=dates))
        stored = session.scalars(select(Interaction.timestamp).order_by(Interaction.id)).all()
    assert [moment.strftime("%Y-%m-%d") for moment in stored] == expected


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["31/01/2026", "02/13/2026", "01/02/2026"], "row 3, column 'timestamp': '02/13/2026' puts the day and month"),
        (["01/02/2026", "03/04/2026", "05/06/2026"], "row 2, column 'timestamp': '01/02/2026' could be day/month"),
    ],
)
def test_dates_in_both_orders_or_only_ambiguous_ones_are_refused(engine, dates, message):
    with session_scope(engine) as session:
        import_frame(session, "customers", CUSTOMERS)
        import_frame(session, "products", PRODUCTS)
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")), session_scope(engine) as session:
        import_frame(session, "orders", ORDERS.assign(timestamp=dates))
    assert _count(engine, Interaction) == 0


def test_an_upload_in_another_encoding_names_the_file_and_line(client):
    """Errors named the server's temporary file, and a Latin-1 file got "byte 0xeb in position 2"."""
    text = "customer_id,email,first_name,locale,marketing_consent\nc1,a@example.com,Anna,de,true\n"
    body = (text + "c2,z@example.com,Zoë,de,true\n").encode("latin-1")
    response = client.post("/imports/customers", files={"file": ("kunden.csv", body, "text/csv")})
    assert response.status_code == 422
    detail = str(response.json())
    assert "kunden.csv" in detail and "row 3" in detail and "not UTF-8 (byte 0xeb)" in detail and "/tmp" not in detail
    bom = "\ufeff".encode() + text.encode()
    assert client.post("/imports/customers", files={"file": ("bom.csv", bom, "text/csv")}).status_code == 200


def test_a_file_separated_by_semicolons_is_told_what_its_header_was_read_as(tmp_path, engine):
    """A spreadsheet saved with semicolons (as many European Excel versions do) got "required column is missing"
    for all five columns and nothing about why."""
    CUSTOMERS.to_csv(tmp_path / "customers.csv", index=False, sep=";")
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "customers", tmp_path / "customers.csv")
    message = str(raised.value)
    assert "column 'customer_id': required column is missing" in message
    assert "the header was read as one column, 'customer_id;email;" in message
    assert "the file looks separated by semicolons; save it as CSV with commas" in message


def test_read_table_reads_csv_and_parquet(tmp_path, engine):
    CUSTOMERS.to_csv(tmp_path / "c.csv", index=False)
    CUSTOMERS.to_parquet(tmp_path / "c.parquet")
    CUSTOMERS.to_parquet(tmp_path / "c.pq")  # the other Parquet suffix, which the model packages' readers take
    assert read_table(tmp_path / "c.csv").shape == read_table(tmp_path / "c.parquet").shape == (2, 6)
    assert read_table(tmp_path / "c.pq").shape == (2, 6)
    with session_scope(engine) as session:
        assert import_file(session, "customers", tmp_path / "c.pq").inserted == 2
    with pytest.raises(InvalidInput, match="must be a .csv or .parquet"):
        (tmp_path / "c.xlsx").write_text("x")
        read_table(tmp_path / "c.xlsx")
    (tmp_path / "c.csv.gz").write_bytes(gzip.compress((tmp_path / "c.csv").read_bytes()))
    with pytest.raises(
        InvalidInput, match=r"must be a .csv or .parquet \(.pq\) file, and this one is gzip-compressed: "
    ):
        read_table(tmp_path / "c.csv.gz")  # the person was not told why their .csv was none


def test_a_csv_problem_names_the_line_an_editor_shows_past_line_breaks_in_cells_and_blank_lines(tmp_path, engine):
    """A description with line breaks, and blank lines, moved every later problem up: line 8 was called row 5,
    and the list ended "checking stopped before the end of the file" though the whole file had been checked."""
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,category,price,currency,description,url,in_stock\n"  # line 1
        'T1,Sencha,tea,7.5,EUR,"Green tea.\nSteamed,\nnot roasted.",,1\n'  # lines 2-4
        "\n"  # line 5
        "   \n"  # line 6
        "K1,Knife,kitchen,49,EUR,Steel,,0\n"  # line 7
        "K2,Board,kitchen,abc,EUR,Oak,,1\n"  # line 8
        "\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "products", path)
    assert [str(problem) for problem in raised.value.problems] == ["row 8, column 'price': 'abc' is not a number"]


def test_a_file_of_exactly_as_many_problems_as_are_listed_lists_them_all_without_a_count(tmp_path, engine, monkeypatch):
    """At the limit, every problem is listed and the whole file was checked: a line "3 problems found, the first 3
    listed" would be a problem of its own in the list, for a file that has none more."""
    monkeypatch.setattr("service.importing.load.MAX_PROBLEMS", 3)
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,category,price,currency,description,url,in_stock\n"
        "A1,Sencha,tea,one,EUR,Green,,1\n"
        "A2,Knife,kitchen,two,EUR,Steel,,1\n"
        "A3,Board,kitchen,three,EUR,Oak,,1\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "products", path)
    assert [str(problem) for problem in raised.value.problems] == [
        "row 2, column 'price': 'one' is not a number",
        "row 3, column 'price': 'two' is not a number",
        "row 4, column 'price': 'three' is not a number",
    ]


def test_a_price_written_with_a_decimal_comma_is_refused_saying_how_to_write_it(tmp_path, engine):
    """A shop's export from a spreadsheet in another region writes 4,99 or 1.299,00: the problem said only "is not
    a number", which left the integrator to guess what was wrong with a price that looks right to them."""
    path = tmp_path / "products.csv"
    path.write_text(
        "sku,name,category,price,currency,description,url,in_stock\n"
        'CD1,CD single,music,"4,99",USD,A single,,1\n'
        'CD2,CD box,music,"1.299,00",USD,A box,,1\n'
        "CD3,CD live,music,n/a,USD,Live,,1\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_file(session, "products", path)
    hint = "is not a number: write it with a point for decimals and no thousands separator (1299.50)"
    assert [str(problem) for problem in raised.value.problems] == [
        f"row 2, column 'price': '4,99' {hint}",
        f"row 3, column 'price': '1.299,00' {hint}",
        "row 4, column 'price': 'n/a' is not a number",
    ]


def test_a_price_with_a_french_spreadsheet_s_thousands_space_is_refused_saying_how_to_write_it(engine):
    """A French export writes 1 299,00 with a no-break space (U+00A0, or U+202F in newer versions) between the
    thousands, not the space a keyboard types: it had only "is not a number"."""
    prices = ["1\u00a0299,00", "1\u202f299,00"]
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "products", PRODUCTS.assign(price=prices))
    hint = "is not a number: write it with a point for decimals and no thousands separator (1299.50)"
    assert [str(problem) for problem in raised.value.problems] == [
        f"row {row}, column 'price': '{price}' {hint}" for row, price in zip((2, 3), prices, strict=True)
    ]


def _price_problems(engine, prices: list[str]) -> list[str]:
    """What an import of products at these four prices is told, a message a price."""
    products = pd.concat([PRODUCTS] * 2, ignore_index=True).assign(sku=["A", "B", "C", "D"], price=prices)
    with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
        import_frame(session, "products", products)
    return [problem.message for problem in raised.value.problems]


def test_a_price_written_with_its_currency_is_refused_saying_to_write_the_number_alone(engine):
    """An export that writes prices as $12.50 or 12.50 EUR was told only "is not a number"."""
    assert _price_problems(engine, ["€12.50", "12.50 EUR", "$1,234.00", "n/a"]) == [
        "'€12.50' is not a number: write the number alone (12.50), without its currency",
        "'12.50 EUR' is not a number: write the number alone (12.50), without its currency",
        "'$1,234.00' is not a number: write it without its currency, with a point for decimals and no thousands "
        "separator (1299.50)",
        "'n/a' is not a number",
    ]


def test_the_currency_hint_names_only_a_currency_and_a_number_the_import_takes(engine):
    """'4 PCS' was told to drop "its currency" (PCS is a unit), and '1_000 EUR' and 'inf USD' to write 1_000 and inf
    alone, which the import refuses in turn: the hint read the rest with Python's float, not as the import does."""
    assert _price_problems(engine, ["4 PCS", "1_000 EUR", "inf USD", "12.50 EUR"]) == [
        "'4 PCS' is not a number",
        "'1_000 EUR' is not a number",
        "'inf USD' is not a number",
        "'12.50 EUR' is not a number: write the number alone (12.50), without its currency",
    ]


def test_a_parquet_file_names_its_rows_from_1_as_tailor_recommend_does(tmp_path, engine):
    """A CSV's problems name its lines (the header is line 1); a Parquet file has no lines, so its rows are
    counted from 1, as ``tailor recommend`` and ``tailor audience`` name the rows of the same file."""
    from recommenders.batch import read_interactions
    from recommenders.errors import InvalidInteractions

    bad = CUSTOMERS.assign(email=["anna@example.com", "not-an-address"])
    bad.to_csv(tmp_path / "c.csv", index=False)
    bad.to_parquet(tmp_path / "c.parquet")
    for name, row in (("c.csv", 3), ("c.parquet", 2)):
        with pytest.raises(InvalidInput) as raised, session_scope(engine) as session:
            import_file(session, "customers", tmp_path / name)
        assert [(p.row, p.column) for p in raised.value.problems] == [(row, "email")], name
        assert str(raised.value).endswith(f"row {row}, column 'email': is not an email address")
    ORDERS.assign(timestamp=["2026-01-03", "someday", "2026-02-01"]).to_parquet(tmp_path / "o.parquet")
    with pytest.raises(InvalidInteractions, match="row 2, column 'timestamp'"):
        read_interactions(tmp_path / "o.parquet")


def test_ids_a_spreadsheet_wrote_as_floats_are_stored_as_the_models_read_them(tmp_path, engine):
    """A Parquet id column with a gap is float (12348.0): the import stored "12348.0" while the audience and
    recommender models read 12348, so no customer matched their own orders."""
    from service.pipeline.frames import orders_frame
    from tabular import id_strings

    CUSTOMERS.assign(customer_id=[12348.0, 12349.0]).to_parquet(tmp_path / "customers.parquet")
    PRODUCTS.assign(sku=[10002.0, 20725.0]).to_parquet(tmp_path / "products.parquet")
    ORDERS.assign(customer_id=["12348", "12348.0", "12349.0"], product_id=["10002.0", "20725", "10002"]).to_csv(
        tmp_path / "orders.csv", index=False
    )
    with session_scope(engine) as session:
        for kind in ("customers", "products", "orders"):
            import_file(session, kind, tmp_path / f"{kind}.{'csv' if kind == 'orders' else 'parquet'}")
    with session_scope(engine) as session:
        assert set(session.scalars(select(Customer.external_id))) == {"12348", "12349"}
        assert set(session.scalars(select(Product.sku))) == {"10002", "20725"}
        orders = orders_frame(session)
    assert sorted(orders.customer_id) == ["12348", "12348", "12349"]
    assert orders.customer_id.equals(id_strings(orders.customer_id))  # what validate_orders makes of them


def test_sends_import_records_outcomes_as_events_and_reimport_replaces_them(engine):
    from service.db.models import Event, Send

    _load_all(engine)
    sends = pd.DataFrame(
        {
            "send_id": ["s1", "s2"],
            "customer_id": ["c1", "c2"],
            "subject": ["Hello Anna", "New teas"],
            "campaign_type": ["cross_sell", "win_back"],
            "sent_at": ["2026-03-01 09:00", "2026-03-02 18:00"],
            "opened": ["1", "0"],
            "clicked": ["1", "0"],
        }
    )
    with session_scope(engine) as session:
        import_frame(session, "sends", sends)
    with session_scope(engine) as session:
        kinds = sorted(session.scalars(select(Event.kind).join(Send).where(Send.external_id == "s1")))
        assert kinds == ["click", "delivered", "open"]
        assert session.scalar(select(Send.locale).where(Send.external_id == "s2")) == "pl"
    with session_scope(engine) as session:
        import_frame(session, "sends", sends.assign(opened=["0", "0"], clicked=["0", "0"]))
    assert _count(engine, Send) == 2 and _count(engine, Event) == 2


def test_a_sends_file_imported_again_keeps_the_events_that_came_another_way(engine):
    """A nightly re-sync of the sends file deleted every click the email service had posted to /events since, and
    said every send was updated; a correction of the file still replaces the outcomes it stated before."""
    from service.db.models import Event, Send
    from service.events import ingest_events
    from service.schemas import EventIn

    _load_all(engine)
    sends = pd.DataFrame(
        {
            "send_id": ["s1", "s2"], "customer_id": ["c1", "c2"], "subject": ["Hello Anna", "New teas"],
            "campaign_type": ["cross_sell", "win_back"], "sent_at": ["2026-03-01 09:00", "2026-03-02 18:00"],
            "opened": ["1", "0"],
        }
    )  # fmt: skip

    def outcomes(send: str) -> list[str]:
        with session_scope(engine) as session:
            return sorted(session.scalars(select(Event.kind).join(Send).where(Send.external_id == send)))

    with session_scope(engine) as session:
        import_frame(session, "sends", sends)
        ingest_events(session, [EventIn(send_id="s2", kind="click", occurred_at="2026-03-03T10:00:00Z")])
    with session_scope(engine) as session:
        again = import_frame(session, "sends", sends)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    assert outcomes("s1") == ["delivered", "open"] and outcomes("s2") == ["click", "delivered"]
    with session_scope(engine) as session:  # corrected: s1 was never opened, s2 was
        corrected = import_frame(session, "sends", sends.assign(opened=["0", "1"]))
    assert (corrected.updated, corrected.unchanged) == (2, 0)
    assert outcomes("s1") == ["delivered"] and outcomes("s2") == ["click", "delivered", "open"]
    with session_scope(engine) as session:  # a subject corrected: the send is written again, its outcomes kept
        retitled = import_frame(session, "sends", sends.assign(opened=["0", "1"], subject=["Hello Anna", "Teas"]))
    assert (retitled.updated, retitled.unchanged) == (1, 1)
    assert outcomes("s2") == ["click", "delivered", "open"]


def test_sends_are_matched_and_replaced_in_batches_of_keys(engine, monkeypatch):
    """Every send id went into one IN (...) list: above 250,000 sends SQLite refused it ("too many SQL
    variables"), and PostgreSQL's limit is 65,535. Batches of 7 here stand in for batches of 10,000."""
    from service.db import batches as batching
    from service.db.models import Event, Send
    from service.importing import sends

    monkeypatch.setattr(sends, "batches", lambda values: batching.batches(values, size=7))
    monkeypatch.setattr(batching, "IN_BATCH", 7)  # the key lookups (batching.rows_where_in)
    _load_all(engine)
    n = 30
    sends = pd.DataFrame(
        {
            "send_id": [f"s{i}" for i in range(n)], "customer_id": ["c1", "c2"] * (n // 2),
            "subject": "Hello", "campaign_type": "cross_sell", "sent_at": "2026-03-01 09:00",
            "opened": ["1", "0", "0"] * (n // 3),
        }
    )  # fmt: skip
    with session_scope(engine) as session:
        import_frame(session, "sends", sends)
    assert _count(engine, Send) == n and _count(engine, Event) == n + n // 3
    with session_scope(engine) as session:
        import_frame(session, "sends", sends.assign(opened="1"))
    assert _count(engine, Send) == n and _count(engine, Event) == 2 * n
    assert list(batching.batches(range(5), size=2)) == [[0, 1], [2, 3], [4]]


def test_orders_are_written_in_bounded_batches_and_a_reimport_updates_them(engine, monkeypatch):
    """A big orders file used to become one list of a dict per line (2.3 GB at a million lines): lines are now
    written ``WRITE_BATCH`` at a time (3 here), and known lines are looked up by the file's order ids in
    batches (4 here) rather than by reading the whole table."""
    from service.db import batches as batching
    from service.importing import writes

    monkeypatch.setattr(writes, "WRITE_BATCH", 3)
    monkeypatch.setattr(batching, "IN_BATCH", 4)  # the key lookups (batching.rows_where_in)
    written, plain_records = [], writes.plain_records
    monkeypatch.setattr(writes, "plain_records", lambda frame: written.append(len(frame)) or plain_records(frame))
    _load_all(engine)
    n = 20
    orders = pd.DataFrame(
        {
            "order_id": [f"b{i // 2}" for i in range(n)], "customer_id": ["c1", "c2"] * (n // 2),
            "product_id": ["T1", "K1"] * (n // 2), "quantity": "1", "amount": "9.5",
            "timestamp": "2026-03-01 09:00", "discount": ["", "1.5"] * (n // 2),
        }
    )  # fmt: skip
    with session_scope(engine) as session:
        summary = import_frame(session, "orders", orders)
    assert (summary.inserted, summary.updated) == (n, 0)
    assert max(written) == 3 and sum(written) >= n
    assert _count(engine, Interaction) == n + len(ORDERS)
    changed = pd.concat([orders.head(7).assign(amount="11"), orders.tail(1).assign(order_id="b99")])
    with session_scope(engine) as session:
        summary = import_frame(session, "orders", changed)
    assert (summary.inserted, summary.updated) == (1, 7)
    with session_scope(engine) as session:
        stored = session.execute(
            select(Interaction.order_id, Interaction.amount, Interaction.discount, Interaction.timestamp)
            .where(Interaction.order_id.like("b%")).order_by(Interaction.id)
        ).all()  # fmt: skip
    assert len(stored) == n + 1
    assert [row.amount for row in stored[:8]] == [11.0] * 7 + [9.5]
    assert [row.discount for row in stored[:2]] == [None, 1.5]
    assert stored[-1].order_id == "b99" and str(stored[-1].timestamp) == "2026-03-01 09:00:00"


def test_sends_may_carry_churn_risk_and_recommendation_score_for_scoring(engine):
    from service.pipeline import frames

    _load_all(engine)
    sends = pd.DataFrame(
        {
            "send_id": ["s1", "s2"], "customer_id": ["c1", "c2"], "subject": ["Hello Anna", "New teas"],
            "campaign_type": ["cross_sell", "win_back"], "sent_at": ["2026-03-01 09:00", "2026-03-02 18:00"],
            "churn_risk": ["0.25", ""], "rec_score": ["", "1.5"],
        }
    )  # fmt: skip
    with session_scope(engine) as session:
        import_frame(session, "sends", sends)
    with session_scope(engine) as session:
        learned = frames.sends_frame(session).set_index("subject")
    assert learned.loc["Hello Anna", "churn_risk"] == 0.25 and pd.isna(learned.loc["Hello Anna", "rec_score"])
    assert pd.isna(learned.loc["New teas", "churn_risk"]) and learned.loc["New teas", "rec_score"] == 1.5
    with (
        pytest.raises(InvalidInput, match="row 2, column 'churn_risk': must be at most 1"),
        session_scope(engine) as session,
    ):
        import_frame(session, "sends", sends.assign(churn_risk=["1.5", ""]))
    # a send still to come is no history: an integration that dates in the wrong zone or year is told which row
    later = (pd.Timestamp.now() + pd.Timedelta(days=3)).strftime("%Y-%m-%d %H:%M")
    with (
        pytest.raises(InvalidInput, match="row 3, column 'sent_at': has not come yet"),
        session_scope(engine) as session,
    ):
        import_frame(session, "sends", sends.assign(sent_at=["2026-03-01 09:00", later]))


def upload_customers(client, frame: pd.DataFrame) -> dict:
    """Upload `frame` as a customers CSV file through the API; returns the import's summary."""
    body = frame.to_csv(index=False).encode()
    response = client.post("/imports/customers", files={"file": ("customers.csv", body, "text/csv")})
    assert response.status_code == 200, response.text
    return response.json()


def test_reimporting_customers_never_undoes_an_unsubscribe(client, engine):
    """An unsubscribe event (POST /events), then the shop's usual customers file again, with and without the
    optional column: both customers stay unsubscribed; a file may still unsubscribe someone."""
    from service.db.models import Send

    upload_customers(client, CUSTOMERS)
    with session_scope(engine) as session:
        anna = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        send = Send(customer=anna, subject="News", campaign_type="cross_sell", sent_at=pd.Timestamp("2026-03-01"))
        session.add(send)
        session.flush()
        send_id = send.id
    unsubscribe = {"events": [{"send_id": send_id, "kind": "unsubscribe"}]}
    assert client.post("/events", json=unsubscribe).json()["recorded"] == 1
    assert client.get("/customers/c1").json()["unsubscribed"] is True

    upload_customers(client, CUSTOMERS)  # no unsubscribed column: it defaults to false for new customers only
    assert client.get("/customers/c1").json()["unsubscribed"] is True
    upload_customers(client, CUSTOMERS.assign(unsubscribed=["false", "true"]))
    assert client.get("/customers/c1").json()["unsubscribed"] is True
    assert client.get("/customers/c2").json()["unsubscribed"] is True
    upload_customers(client, CUSTOMERS.assign(unsubscribed=["no", "no"]))
    assert [client.get(f"/customers/{c}").json()["unsubscribed"] for c in ("c1", "c2")] == [True, True]


def test_an_unsubscribe_says_when_tailor_took_it_and_a_later_file_keeps_that_time(client, engine):
    """Support asked "when did I unsubscribe?": a customer a customers file unsubscribed had no time anywhere (one
    by a link or an event had only their event's). Now each keeps the moment Tailor took it, the first one."""
    from datetime import datetime

    from service.clock import utcnow
    from service.db.models import Send

    def taken(customer: str) -> datetime | None:
        moment = client.get(f"/customers/{customer}").json()["unsubscribed_at"]
        return moment and datetime.fromisoformat(moment).replace(tzinfo=None)

    before = utcnow().replace(microsecond=0)
    upload_customers(client, CUSTOMERS.assign(unsubscribed=["false", "true"]))
    assert taken("c1") is None and before <= taken("c2") <= utcnow()
    first = taken("c2")
    upload_customers(client, CUSTOMERS.assign(unsubscribed=["false", "true"]))  # the shop's usual file again
    assert taken("c2") == first
    with session_scope(engine) as session:
        anna = session.scalar(select(Customer).where(Customer.external_id == "c1"))
        session.add(Send(customer=anna, subject="News", campaign_type="cross_sell", sent_at=pd.Timestamp("2026-03-01")))
        session.flush()
        send_id = session.scalar(select(Send.id))
    assert client.post("/events", json={"events": [{"send_id": send_id, "kind": "complaint"}]}).json()["recorded"] == 1
    assert first <= taken("c1") <= utcnow()


def test_a_bounce_imported_with_the_customers_holds_for_that_address(client):
    """A shop moving from another email provider brings its bounce list: those addresses are not mailed, and a
    later file without the column, or saying false, does not undo it; a new address is mailable."""

    def bounced() -> list[bool]:
        return [client.get(f"/customers/{c}").json()["email_bounced"] for c in ("c1", "c2")]

    upload_customers(client, CUSTOMERS.assign(email_bounced=["true", "false"]))
    assert bounced() == [True, False]
    upload_customers(client, CUSTOMERS)
    upload_customers(client, CUSTOMERS.assign(email_bounced=["false", "false"]))
    assert bounced() == [True, False]
    upload_customers(client, CUSTOMERS.assign(email=["anna.new@example.com", CUSTOMERS.email[1]]))
    assert bounced() == [False, False]


def test_a_language_without_templates_is_imported_with_a_warning(client):
    """Accepted, since a campaign writes to these customers in the brand's default language; but said at once."""
    more = CUSTOMERS.assign(customer_id=["c3", "c4"], email=["c3@example.com", "c4@example.com"], locale=["cs", "de"])
    frame = pd.concat([CUSTOMERS.assign(locale=["cs", "sv-FI"]), more], ignore_index=True)
    (warning,) = upload_customers(client, frame)["warnings"]
    assert warning.startswith("3 customers have a language without email templates: cs (2), sv (1).")
    assert "brand's default language" in warning
    assert client.get("/customers/c2").json()["locale"] == "sv-FI"  # kept as the file says, its region too
    assert upload_customers(client, CUSTOMERS)["warnings"] == []
