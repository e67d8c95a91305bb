"""Returns and cancellations set against the purchases they undo, before the audience models read the orders.

A return line cancels purchase lines of the same customer and product placed at most ``RETURN_WINDOW_DAYS`` days
before it, the latest first, up to its quantity (its amount when the lines carry no quantity). A purchase line
cancelled whole is left out, one cancelled in part keeps the share of its amount that was kept; so an order whose
lines are all cancelled is no order, and counts for no recency, frequency or spend (on Online Retail, 16446's
£168,469.60 order cancelled 12 minutes later made them a "potential loyalist" who ordered a day ago).

What a return cancels of no purchase (no product named, none bought in the window, more than was bought) still
comes off the customer's spend, evenly over their lines as it always did, but leaves their orders: it names no
order it undoes. Spend taken below nothing keeps the orders at a nominal value (Online Retail's 14063 ordered 7 times
for £9,471, then got £13,239 of credit notes for orders of more than 30 days before: they were left with no order,
so no segment and no campaign, not even a win-back).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Half of Online Retail's returns come within 9 days of the latest purchase of their product, 79 % within 30; a
# return period of a month is also what most shops give.
RETURN_WINDOW_DAYS = 30
# What is left of a customer's amounts when returns that matched no purchase took more than all they spent: their
# orders stay, at a nominal value (a purchase line's amount is positive wherever the orders are read).
NOMINAL_SHARE = 1e-9
# Less than a cent is no spend: a customer whose mean order is below it returned what they paid (the nominal
# amounts above), and is left out of the spend model's fit and expected to spend nothing an order.
LEAST_SPEND = 0.01


def _measure(lines: pd.DataFrame, by_quantity: bool) -> np.ndarray:
    column = lines["quantity"] if by_quantity else lines["amount"]
    return np.abs(pd.to_numeric(column, errors="coerce").fillna(0.0).to_numpy(dtype=float))


def _cancel(purchases: pd.DataFrame, returns: pd.DataFrame, window_days: float, by_quantity: bool):
    """How much of each purchase line (in its measure) is left, and how much of each return matched nothing."""
    purchase_left, return_left = _measure(purchases, by_quantity), _measure(returns, by_quantity)
    if "product_id" not in purchases.columns or "product_id" not in returns.columns:
        return purchase_left, return_left
    keys = ["customer_id", "product_id"]
    pairs = (
        returns[[*keys, "timestamp"]]
        .assign(returned=np.arange(len(returns)))
        .merge(
            purchases[[*keys, "timestamp"]].assign(bought=np.arange(len(purchases))), on=keys, suffixes=("", "_bought")
        )
    )
    before = pairs["timestamp"] - pairs["timestamp_bought"]
    pairs = pairs[(before >= pd.Timedelta(0)) & (before <= pd.Timedelta(days=window_days))]
    # Returns in the order they were made, each taking from the latest purchase it can undo.
    order = ["timestamp", "returned", "timestamp_bought", "bought"]
    pairs = pairs.sort_values(order, ascending=[True, True, False, False])
    for returned, bought in zip(pairs["returned"].to_numpy(), pairs["bought"].to_numpy(), strict=True):
        taken = min(return_left[returned], purchase_left[bought])
        return_left[returned] -= taken
        purchase_left[bought] -= taken
    return purchase_left, return_left


def net_of_returns(
    purchases: pd.DataFrame, returns: pd.DataFrame, window_days: float = RETURN_WINDOW_DAYS
) -> pd.DataFrame:
    """``purchases`` (order lines: ``customer_id``, ``timestamp``, ``amount``, with ``product_id`` and
    ``quantity`` where known) less what ``returns`` (lines of the same columns; amounts and quantities may be
    negative) undo, as the module docstring says: lines cancelled whole are left out, lines cancelled in part
    keep the share kept of their amount, and what no purchase matched shrinks the customer's amounts evenly (to
    ``NOMINAL_SHARE`` of them at most: the lines stay)."""
    if returns.empty or purchases.empty:
        return purchases
    purchases, returns = purchases.reset_index(drop=True), returns.reset_index(drop=True)
    by_quantity = "quantity" in purchases.columns and "quantity" in returns.columns
    bought = _measure(purchases, by_quantity)
    purchase_left, return_left = _cancel(purchases, returns, window_days, by_quantity)
    kept_share = np.divide(purchase_left, bought, out=np.ones_like(bought), where=bought > 0)
    kept = purchases.assign(amount=purchases["amount"] * kept_share)[kept_share > 1e-9]
    returned = _measure(returns, by_quantity=False)
    whole = _measure(returns, by_quantity)
    unmatched = returned * np.divide(return_left, whole, out=np.zeros_like(whole), where=whole > 0)
    unmatched = pd.Series(unmatched).groupby(returns["customer_id"].to_numpy()).sum()
    spent = kept.groupby("customer_id")["amount"].sum()
    share = (1.0 - unmatched.reindex(spent.index, fill_value=0.0) / spent).clip(lower=NOMINAL_SHARE, upper=1.0)
    netted = kept.assign(amount=kept["amount"] * kept["customer_id"].map(share).to_numpy())
    return netted.reset_index(drop=True)
