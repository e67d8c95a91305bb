"""Data preparation: validation messages name the column and row; each weighting option does what it says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommenders.errors import InvalidInteractions
from recommenders.interactions import (
    CodedLines,
    Preparation,
    SharedLines,
    Vocabulary,
    apply_min_support,
    drop_returned,
    positions_in,
    prepare,
    prepare_valid,
    purchase_matrix,
    validate_interactions,
)


def lines(**columns) -> pd.DataFrame:
    base = {
        "customer_id": ["u1", "u1", "u2", "u3"],
        "product_id": ["p1", "p2", "p1", "p3"],
        "timestamp": ["2024-01-01", "2024-01-11", "2024-01-21", "2024-01-31"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def weight(matrix, vocabulary, customer, product) -> float:
    row = vocabulary.customer_rows([customer])[0]
    column = vocabulary.product_columns([product])[0]
    return float(matrix[row, column])


def test_defaults_fill_quantity_amount_and_kind():
    clean = validate_interactions(lines())
    assert clean["quantity"].tolist() == [1.0] * 4
    assert clean["amount"].tolist() == [0.0] * 4
    assert clean["kind"].tolist() == ["purchase"] * 4
    assert clean["timestamp"].dtype == "datetime64[ns]"


def test_numeric_ids_become_strings():
    clean = validate_interactions(lines(customer_id=[17850.0, 17850.0, 13047, 12583]))
    assert clean["customer_id"].tolist()[2] == "13047"


@pytest.mark.parametrize(
    ("frame", "column", "row"),
    [
        (lines().drop(columns="product_id"), "product_id", None),
        (lines(customer_id=["u1", None, "u2", "u3"]), "customer_id", 2),
        (lines(timestamp=["2024-01-01", "2024-01-02", "yesterday", "2024-01-03"]), "timestamp", 3),
        (lines(quantity=[1, 2, "three", 4]), "quantity", 3),
        (lines(kind=["purchase", "view", "cart", "wishlist"]), "kind", 4),
    ],
)
def test_bad_input_names_column_and_row(frame, column, row):
    with pytest.raises(InvalidInteractions) as error:
        validate_interactions(frame)
    assert error.value.column == column and error.value.where == (f"row {row}" if row else None)
    assert f"'{column}'" in str(error.value)
    if row:
        assert f"row {row}" in str(error.value)


def test_event_weights_and_quantity():
    frame = lines(kind=["purchase", "view", "cart", "purchase"], quantity=[3, 1, 1, 1])
    matrix, vocabulary, _ = prepare(frame, Preparation(quantity="linear"))
    assert weight(matrix, vocabulary, "u1", "p1") == pytest.approx(3.0)
    assert weight(matrix, vocabulary, "u1", "p2") == pytest.approx(0.1)
    assert weight(matrix, vocabulary, "u2", "p1") == pytest.approx(0.3)
    matrix, vocabulary, _ = prepare(frame, Preparation(quantity="log"))
    assert weight(matrix, vocabulary, "u1", "p1") == pytest.approx(np.log1p(3.0), rel=1e-5)


def test_recency_decay_halves_per_half_life():
    matrix, vocabulary, _ = prepare(lines(), Preparation(half_life_days=10))
    assert weight(matrix, vocabulary, "u3", "p3") == pytest.approx(1.0)
    assert weight(matrix, vocabulary, "u2", "p1") == pytest.approx(0.5)
    assert weight(matrix, vocabulary, "u1", "p1") == pytest.approx(0.125)


def test_returns_and_cancellations_are_removed():
    frame = lines(quantity=[1, -1, 1, 1], order_id=["1", "2", "C3", "4"])
    _, vocabulary, kept = prepare(frame, Preparation())
    assert len(kept) == 2 and "u2" not in set(vocabulary.customers)
    _, _, kept = prepare(frame, Preparation(drop_returns=False))
    assert len(kept) == 4  # kept, and with quantity ignored a return counts like a purchase


def test_a_purchase_returned_whole_is_no_interaction_one_returned_in_part_stays():
    """Online Retail's 12346 bought £77,183.60 of one jar and cancelled it the same day: dropping the return kept
    the purchase, so they were recommended jars "because you bought" it. Returns cancel as for the audience."""
    frame = pd.DataFrame({
        "customer_id": ["12346", "12346", "u2", "u2", "u2", "u2"],
        "product_id": ["jar", "jar", "jar", "mug", "mug", "post"],
        "timestamp": ["2011-01-18 10:01", "2011-01-18 10:17", "2024-01-01", "2024-01-01", "2024-01-05", "2024-01-01"],
        "quantity": [74215, -74215, 1, 4, -1, 2],
        "amount": [77183.6, -77183.6, 1.0, 40.0, -10.0, 36.0],
        "kind": ["purchase", "return", "purchase", "purchase", "return", "purchase"],
    })  # fmt: skip
    _, vocabulary, kept = prepare(frame, Preparation())
    assert "12346" not in set(vocabulary.customers)
    assert kept[["customer_id", "product_id"]].values.tolist() == [["u2", "jar"], ["u2", "mug"], ["u2", "post"]]
    refunded = frame.assign(quantity=[1, 1, 1, 4, -4, 2], amount=[10.0, -2.0, 1.0, 40.0, -1.0, 36.0])
    _, vocabulary, kept = prepare(refunded, Preparation())  # partial refunds: the customer kept the product
    assert kept["product_id"].tolist() == ["jar", "jar", "mug", "post"]
    assert kept["quantity"].tolist() == pytest.approx([0.8, 1, 3.9, 2])  # £2 of £10 back: 0.2 of the unit


def test_an_order_id_starting_with_c_cancels_only_where_no_kind_is_given():
    """The UCI convention applied to every line: a shop whose order ids start with C ("CO-1001") had each purchase
    taken for a cancellation, and `tailor train` failed with no usable interactions left."""
    frame = lines(order_id=["CO-1", "CO-2", "co-3", "4"])
    _, _, kept = prepare(frame.assign(kind="purchase"), Preparation())
    assert len(kept) == 4
    _, _, kept = prepare(frame, Preparation())
    assert kept["order_id"].tolist() == ["4"]


def test_minimum_support():
    frame = lines(product_id=["p1", "p2", "p1", "p1"])
    _, vocabulary, _ = prepare(frame, Preparation(min_product_customers=2))
    assert list(vocabulary.products) == ["p1"]
    _, vocabulary, _ = prepare(frame, Preparation(min_customer_products=2))
    assert list(vocabulary.customers) == ["u1"]


def test_confidence_scaling():
    frame = lines(customer_id=["u1", "u1", "u1", "u2"], product_id=["p1", "p1", "p2", "p1"])
    matrix, vocabulary, _ = prepare(frame, Preparation(confidence="log"))
    assert weight(matrix, vocabulary, "u1", "p1") == pytest.approx(np.log1p(2.0), rel=1e-5)
    matrix, vocabulary, _ = prepare(frame, Preparation(confidence="bm25"))
    # p2 is rarer than p1, so a single purchase of it weighs more than one of p1 would.
    assert weight(matrix, vocabulary, "u1", "p2") > weight(matrix, vocabulary, "u2", "p1")
    assert (matrix.data > 0).all()


def test_nothing_left_is_an_error():
    with pytest.raises(InvalidInteractions, match="no usable interactions"):
        prepare(lines(quantity=[0, 0, 0, 0]), Preparation())


def test_positions_in_matches_get_indexer_with_absent_ids():
    index = pd.Index(["p3", "p1", "p2"], dtype=object)
    values = pd.Series(["p1", "p9", "p2", "p1", "p3", "p9"], dtype="str")
    assert positions_in(index, values).tolist() == index.get_indexer(values.astype(object)).tolist()
    assert positions_in(index, values).tolist() == [1, -1, 2, 1, 0, -1]
    assert positions_in(index, pd.Series([], dtype="str")).tolist() == []


def test_shared_lines_prepare_each_preparation_once_as_prepare_does():
    clean = validate_interactions(lines(kind=["purchase", "view", "cart", "purchase"], quantity=[2, 1, 1, 3]))
    ids = Vocabulary(pd.Index(["u1", "u2", "u3"]), pd.Index(["p1", "p2", "p3", "p4"]))  # p4: in no line
    shared = SharedLines(CodedLines.of(clean, ids))
    first = shared.prepared(Preparation(quantity="log"))
    assert shared.prepared(Preparation(quantity="log")) is first  # equal preparations share one result
    other = shared.prepared(Preparation())
    assert other is not first
    for prepared, prep in ((first, Preparation(quantity="log")), (other, Preparation())):
        matrix, vocabulary, kept = prepare(
            lines(kind=["purchase", "view", "cart", "purchase"], quantity=[2, 1, 1, 3]), prep
        )
        assert (prepared[0] != matrix).nnz == 0
        assert prepared[1].customers.equals(vocabulary.customers) and prepared[1].products.equals(vocabulary.products)
        assert prepared[2]["weight"].tolist() == kept["weight"].tolist()
        assert (prepared[3] != purchase_matrix(kept, vocabulary)).nnz == 0


def test_preparing_prepared_lines_again_copies_none_of_them_where_nothing_is_dropped():
    """The blend prepares its already prepared lines again for every training window and for its signals: a step
    that drops nothing copied every line all the same, three copies of the shop's history per preparation."""
    frame = lines(customer_id=["u1", "u1", "u2", "u2"], product_id=["p1", "p2", "p1", "p2"])
    _, _, prepared = prepare(frame, Preparation())
    assert drop_returned(prepared) is prepared
    assert apply_min_support(prepared, Preparation(min_product_customers=2, min_customer_products=2)) is prepared
    matrix, vocabulary, again = prepare_valid(prepared, Preparation())
    expected_matrix, expected_vocabulary, expected = prepare(frame, Preparation())
    assert (matrix != expected_matrix).nnz == 0 and vocabulary.customers.equals(expected_vocabulary.customers)
    pd.testing.assert_frame_equal(again, expected)
    # Where a step drops lines it still does, on a copy: the caller's lines are left as they were.
    returned = validate_interactions(lines(quantity=[1, -1, 1, 1]))
    assert drop_returned(returned)["product_id"].tolist() == ["p1", "p1", "p3"] and len(returned) == 4


def test_coded_lines_hold_no_id_strings_and_their_codes_sort_as_the_ids_do():
    """The blend copies its lines for every time window: with string ids each copy took ~110 bytes a line."""
    _, vocabulary, kept = prepare(
        lines(customer_id=["u10", "u9", "u10", "u2"], product_id=["b", "a", "c", "a"]), Preparation()
    )
    coded = CodedLines.of(kept, vocabulary)
    assert coded.frame["customer_id"].dtype == np.int32 and coded.frame["product_id"].dtype == np.int32
    assert coded.frame["kind"].dtype == "category"
    assert not any(pd.api.types.is_string_dtype(dtype) for dtype in coded.frame.dtypes if dtype != "category")
    ids = coded.customers[coded.frame["customer_id"].to_numpy()]
    assert ids.tolist() == kept["customer_id"].tolist()
    assert np.argsort(coded.frame["customer_id"], kind="stable").tolist() == np.argsort(ids, kind="stable").tolist()
    earlier = coded.where(coded.frame["timestamp"] < pd.Timestamp("2024-01-21"))
    assert len(earlier) == 2 and earlier.customers is coded.customers
