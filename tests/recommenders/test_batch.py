"""`recommend_file`: the file-in, file-out path behind `tailor recommend`."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.batch import read_interactions, read_products, recommend_file
from recommenders.errors import FitFailed, InvalidInteractions, InvalidProducts, UnknownModel
from recommenders.registry import names
from tests.recommenders.contract import checkerboard


@pytest.fixture
def train_csv(tmp_path):
    interactions, _, _ = checkerboard()
    path = tmp_path / "train.csv"
    interactions.drop(columns="segment").to_csv(path, index=False)
    return path


@pytest.fixture
def products_csv(tmp_path):
    _, catalog, _ = checkerboard()
    path = tmp_path / "products.csv"
    catalog.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("model", ["auto", "als", "popularity", "bm25"])
def test_every_customer_gets_k_recommendations(train_csv, model):
    recs = recommend_file(train_csv, k=3, model=model)
    assert list(recs.columns) == ["customer_id", "rank", "product_id", "score"]
    assert recs["customer_id"].nunique() == 20
    assert (recs.groupby("customer_id").size() == 3).all()


@pytest.mark.parametrize("model", ["content", "blend", "ease_hybrid"])
def test_catalog_models_read_the_products_file(train_csv, products_csv, model):
    _, _, expected = checkerboard()
    recs = recommend_file(train_csv, k=1, model=model, products=products_csv)
    assert dict(zip(recs["customer_id"], recs["product_id"], strict=True)) == expected


@pytest.mark.parametrize("model", ["popularity", "ease", "blend"])
def test_with_a_catalog_only_its_products_are_recommended(tmp_path, train_csv, products_csv, model):
    """Online Retail's POST and M (postage, manual) lines were recommended though the catalog given had none."""
    catalog = pd.read_csv(products_csv)
    kept = catalog[catalog["product_id"] != catalog["product_id"].iloc[0]]
    kept.to_csv(products_csv, index=False)
    recs = recommend_file(train_csv, k=3, model=model, products=products_csv)
    assert set(recs["product_id"]) <= set(kept["product_id"].astype(str))
    assert recs["customer_id"].nunique() == 20


@pytest.mark.parametrize("model", ["popularity", "ease"])
def test_a_catalog_s_product_marked_not_recommendable_is_never_recommended(train_csv, products_csv, model):
    """`tailor recommend --products` read the import's layout but not its `recommendable` column: postage marked
    false was every customer's first product."""
    catalog = pd.read_csv(products_csv)
    postage = str(catalog["product_id"].iloc[0])
    catalog.assign(recommendable=["false", *[""] * (len(catalog) - 1)]).to_csv(products_csv, index=False)
    recs = recommend_file(train_csv, k=3, model=model, include_seen=True, products=products_csv)
    assert postage not in set(recs["product_id"]) and recs["customer_id"].nunique() == 20
    catalog.assign(recommendable="maybe").to_csv(products_csv, index=False)
    with pytest.raises(InvalidProducts, match="line 2, column 'recommendable': 'maybe' is not true or false"):
        read_products(products_csv)


@pytest.mark.parametrize("model", ["popularity", "ease"])
def test_a_catalog_s_product_out_of_stock_is_never_recommended(train_csv, products_csv, model):
    """`tailor recommend --products` read the import's layout, `in_stock` among its columns, and recommended the
    products it marked out of stock, which the service never shows."""
    catalog = pd.read_csv(products_csv)
    sold_out = set(catalog["product_id"].astype(str).iloc[:2])
    catalog.assign(in_stock=["no", "false", *["true"] * (len(catalog) - 2)]).to_csv(products_csv, index=False)
    recs = recommend_file(train_csv, k=3, model=model, include_seen=True, products=products_csv)
    assert not sold_out & set(recs["product_id"]) and recs["customer_id"].nunique() == 20
    catalog.assign(in_stock=["true", "", *["true"] * (len(catalog) - 2)]).to_csv(products_csv, index=False)
    assert read_products(products_csv)["in_stock"].all()  # an empty cell says nothing of the stock
    catalog.assign(in_stock="maybe").to_csv(products_csv, index=False)
    with pytest.raises(InvalidProducts, match="line 2, column 'in_stock': 'maybe' is not true or false"):
        read_products(products_csv)


