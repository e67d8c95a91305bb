"""Which purchase lines a shop's returns undo: one rule for the audience models and the recommenders.

A return line cancels purchase lines of the same customer and product placed at most ``RETURN_WINDOW_DAYS`` days
before it, those it fits first (the same quantity for the same amount: the line sent back; each return's fitting
line is matched before any return takes lines it does not fit), then the latest first, up to its quantity (its
amount when the lines carry no quantity) and never for more than it credited. A mug bought at £10.00, again at £6.00
in a sale, and £10.00 back: the first is undone, not the sale's (Online Retail's 14409 ordered 72 at £2.10, 96 at
£1.85 three minutes later, and cancelled the 72: latest first, 72 of the 96 were undone and the cancelled order
stood). A return of 2 postage units with £6 credited undoes £6 of a £36 postage line (a third of a unit at £18), not
the line (Online Retail's partial refunds, 37 of them, credit under half a unit's price). A return with no amount
(0) says nothing of its credit: its quantity alone is matched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Half of Online Retail's returns come within 9 days of the latest purchase of their product, 79 % within 30; a
# return period of a month is also what most shops give.
RETURN_WINDOW_DAYS = 30
# What is left of a line below this share of it is nothing (float residue of matching amounts).
NOTHING_LEFT = 1e-9
# Amounts closer than this are one amount: a return of a line's quantity for its amount is that line sent back.
HALF_A_CENT = 0.005


def _sizes(lines: pd.DataFrame, column: str) -> np.ndarray:
    return np.abs(pd.to_numeric(lines[column], errors="coerce").fillna(0.0).to_numpy(dtype=float))


def match_returns(
    purchases: pd.DataFrame, returns: pd.DataFrame, window_days: float = RETURN_WINDOW_DAYS
) -> tuple[np.ndarray, np.ndarray]:
    """The share of each purchase line that no return undoes (1 kept whole, 0 cancelled whole), and the credit
    of each return that undid no purchase (what it credited beyond the purchases it matched), as the module
    docstring says. Both frames have ``customer_id``, ``timestamp`` and ``amount``, with ``product_id`` and
    ``quantity`` where known; a return's amount and quantity may be negative."""
    by_quantity = "quantity" in purchases.columns and "quantity" in returns.columns
    measure = "quantity" if by_quantity else "amount"
    bought, paid = _sizes(purchases, measure), _sizes(purchases, "amount")
    returned_whole, credited_whole = _sizes(returns, measure), _sizes(returns, "amount")
    purchase_left, return_left, credit_left = bought.copy(), returned_whole.copy(), credited_whole.copy()
    # the price of one unit of the measure: £ per unit by quantity, 1 by amount; 0 where the line has no amount
    unit_price = np.divide(paid, bought, out=np.zeros_like(paid), where=bought > 0)
    if "product_id" in purchases.columns and "product_id" in returns.columns and len(purchases) and len(returns):
        pairs = _pairs(purchases, returns, window_days)
        at_return, at_purchase = pairs["returned"].to_numpy(), pairs["bought"].to_numpy()
        pairs["fits"] = _fits(
            returned_whole[at_return], bought[at_purchase], credited_whole[at_return], paid[at_purchase]
        )
        for returned, purchase in _in_matching_order(pairs):
            price, credit = unit_price[purchase], credit_left[returned]
            # a return with no amount, or a purchase with none, is matched by its quantity alone
            credited = credit / price if price > 0 and credited_whole[returned] > 0 else np.inf
            taken = min(return_left[returned], purchase_left[purchase], credited)
            return_left[returned] -= taken
            purchase_left[purchase] -= taken
            credit_left[returned] = max(credit - taken * price, 0.0)
    kept_share = np.divide(purchase_left, bought, out=np.ones_like(bought), where=bought > 0)
    kept_share[kept_share <= NOTHING_LEFT] = 0.0
    credit_left[credit_left <= NOTHING_LEFT * credited_whole] = 0.0
    return kept_share, credit_left


def uncancelled(purchases: pd.DataFrame, returns: pd.DataFrame, window_days: float = RETURN_WINDOW_DAYS) -> np.ndarray:
    """Per purchase line, whether any of it is left once ``returns`` are matched (``match_returns``): a line the
    returns cancel whole is no purchase, for the models or for what a customer counts as having bought."""
    if not len(purchases) or not len(returns):
        return np.ones(len(purchases), dtype=bool)
    kept_share, _ = match_returns(purchases, returns, window_days)
    return kept_share > 0


def _pairs(purchases: pd.DataFrame, returns: pd.DataFrame, window_days: float) -> pd.DataFrame:
    """The (return, purchase) pairs of the same customer and product, the purchase at most ``window_days`` before
    the return: their positions (``returned``, ``bought``) and times (``timestamp``, ``timestamp_bought``)."""
    keys = ["customer_id", "product_id"]
    candidates = purchases[keys + ["timestamp"]].assign(bought=np.arange(len(purchases)))
    candidates = candidates[candidates["customer_id"].isin(returns["customer_id"].unique())]  # a few of many lines
    pairs = (
        returns[[*keys, "timestamp"]]
        .assign(returned=np.arange(len(returns)))
        .merge(candidates, on=keys, suffixes=("", "_bought"))
    )
    before = pairs["timestamp"] - pairs["timestamp_bought"]
    return pairs[(before >= pd.Timedelta(0)) & (before <= pd.Timedelta(days=window_days))].copy()


def _fits(returned: np.ndarray, bought: np.ndarray, credited: np.ndarray, paid: np.ndarray) -> np.ndarray:
    """Per pair, whether the return is its purchase line sent back whole: the same size (quantity, or amount where
    the lines carry no quantity) and, where both name an amount, the same amount to the cent: the same unit price."""
    same_size = np.isclose(returned, bought, rtol=1e-9, atol=0.0)
    unpriced = (credited == 0) | (paid == 0)
    return same_size & (unpriced | (np.abs(credited - paid) < HALF_A_CENT))


def _in_matching_order(pairs: pd.DataFrame) -> zip:
    """(return, purchase) positions of ``pairs``: first every pair whose return ``fits`` its purchase, returns in
    the order they were made, so that a return that is a line sent back gets that line even where an earlier return
    fitting no line would have taken part of it; then every pair, returns in the order they were made, each with the
    purchases it fits first, then the latest purchase first (the last line first among lines of one moment), for
    what the first pass left."""
    order = ["timestamp", "returned", "fits", "timestamp_bought", "bought"]
    pairs = pairs.sort_values(order, ascending=[True, True, False, False, False])
    in_order = pd.concat([pairs[pairs["fits"]], pairs])
    return zip(in_order["returned"].to_numpy(), in_order["bought"].to_numpy(), strict=True)
