"""Orders in, per-customer order history out: validation of an orders frame and the summaries the models use.

An orders frame has one row per order line (``customer_id``, ``timestamp``, ``amount``, optional
``order_id``, ``product_id``, ``quantity``, ``category``, ``discount``: the amount taken off the line, 0 or empty
for none, ``amount`` being what was paid, and ``kind``: purchase, the default, or return, as ``tailor import
orders`` takes them; cart and view lines are no orders and are left out). Returns cancel the purchases they undo
(``audience/returns.py``) before any model sees the orders. Models look at whole orders, so lines are added up
per ``order_id`` (or per customer and timestamp when there is no order id). Buy-till-you-die models count
purchase *days*, as in Fader, Hardie & Lee (2005), so several orders on one day are one repeat purchase.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from audience.errors import InvalidOrders, NotEnoughHistory
from audience.returns import net_of_returns
from tabular import (
    RowName,
    data_row,
    first_inexact_id,
    first_position,
    how_many_more,
    id_strings,
    not_a_number,
    parse_dates,
)

REQUIRED_COLUMNS = ("customer_id", "timestamp", "amount")
KINDS = ("purchase", "return")
NOT_ORDERS = ("cart", "view")  # kinds an orders import also takes


def as_timestamp(as_of: date | str | pd.Timestamp) -> pd.Timestamp:
    """The as-of day as a midnight timestamp; history is everything strictly before it."""
    return pd.Timestamp(as_of).normalize()


def _unreadable(value: object, what: str) -> str:
    if pd.isna(value) or str(value).strip() == "":
        return "the cell is empty"
    return not_a_number(str(value)) if what == "a number" else f"'{value}' is not {what}"


def validate_orders(orders: pd.DataFrame, row_name: RowName = data_row) -> pd.DataFrame:
    """A clean copy of ``orders`` with string ids, datetime timestamps and float amounts, positive on purchase
    lines; an optional ``category`` becomes text ('' when empty), an optional ``discount`` a float (0 when
    empty), an optional ``quantity`` a float and an optional ``kind`` purchase (when empty) or return, the lines
    of other kinds an orders import takes (cart, view) being left out.

    Raises :class:`InvalidOrders` naming the column (and the first bad row, as ``row_name`` calls it: "row 1"
    for the frame's first row by default) when a required column is missing, a value (or, where the column is
    given, an ``order_id`` or ``product_id``) is empty or cannot be read, a kind is unknown, a purchase's amount is
    not positive (a return given as a negative purchase would make spend, CLV and order counts wrong: it is told to
    say ``kind`` return) or a discount is negative.
    """
    missing = [column for column in REQUIRED_COLUMNS if column not in orders.columns]
    if missing:
        raise InvalidOrders(
            f"the orders need the columns {', '.join(REQUIRED_COLUMNS)}; missing: {', '.join(missing)}",
            column=missing[0],
        )
    clean = orders.reset_index(drop=True).copy()
    if "kind" in clean.columns:
        clean["kind"] = _kinds(clean["kind"], row_name)
    ids = clean["customer_id"]
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        raise InvalidOrders(
            f"customer_id is empty{how_many_more(blank)}", column="customer_id", where=row_name(first_position(blank))
        )
    if lost := first_inexact_id(ids):
        raise InvalidOrders(lost[1], column="customer_id", where=row_name(lost[0]))
    clean["customer_id"] = id_strings(ids)
    for optional_id in ("order_id", "product_id"):
        if optional_id in clean.columns:
            _refuse_lines_without(optional_id, clean[optional_id], row_name)
    timestamps, order_problem = parse_dates(clean["timestamp"])
    if order_problem:
        raise InvalidOrders(
            order_problem.describe(row_name), column="timestamp", where=row_name(order_problem.position),
        )  # fmt: skip
    if timestamps.isna().any():
        row = first_position(timestamps.isna())
        raise InvalidOrders(
            _unreadable(clean["timestamp"].iloc[row], "a date or time"), column="timestamp", where=row_name(row)
        )
    clean["timestamp"] = timestamps.astype("datetime64[ns]")
    # Cart and view lines are left out below, read or not: their amount and quantity, often empty, are not checked.
    counted = clean["kind"].isin(KINDS) if "kind" in clean.columns else pd.Series(True, index=clean.index)
    amounts = pd.to_numeric(clean["amount"], errors="coerce")
    unreadable = (amounts.isna() | ~np.isfinite(amounts.fillna(0))) & counted
    if unreadable.any():
        row = first_position(unreadable)
        raise InvalidOrders(_unreadable(clean["amount"].iloc[row], "a number"), column="amount", where=row_name(row))
    purchase = clean["kind"] == "purchase" if "kind" in clean.columns else pd.Series(True, index=clean.index)
    if ((amounts <= 0) & purchase).any():
        row = first_position((amounts <= 0) & purchase)
        said = (
            "the amount is 0: a free line (a gift, a sample) holds no spend; leave it out of the orders"
            if amounts.iloc[row] == 0
            else f"the amount {amounts.iloc[row]:g} is not positive; give returns and cancellations the kind return "
            "(a column kind: purchase or return), or remove them from the orders"
        )  # "the amount 0 is 0" said the same thing twice
        raise InvalidOrders(said, column="amount", where=row_name(row))
    clean["amount"] = amounts.astype(float)
    if "quantity" in clean.columns:
        clean["quantity"] = _numbers(clean["quantity"], "quantity", row_name, counted)
        # as the orders import refuses it: a cancellation written as a purchase of -1 at its positive price (UCI's
        # C-invoices with the unit price as amount) counted as another order, the customer's latest
        not_bought = (clean["quantity"] <= 0) & purchase
        if not_bought.any():
            row = first_position(not_bought)
            raise InvalidOrders(
                f"the quantity {clean['quantity'].iloc[row]:g} of a purchase is not positive; give returns and "
                "cancellations the kind return (a column kind: purchase or return), and leave free items out",
                column="quantity",
                where=row_name(row),
            )
    for optional in ("order_id", "product_id"):
        if optional in clean.columns:
            clean[optional] = clean[optional].astype(str)
    if "category" in clean.columns:
        clean["category"] = clean["category"].fillna("").astype(str).str.strip()
    if "discount" in clean.columns:
        clean["discount"] = _discounts(clean["discount"], row_name)
    if "kind" in clean.columns:
        clean = clean[clean["kind"].isin(KINDS)].reset_index(drop=True)
    return clean


# What a line without its id is told to do: the column, where given, is on every line, as `tailor import orders` asks.
_GIVE_THE_ID = {
    "order_id": "give each line the id of its order (the lines of one order share it), or leave the column out to "
    "take a customer's lines at one moment for one order",
    "product_id": "give each line the id of its product (its sku, as the products name it), or leave the column out "
    "(the models then go without the products' features, and a return comes off its customer's spend evenly)",
}


def _refuse_lines_without(column: str, ids: pd.Series, row_name: RowName) -> None:
    """Raises naming the first line, of any kind, whose ``column`` (``order_id`` or ``product_id``) is empty, as
    ``tailor import orders`` refuses it. A line of no order was left out of frequency, monetary value and the churn
    model's orders while BG/NBD counted its purchase day; a line of no product was left out of its customer's
    distinct products and the products' come-back rates, and a return of no product cancelled a purchase of no
    product as though they were one product."""
    blank = ids.isna() | (ids.astype(str).str.strip() == "")
    if blank.any():
        raise InvalidOrders(
            f"{column} is empty{how_many_more(blank)}; {_GIVE_THE_ID[column]}",
            column=column,
            where=row_name(first_position(blank)),
        )


def _kinds(values: pd.Series, row_name: RowName) -> pd.Series:
    """Kinds in lower case, purchase where the cell is empty; raises naming the first kind no import takes."""
    kinds = values.astype("string").str.strip().str.lower().fillna("").replace("", "purchase")
    unknown = ~kinds.isin((*KINDS, *NOT_ORDERS))
    if unknown.any():
        row = first_position(unknown)
        raise InvalidOrders(
            f"'{values.iloc[row]}' is not a kind of order line: give {', '.join((*KINDS, *NOT_ORDERS))}",
            column="kind",
            where=row_name(row),
        )
    return kinds.astype(object)


def _numbers(values: pd.Series, column: str, row_name: RowName, counted: pd.Series) -> pd.Series:
    """Floats; raises naming the first empty or unreadable cell among the ``counted`` lines."""
    numbers = pd.to_numeric(values, errors="coerce")
    unreadable = (numbers.isna() | ~np.isfinite(numbers.fillna(0))) & counted
    if unreadable.any():
        row = first_position(unreadable)
        raise InvalidOrders(_unreadable(values.iloc[row], "a number"), column=column, where=row_name(row))
    return numbers.astype(float)


def _discounts(values: pd.Series, row_name: RowName) -> pd.Series:
    """Discounts as floats, 0 where the cell is empty; raises naming the first unreadable or negative one."""
    empty = values.isna() | (values.astype(str).str.strip() == "")
    discounts = pd.to_numeric(values.where(~empty, 0), errors="coerce")
    unreadable = discounts.isna() | ~np.isfinite(discounts.fillna(0))
    if unreadable.any():
        row = first_position(unreadable)
        raise InvalidOrders(_unreadable(values.iloc[row], "a number"), column="discount", where=row_name(row))
    if (discounts < 0).any():
        row = first_position(discounts < 0)
        raise InvalidOrders(
            f"the discount {discounts.iloc[row]:g} is negative; give the amount taken off the line (0 for none)",
            column="discount",
            where=row_name(row),
        )
    return discounts.astype(float)


# In the attrs of orders_before's lines: the customers it left out, their returns cancelling all they bought.
RETURNED_WHOLE = "returned_whole"


def orders_before(orders: pd.DataFrame, as_of: date | str | pd.Timestamp, row_name: RowName = data_row) -> pd.DataFrame:
    """Validated purchase lines placed before the as-of day, less what the returns made before it cancel
    (``audience.returns.net_of_returns``; problems name rows by ``row_name``); raises when there are none. Their
    ``attrs[RETURNED_WHOLE]`` names the customers left out, whose returns cancel all they bought."""
    return lines_before(validate_orders(orders, row_name), as_of)


def lines_before(clean: pd.DataFrame, as_of: date | str | pd.Timestamp) -> pd.DataFrame:
    """:func:`orders_before` of lines :func:`validate_orders` gave, not validated again (1.9 s of a 100,000-customer
    shop's segment KPIs went to validating its 1.6 million lines a second time)."""
    history = clean[clean["timestamp"] < as_timestamp(as_of)]
    returned_whole: list[str] = []  # customers who bought, whose returns cancel all of it: no line is left them
    if "kind" in history.columns:
        returned = history["kind"] == "return"
        # unique ids compared, not sets of every line's id (1 s each for a million lines)
        bought = pd.Index(history.loc[~returned, "customer_id"].unique())
        history = net_of_returns(history[~returned], history[returned]).drop(columns="kind")
        returned_whole = sorted(bought.difference(history["customer_id"].unique()))
    if clean.empty:  # a later date cannot help
        raise NotEnoughHistory("There are no orders: the orders hold no line to learn from.")
    if history.empty:
        raise NotEnoughHistory(_no_history(clean, as_timestamp(as_of), returned_whole))
    history.attrs[RETURNED_WHOLE] = returned_whole
    return history


def _no_history(clean: pd.DataFrame, as_of: pd.Timestamp, returned_whole: list[str]) -> str:
    """Why no purchase is left before ``as_of``: a later day helps only where purchases come after it (a file of
    returns alone was told to choose one)."""
    purchases = clean[clean["kind"] != "return"] if "kind" in clean.columns else clean
    if purchases.empty:
        return "There are no orders: the lines are all returns or cancellations, and a return is no purchase."
    if returned_whole:
        shown = ", ".join(returned_whole[:20]) + (", …" if len(returned_whole) > 20 else "")
        return (
            f"There are no orders before {as_of.date()} left to learn from: the returns cancel every purchase "
            f"({len(returned_whole):,} customer{'s' if len(returned_whole) != 1 else ''}: {shown})."
        )
    return (
        f"There are no orders before {as_of.date()}; choose a later as-of date "
        f"(the orders start on {purchases['timestamp'].min().date()})."
    )


def to_orders(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per order: ``customer_id, order_id, timestamp, amount, n_lines`` (lines of an order added up),
    and ``discounted`` (whether any line had a discount) when the lines carry ``discount``."""
    return _order_rollup(lines, by_day=False)


def order_days(lines: pd.DataFrame) -> pd.DataFrame:
    """:func:`to_orders` per order and day (a ``day`` column added): one row per order unless its lines lie on
    several days. The orders before a midnight are then a filter on ``day``, however many midnights are asked."""
    return _order_rollup(lines, by_day=True)


def _order_rollup(lines: pd.DataFrame, by_day: bool) -> pd.DataFrame:
    keyed = lines.assign(order_id=lines["order_id"] if "order_id" in lines.columns else lines["timestamp"].astype(str))
    aggregates = {"timestamp": ("timestamp", "min"), "amount": ("amount", "sum"), "n_lines": ("amount", "size")}
    if "discount" in keyed.columns:
        keyed = keyed.assign(discounted=keyed["discount"] > 0)
        aggregates["discounted"] = ("discounted", "max")
    keys = ["customer_id", "order_id"]
    if by_day:
        keyed, keys = keyed.assign(day=keyed["timestamp"].dt.normalize()), [*keys, "day"]
    return keyed.groupby(keys, sort=False).agg(**aggregates).reset_index()


def purchase_days(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per customer and day with a purchase: ``customer_id, day, amount``, sorted by customer and day."""
    days = lines.assign(day=lines["timestamp"].dt.normalize())
    return days.groupby(["customer_id", "day"], sort=True)["amount"].sum().reset_index()


def btyd_summary(lines: pd.DataFrame, as_of: date | str | pd.Timestamp, unit_days: float = 1.0) -> pd.DataFrame:
    """Frequency/recency/T per customer, as BG/NBD and Gamma-Gamma take them.

    ``frequency`` = repeat purchase days, ``recency`` = time from first to last purchase day, ``T`` = time from
    first purchase day to the as-of day, both in units of ``unit_days`` days; ``monetary`` = mean spend of the
    repeat purchase days (0 without repeats), ``first``/``last`` = first and last purchase day.
    """
    end = as_timestamp(as_of)
    return btyd_summary_of_days(purchase_days(lines[lines["timestamp"] < end]), end, unit_days)


def btyd_summary_of_days(days: pd.DataFrame, as_of: date | str | pd.Timestamp, unit_days: float = 1.0) -> pd.DataFrame:
    """:func:`btyd_summary` from :func:`purchase_days` rows, all before ``as_of``."""
    end = as_timestamp(as_of)
    grouped = days.groupby("customer_id", sort=True)
    # each reduction on its own: named aggregations took twice as long (a churn model takes this at many cutoffs)
    summary = pd.DataFrame(
        {"first": grouped["day"].min(), "last": grouped["day"].max(), "n_days": grouped.size(),
         "total": grouped["amount"].sum()}
    )  # fmt: skip
    first_amount = grouped["amount"].first()
    summary["frequency"] = summary["n_days"] - 1
    summary["recency"] = (summary["last"] - summary["first"]).dt.days / unit_days
    summary["T"] = (end - summary["first"]).dt.days / unit_days
    repeats = summary["frequency"]
    summary["monetary"] = np.where(repeats > 0, (summary["total"] - first_amount) / repeats.clip(lower=1), 0.0)
    return summary[["frequency", "recency", "T", "monetary", "first", "last"]]