def test_a_file_in_another_encoding_names_the_line(tmp_path, train_csv):
    lines = train_csv.read_bytes().splitlines()
    train_csv.write_bytes(b"\n".join([*lines[:3], lines[3].replace(b"c", b"\xe7", 1), *lines[4:]]) + b"\n")
    with pytest.raises(InvalidInteractions, match="train.csv, line 4: is not UTF-8 \\(byte 0xe7\\); save the file"):
        recommend_file(train_csv, k=1, model="popularity")


def test_content_without_a_catalog_says_so(train_csv):
    with pytest.raises(FitFailed, match="product catalog"):
        recommend_file(train_csv, k=1, model="content")


def test_a_never_bought_catalog_product_can_be_recommended(tmp_path, train_csv, products_csv):
    catalog = pd.read_csv(products_csv)
    extra = {"product_id": "a9", "name": "red rose item 9", "category": "garden", "description": "red flower petals"}
    pd.concat([catalog, pd.DataFrame([extra])]).to_csv(products_csv, index=False)
    recs = recommend_file(train_csv, k=5, model="content", products=products_csv)
    assert "a9" in set(recs.loc[recs["customer_id"] == "c0", "product_id"])


def test_products_file_as_the_importer_takes_it(tmp_path, products_csv):
    catalog = pd.read_csv(products_csv).rename(columns={"product_id": "sku"})
    path = tmp_path / "products.parquet"
    catalog.to_parquet(path)
    assert list(read_products(path)["product_id"]) == list(catalog["sku"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: c.drop(columns="product_id"), r"column 'product_id': the catalog has no 'product_id' \(or 'sku'\)"),
        (lambda c: c[["product_id", "price"]], "none of the columns the models read: name, category, description"),
        (lambda c: c.assign(price=c["price"].astype(object).where(c.index != 2, "cheap")), r"line 4, column 'price'"),
        (lambda c: c.assign(price=c["price"].where(c.index != 0, -1.0)), r"line 2, column 'price': '-1.0' is not"),
        (lambda c: c.assign(product_id=c["product_id"].where(c.index != 4, "a0")), r"line 6, column 'product_id'"),
        (lambda c: c.assign(product_id=c["product_id"].where(c.index != 1, "")), r"line 3, column 'product_id'"),
    ],
)
def test_bad_products_file_names_row_and_column(tmp_path, products_csv, change, message):
    path = tmp_path / "bad.csv"
    change(pd.read_csv(products_csv)).to_csv(path, index=False)
    with pytest.raises(InvalidProducts, match=message):
        read_products(path)


def test_include_seen(train_csv):
    """A replenishment list is the customer's own most bought products; without `include_seen` none of them. An
    empty list passed both checks before."""
    seen = read_interactions(train_csv).groupby("customer_id")["product_id"].apply(set)
    recs = recommend_file(train_csv, k=2, model="repeat_purchase", include_seen=True)
    # each customer bought all but one of their group's five products, the later ones in larger quantities, last
    own_top_two = {customer: sorted(bought, reverse=True)[:2] for customer, bought in seen.items()}
    assert recs.groupby("customer_id")["product_id"].apply(list).to_dict() == own_top_two
    recs = recommend_file(train_csv, k=2, model="repeat_purchase")
    assert (recs.groupby("customer_id").size() == 2).all() and recs["customer_id"].nunique() == len(seen)
    assert not any(row.product_id in seen[row.customer_id] for row in recs.itertuples())


def test_parquet(tmp_path, train_csv):
    path = tmp_path / "train.parquet"
    pd.read_csv(train_csv).to_parquet(path)
    assert len(recommend_file(path, k=1, model="popularity")) == 20


def test_missing_timestamp_column_is_named(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"customer_id": ["a"], "product_id": ["b"]}).to_csv(path, index=False)
    with pytest.raises(InvalidInteractions, match="'timestamp'"):
        read_interactions(path)


def test_bad_value_names_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,product_id,timestamp,quantity\na,b,2024-01-01,1\na,c,2024-01-02,lots\n")
    with pytest.raises(InvalidInteractions, match=r"^bad.csv, line 3, column 'quantity'"):  # line 1 is the header
        read_interactions(path)


def test_a_parquet_file_s_bad_value_is_named_by_its_row(tmp_path):
    path = tmp_path / "bad.parquet"
    frame = pd.DataFrame(
        {"customer_id": ["a", "a"], "product_id": ["b", "c"], "timestamp": ["2024-01-01", "2024-01-02"]}
    )
    frame.assign(quantity=["1", "lots"]).to_parquet(path)
    # no lines in a Parquet file
    with pytest.raises(InvalidInteractions, match=r"^bad.parquet, row 2, column 'quantity'"):
        read_interactions(path)


