"""Order lines as the audience models read them (audience.orders): bad columns, values and rows named, ids as
strings, nothing after the as-of day."""

import re

import pandas as pd
import pytest

from audience.errors import InvalidOrders, NotEnoughHistory
from audience.orders import btyd_summary, orders_before, to_orders, validate_orders


def test_missing_column_is_named():
    with pytest.raises(InvalidOrders, match="column 'amount'"):
        validate_orders(pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"]}))


def test_an_amount_written_with_a_decimal_comma_is_refused_saying_how_to_write_it():
    """`tailor import` said how to write 4,99; `tailor audience --orders`, reading with its own reader, did not."""
    frame = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-01"] * 2, "amount": ["5", "4,99"]})
    with pytest.raises(InvalidOrders) as refused:
        validate_orders(frame)
    assert "'4,99' is not a number: write it with a point for decimals and no thousands separator" in str(refused.value)
    assert "row 2, column 'amount'" in str(refused.value)


def test_bad_values_name_row_and_column():
    frame = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "timestamp": ["2024-01-01", "yesterday", "2024-01-03"], "amount": [1, 2, 3]}
    )
    with pytest.raises(InvalidOrders, match="row 2, column 'timestamp'"):
        validate_orders(frame)
    frame["timestamp"] = "2024-01-01"
    frame["amount"] = ["1", "2", "ten"]
    with pytest.raises(InvalidOrders, match="row 3, column 'amount'"):
        validate_orders(frame)
    frame["amount"] = 1.0
    frame.loc[0, "customer_id"] = " "
    with pytest.raises(InvalidOrders, match="row 1, column 'customer_id'"):
        validate_orders(frame)


@pytest.mark.parametrize("column", ["timestamp", "amount"])
def test_empty_cells_are_called_empty(column):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-01", "2024-01-02"], "amount": [1.0, 2.0]})
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = None
    with pytest.raises(InvalidOrders, match=f"row 2, column '{column}': the cell is empty$"):
        validate_orders(frame)


@pytest.mark.parametrize(
    ("amount", "said"),
    [
        (-3.5, "-3.5 is not positive; give returns and cancellations the kind return"),
        (0.0, "is 0: a free line"),  # a gift's line was told to be marked a return; once "the amount 0 is 0"
    ],
)
def test_returns_cancellations_and_free_lines_are_rejected_by_row(amount, said):
    frame = pd.DataFrame(
        {"customer_id": ["a", "a", "b"], "timestamp": ["2024-01-01"] * 3, "amount": [10.0, amount, 4.0]}
    )
    with pytest.raises(InvalidOrders, match=f"row 2, column 'amount': the amount {re.escape(said)}"):
        validate_orders(frame)


