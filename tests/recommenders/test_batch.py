"""`recommend_file`: the file-in, file-out path behind `tailor recommend`."""

from __future__ import annotations

import pandas as pd
import pytest

from recommenders.batch import read_interactions, recommend_file
from recommenders.errors import InvalidInteractions, UnknownModel
from recommenders.registry import names
from tests.recommenders.contract import checkerboard


@pytest.fixture
def train_csv(tmp_path):
    interactions, _, _ = checkerboard()
    path = tmp_path / "train.csv"
    interactions.drop(columns="segment").to_csv(path, index=False)
    return path


@pytest.mark.parametrize("model", ["auto", "als", "popularity", "bm25"])
def test_every_customer_gets_k_recommendations(train_csv, model):
    recs = recommend_file(train_csv, k=3, model=model)
    assert list(recs.columns) == ["customer_id", "rank", "product_id", "score"]
    assert recs["customer_id"].nunique() == 20
    assert (recs.groupby("customer_id").size() == 3).all()


def test_include_seen(train_csv):
    seen = read_interactions(train_csv).groupby("customer_id")["product_id"].apply(set)
    recs = recommend_file(train_csv, k=2, model="repeat_purchase", include_seen=True)
    assert all(row.product_id in seen[row.customer_id] for row in recs.itertuples())
    recs = recommend_file(train_csv, k=2, model="repeat_purchase")
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
    with pytest.raises(InvalidInteractions, match=r"row 2, column 'quantity'"):
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