def test_unknown_model_lists_the_choices(train_csv):
    with pytest.raises(UnknownModel, match="als"):
        recommend_file(train_csv, k=1, model="magic")
    assert {"als", "auto", "bpr", "bm25", "item_knn", "popularity", "repeat_purchase"} <= set(names())


def test_unknown_format(tmp_path):
    path = tmp_path / "train.xlsx"
    path.write_bytes(b"")
    with pytest.raises(InvalidInteractions, match="neither CSV nor Parquet"):
        read_interactions(path)


@pytest.mark.slow
def test_real_online_retail_file(tmp_path):
    from evals.datasets import DatasetMissing, online_retail

    try:
        lines = online_retail(years="2010-2011")
    except DatasetMissing as missing:
        pytest.skip(str(missing))
    sample = lines[lines["timestamp"] < "2011-03-01"]
    path = tmp_path / "orders.csv"
    sample[["customer_id", "product_id", "timestamp", "quantity", "amount"]].to_csv(path, index=False)
    recs = recommend_file(path, k=10, model="als")
    assert recs["customer_id"].nunique() == sample["customer_id"].nunique()
    assert (recs.groupby("customer_id").size() == 10).all()
    bought = sample.groupby("customer_id")["product_id"].agg(set)
    assert not any(row.product_id in bought[row.customer_id] for row in recs.head(2000).itertuples())


def test_a_spreadsheet_s_float_ids_come_back_as_the_ids_they_stand_for(tmp_path):
    """A CSV exported with customer ids as 17850.0 gave recommendations for customer "17850.0"."""
    path = tmp_path / "orders.csv"
    rows = [
        f"{customer}.0,P{product},2024-01-0{day}"
        for customer in (17850, 13047, 12583)
        for product, day in ((1, 1), (2, 2), (3, 3))
    ]
    path.write_text("customer_id,product_id,timestamp\n" + "\n".join(rows) + "\n17850.0,P4,2024-01-05\n")
    recommendations = recommend_file(path, k=2, model="popularity", include_seen=True)
    assert set(recommendations["customer_id"]) == {"17850", "13047", "12583"}


def test_ids_a_spreadsheet_saved_in_scientific_notation_are_refused_by_their_line(tmp_path):
    """`tailor recommend` gave recommendations for customer "1.23457E+16", an id no order of the shop names (as the
    import stored it, before it refused such ids)."""
    interactions = tmp_path / "orders.csv"
    interactions.write_text("customer_id,product_id,timestamp\nc1,p1,2024-01-01\n1.23457E+16,p2,2024-01-02\n")
    lost = r"^orders.csv, line 3, column 'customer_id': '1.23457E\+16' has lost digits"
    with pytest.raises(InvalidInteractions, match=lost):
        read_interactions(interactions)
    catalog = tmp_path / "products.csv"
    catalog.write_text("product_id,name\n4.00601E+12,Pan\n12E34,Lid\n", encoding="utf-8")  # the second: a code
    lost = r"^products.csv, line 2, column 'product_id': '4.00601E\+12' has lost digits"
    with pytest.raises(InvalidProducts, match=lost):
        read_products(catalog)


def test_a_timestamp_that_is_no_date_is_told_in_the_words_of_an_orders_import(tmp_path):
    """`tailor recommend` said "'someday' is not a date and time" where `tailor import orders` says "is not a date
    or time" of the same cell: one problem, one wording."""
    path = tmp_path / "orders.csv"
    path.write_text("customer_id,product_id,timestamp\nc1,p1,2024-01-01\nc2,p2,someday\n")
    told = r"^orders.csv, line 3, column 'timestamp': 'someday' is not a date or time$"
    with pytest.raises(InvalidInteractions, match=told):
        read_interactions(path)