@pytest.mark.parametrize("quantity", [-1.0, 0.0])
def test_a_purchase_of_no_positive_quantity_is_rejected_by_row(quantity):
    """A UCI cancellation (quantity -1, its unit price as the amount, no kind) was read as another purchase: the
    customer's latest order, as `tailor import orders` refuses it."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "timestamp": ["2024-01-01", "2024-01-02", "2024-01-01"],
            "amount": [5.0, 5.0, 4.0],
            "quantity": [1.0, quantity, 2.0],
            "order_id": ["536365", "C536366", "536367"],
        }
    )
    with pytest.raises(
        InvalidOrders, match=f"row 2, column 'quantity': the quantity {quantity:g} of a purchase is not"
    ):
        validate_orders(frame)
    frame["kind"] = ["purchase", "return", "purchase"]  # said to be a return, it is taken off the purchase it undoes
    assert list(validate_orders(frame)["quantity"]) == [1.0, quantity, 2.0]


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_line_without_its_order_id_is_refused_by_its_row(blank):
    """A line whose order_id was empty belonged to no order: it was left out of the customer's frequency and
    monetary value (and the churn model's orders) but counted in BG/NBD's purchase days, where `tailor import
    orders` refuses it as empty. Lines of other kinds are refused too, as the import refuses them."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "order_id": ["1", "2", "3", "4"],
            "timestamp": ["2024-01-01", "2024-02-01", "2024-01-01", "2024-01-02"],
            "amount": [10.0, 20.0, 5.0, 6.0],
            "kind": ["purchase", "purchase", "purchase", "view"],
        }
    )
    frame.loc[1, "order_id"] = blank
    with pytest.raises(InvalidOrders, match=r"^row 2, column 'order_id': order_id is empty; give each line"):
        validate_orders(frame)
    frame.loc[3, "order_id"] = blank
    with pytest.raises(InvalidOrders, match=r"row 2, column 'order_id': order_id is empty \(2 lines have none\)"):
        validate_orders(frame)


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_line_without_its_product_id_is_refused_by_its_row(blank):
    """A line whose product_id was empty was taken by `tailor audience --orders`: left out of its customer's distinct
    products and of the products' come-back rates, and a return without one cancelled a purchase without one as
    though it were the same product, where `tailor import orders` refuses it as empty. Lines of other kinds are
    refused too, as the import refuses them."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b"],
            "order_id": ["1", "2", "3", "4"],
            "product_id": ["p", "q", "p", "q"],
            "timestamp": ["2024-01-01", "2024-02-01", "2024-01-01", "2024-01-02"],
            "amount": [10.0, 20.0, 5.0, 6.0],
            "kind": ["purchase", "purchase", "purchase", "view"],
        }
    )
    frame.loc[1, "product_id"] = blank
    with pytest.raises(InvalidOrders, match=r"^row 2, column 'product_id': product_id is empty; give each line"):
        validate_orders(frame)
    frame.loc[3, "product_id"] = blank
    with pytest.raises(InvalidOrders, match=r"row 2, column 'product_id': product_id is empty \(2 lines have none\)"):
        validate_orders(frame)
    frame["product_id"] = ["p", "q", "p", "q"]
    assert list(validate_orders(frame)["product_id"]) == ["p", "q", "p"]  # the view left out, as before


def test_an_id_a_spreadsheet_saved_in_scientific_notation_is_refused_by_its_row():
    """`tailor audience --orders` scored customer "1.23457E+16", an id the shop does not have."""
    frame = pd.DataFrame({"customer_id": ["a", "1.23457E+16"], "timestamp": ["2024-01-01"] * 2, "amount": [1, 2]})
    with pytest.raises(InvalidOrders, match=r"row 2, column 'customer_id': '1.23457E\+16' has lost digits"):
        validate_orders(frame)
    frame["customer_id"] = [2.0**60, 3.0]  # floats past the whole numbers a float holds exactly
    with pytest.raises(InvalidOrders, match=r"row 1, column 'customer_id': '1.152921504606847e\+18' has lost"):
        validate_orders(frame)


def test_ids_become_strings():
    frame = pd.DataFrame({"customer_id": [17850.0], "timestamp": ["2024-01-01 10:00"], "amount": ["3.5"]})
    clean = validate_orders(frame)
    assert clean.customer_id.tolist() == ["17850"]
    assert clean.amount.tolist() == [3.5]


def test_no_history_before_as_of():
    frame = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-05-01"], "amount": [1.0]})
    with pytest.raises(NotEnoughHistory, match="no orders before 2024-01-01"):
        orders_before(frame, "2024-01-01")


def test_lines_add_up_to_orders():
    lines = validate_orders(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a"],
                "order_id": ["1", "1", "2"],
                "timestamp": ["2024-01-01", "2024-01-01", "2024-01-05"],
                "amount": [2.0, 3.0, 7.0],
            }
        )
    )
    orders = to_orders(lines).set_index("order_id")
    assert orders.amount.to_dict() == {"1": 5.0, "2": 7.0}
    assert orders.n_lines.to_dict() == {"1": 2, "2": 1}


def test_optional_category_and_discount_are_cleaned():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "order_id": ["1", "1", "2"],
            "timestamp": ["2024-01-01"] * 3,
            "amount": [2.0, 3.0, 7.0],
            "category": [" Tea ", None, "Coffee"],
            "discount": ["0.5", "", None],
        }
    )
    lines = validate_orders(frame)
    assert lines.category.tolist() == ["Tea", "", "Coffee"]
    assert lines.discount.tolist() == [0.5, 0.0, 0.0]
    assert to_orders(lines).set_index("order_id").discounted.to_dict() == {"1": True, "2": False}


@pytest.mark.parametrize(
    ("discount", "message"), [("-2", "the discount -2 is negative"), ("ten", "'ten' is not a number")]
)
def test_bad_discounts_name_row_and_column(discount, message):
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "timestamp": ["2024-01-01"] * 2, "amount": [5.0, 6.0], "discount": ["1", discount]}
    )
    with pytest.raises(InvalidOrders, match=f"row 2, column 'discount': {message}"):
        validate_orders(frame)


def test_btyd_summary_counts_repeat_days():
    lines = validate_orders(
        pd.DataFrame(
            {
                "customer_id": ["a", "a", "a", "a", "b"],
                "timestamp": ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-08", "2024-01-15", "2024-01-10"],
                "amount": [5.0, 5.0, 20.0, 30.0, 9.0],
            }
        )
    )
    summary = btyd_summary(lines, "2024-01-22", unit_days=7)
    assert summary.loc["a", ["frequency", "recency", "T", "monetary"]].tolist() == [2, 2.0, 3.0, 25.0]
    assert summary.loc["b", ["frequency", "recency", "monetary"]].tolist() == [0, 0.0, 0.0]