def test_lines_without_data_are_left_out_and_later_lines_keep_their_numbers(tmp_path, products_csv):
    """`tailor import` skipped a line of separators alone and a repeated header; `tailor recommend` refused them as
    "is empty" and "'timestamp' is not a date and time"."""
    header = "customer_id,product_id,timestamp"
    path = tmp_path / "orders.csv"
    path.write_text(f"{header}\nc1,p1,2024-01-01\n,,\n{header}\nc2,p2,2024-01-02\n")
    assert read_interactions(path)["customer_id"].tolist() == ["c1", "c2"]
    path.write_text(f"{header}\nc1,p1,2024-01-01\n,,\n{header}\nc2,p2,someday\n")
    with pytest.raises(InvalidInteractions, match=r"^orders.csv, line 5, column 'timestamp'"):
        read_interactions(path)
    catalog = pd.read_csv(products_csv)
    joined = tmp_path / "products.csv"
    more = catalog.assign(product_id=catalog["product_id"].astype(str) + "-b")
    joined.write_text(catalog.to_csv(index=False) + more.to_csv(index=False))  # two exports, two headers
    assert len(read_products(joined)) == 2 * len(catalog)


def test_an_export_with_many_blank_customers_is_told_how_many(tmp_path):
    path = tmp_path / "orders.csv"  # guest orders have no customer id
    path.write_text(
        "customer_id,product_id,timestamp\na,P1,2024-01-01\n,P1,2024-01-02\n,P2,2024-01-03\n,P3,2024-01-04\n"
    )
    blank = r"^orders.csv, line 3, column 'customer_id': is empty; .*\(3 lines have none\)$"
    with pytest.raises(InvalidInteractions, match=blank):
        read_interactions(path)


def test_an_infinite_amount_or_price_is_refused_by_its_line(tmp_path):
    """`tailor recommend` took "inf" and 1e400 as amounts and prices, as the import did."""
    interactions = tmp_path / "interactions.csv"
    interactions.write_text(
        "customer_id,product_id,timestamp,amount\nc1,p1,2024-01-01,3\nc2,p1,2024-01-02,1e400\n", encoding="utf-8"
    )
    infinite = r"^interactions.csv, line 3, column 'amount': 'inf' is not a finite number$"
    with pytest.raises(InvalidInteractions, match=infinite):
        read_interactions(interactions)
    catalog = tmp_path / "products.csv"
    catalog.write_text("product_id,name,price\np1,Pan,inf\n", encoding="utf-8")
    with pytest.raises(InvalidProducts, match=r"^products.csv, line 2, column 'price': 'inf' is not a price"):
        read_products(catalog)


def test_rows_are_named_by_their_line_and_a_trailing_comma_shifts_no_column(tmp_path):
    """A catalog's description over two lines moved every later line number; a trailing comma on each row made
    pandas take the first column for row labels, so every value was read one column off."""
    catalog = tmp_path / "products.csv"
    catalog.write_text('product_id,name,description\np1,Pan,"Steel,\nwith lid"\n,Pot,Clay\n', encoding="utf-8")
    with pytest.raises(InvalidProducts, match=r"^products.csv, line 4, column 'product_id': is empty"):
        read_products(catalog)
    trailing = tmp_path / "interactions.csv"
    trailing.write_text("customer_id,product_id,timestamp\nc1,p1,2024-01-01,\nc2,p2,2024-01-02,\n", encoding="utf-8")
    assert read_interactions(trailing)["product_id"].tolist() == ["p1", "p2"]
    extra = tmp_path / "extra.csv"
    extra.write_text("customer_id,product_id,timestamp\nc1,p1,2024-01-01,3\n", encoding="utf-8")
    with pytest.raises(InvalidInteractions, match=r"^extra.csv, line 2: has 4 cells where the header names 3 columns"):
        read_interactions(extra)


def test_a_workbook_is_told_what_it_is_and_to_save_the_sheet_as_csv(tmp_path):
    """An .xls workbook named .csv was "not UTF-8 (byte 0xd0)", and one named .xlsx "neither CSV nor Parquet"."""
    old = tmp_path / "train.csv"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    with pytest.raises(InvalidInteractions, match=r"^train.csv: is an old Excel workbook \(.xls\), not UTF-8 text: "):
        read_interactions(old)
    workbook = tmp_path / "products.xlsx"
    workbook.write_bytes(b"PK\x03\x04")
    with pytest.raises(InvalidProducts, match=r"^products.xlsx: is an Excel workbook \(.xlsx\), neither CSV nor "):
        read_products(workbook)


def test_a_file_with_nothing_left_to_learn_from_is_named(tmp_path, products_csv):
    """Only cancellations: the fit found nothing left, and the error, raised after the files were read, named neither
    of the two files `tailor recommend` was given."""
    path = tmp_path / "cancelled.csv"
    path.write_text("customer_id,product_id,timestamp,quantity\na,b,2024-01-01,-1\nc,b,2024-01-02,-2\n")
    with pytest.raises(InvalidInteractions, match=r"^cancelled.csv: no usable interactions are left"):
        recommend_file(path, k=2, model="popularity", products=products_csv)


def test_a_missing_file_says_which_of_the_two_it_is(tmp_path, train_csv):
    """`tailor recommend --train nope.csv` said "there is no file at nope.csv", as a missing --products did."""
    with pytest.raises(InvalidInteractions, match=f"there is no interactions file at {tmp_path / 'nope.csv'}"):
        recommend_file(tmp_path / "nope.csv", k=1, model="popularity")
    with pytest.raises(InvalidProducts, match="there is no product catalog file at"):
        recommend_file(train_csv, k=1, model="popularity", products=tmp_path / "none.csv")


def test_a_gzipped_file_is_told_so(train_csv):
    """`train.csv.gz` was "neither CSV nor Parquet (use .csv or .parquet)", the person left to find out why."""
    import gzip

    packed = train_csv.with_name("train.csv.gz")
    packed.write_bytes(gzip.compress(train_csv.read_bytes()))
    with pytest.raises(InvalidInteractions, match=r"^train.csv.gz: is gzip-compressed: unpack it first$"):
        read_interactions(packed)


def test_an_empty_file_says_what_its_first_line_must_name(tmp_path):
    """It said "could not be read: No columns to parse from file", where `tailor import` says what to write."""
    (tmp_path / "train.csv").write_text("", encoding="utf-8")
    with pytest.raises(InvalidInteractions) as raised:
        read_interactions(tmp_path / "train.csv")
    assert str(raised.value) == (
        "train.csv: is empty: its first line must name its columns (at least customer_id, product_id, timestamp)"
    )
    (tmp_path / "products.csv").write_text("\n", encoding="utf-8")
    with pytest.raises(InvalidProducts, match="products.csv: is empty: its first line must name its columns"):
        read_products(tmp_path / "products.csv")


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_file_not_separated_by_commas_gets_the_import_hint(train_csv, separator, named):
    """A file saved with semicolons was told only that it had no 'customer_id' column (found: the whole header)."""
    pd.read_csv(train_csv).to_csv(train_csv, index=False, sep=separator)
    with pytest.raises(InvalidInteractions, match=f"the file looks separated by {named}; save it as CSV with commas"):
        read_interactions(train_csv)


def test_a_catalog_that_does_not_say_what_is_merchandise_warns_of_charges(train_csv, tmp_path):
    """`tailor import products` warns of postage in a catalog without a `recommendable` column; `tailor recommend
    --products` recommended it without a word."""
    _, catalog, _ = checkerboard()
    catalog.loc[0, "name"], catalog.loc[1, "name"] = "POSTAGE", "DOTCOM POSTAGE"
    catalog.to_csv(tmp_path / "catalog.csv", index=False)
    recs = recommend_file(train_csv, k=3, model="popularity", products=tmp_path / "catalog.csv")
    ids = ", ".join(catalog.product_id.astype(str)[:2])
    assert recs.attrs["warnings"] == [
        f"2 products are named as a charge, not merchandise ({ids}), and recommended like any product: give the "
        "file a `recommendable` column, false for them, so that no email offers postage."
    ]
    catalog["recommendable"] = ["false", "false"] + ["true"] * (len(catalog) - 2)  # decided: no warning
    catalog.to_csv(tmp_path / "catalog.csv", index=False)
    assert recommend_file(train_csv, k=3, model="popularity", products=tmp_path / "catalog.csv").attrs["warnings"] == []


def test_a_customer_left_with_nothing_to_recommend_is_told_of(tmp_path):
    """A customer who had bought every product got no line and nothing was said: a harness joining the output back
    to its customers read the missing one as a failed run."""
    train = tmp_path / "train.csv"
    rows = [("all", p, f"2024-01-0{i + 1}") for i, p in enumerate(["a", "b", "c"])] + [("one", "a", "2024-01-05")]
    pd.DataFrame(rows, columns=["customer_id", "product_id", "timestamp"]).to_csv(train, index=False)
    recs = recommend_file(train, k=2, model="popularity")
    assert set(recs["customer_id"]) == {"one"}
    assert recs.attrs["warnings"] == [
        "1 customer has no line (all): nothing is left to recommend to them once the products they have are left "
        "out (--include-seen keeps those)"
    ]
    assert recommend_file(train, k=2, model="popularity", include_seen=True).attrs["warnings"] == []
