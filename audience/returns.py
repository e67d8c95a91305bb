"""Returns and cancellations set against the purchases they undo, before the audience models read the orders.

A return line cancels purchase lines as ``tabular.returns`` matches them (the recommenders use the same rule): of
the same customer and product placed at most ``RETURN_WINDOW_DAYS`` days before it, a line of its quantity for its
amount first (that line sent back), then the latest first, up to its quantity (its amount when the lines carry no
quantity) and never for more than it credited. A purchase line cancelled whole is left out, one cancelled in part
keeps its amount less what was credited for it; so an order whose lines are all cancelled is no order, and counts
for no recency, frequency or spend (on Online Retail, 16446's £168,469.60 order cancelled 12 minutes later made them
a "potential loyalist" who ordered a day ago), and a partial refund takes off what it credited, not the line
(12463's £6 back on £36 of postage).

What a return credits of no purchase (no product named, none bought in the window, more than was bought or paid)
still comes off the customer's spend, evenly over their lines as it always did, but leaves their orders: it names no
order it undoes. Spend taken below nothing keeps the orders at a nominal value (Online Retail's 14063 ordered 7 times
for £9,471, then got £13,239 of credit notes for orders of more than 30 days before: they were left with no order,
so no segment and no campaign, not even a win-back).
"""

from __future__ import annotations

import pandas as pd

from tabular.returns import RETURN_WINDOW_DAYS, match_returns

# What is left of a customer's amounts when returns that matched no purchase took more than all they spent: their
# orders stay, at a nominal value (a purchase line's amount is positive wherever the orders are read).
NOMINAL_SHARE = 1e-9
# Less than a cent is no spend: a customer whose mean order is below it returned what they paid (the nominal
# amounts above), and is left out of the spend model's fit and expected to spend nothing an order.
LEAST_SPEND = 0.01


def net_of_returns(
    purchases: pd.DataFrame, returns: pd.DataFrame, window_days: float = RETURN_WINDOW_DAYS
) -> pd.DataFrame:
    """``purchases`` (order lines: ``customer_id``, ``timestamp``, ``amount``, with ``product_id`` and
    ``quantity`` where known) less what ``returns`` (lines of the same columns; amounts and quantities may be
    negative) undo, as the module docstring says: lines cancelled whole are left out, lines cancelled in part
    keep the share kept of their amount, and what was credited beyond the purchases matched shrinks the
    customer's amounts evenly (to ``NOMINAL_SHARE`` of them at most: the lines stay)."""
    if returns.empty or purchases.empty:
        return purchases
    purchases, returns = purchases.reset_index(drop=True), returns.reset_index(drop=True)
    kept_share, unmatched = match_returns(purchases, returns, window_days)
    kept = purchases.assign(amount=purchases["amount"] * kept_share)[kept_share > 0]
    unmatched = pd.Series(unmatched).groupby(returns["customer_id"].to_numpy()).sum()
    spent = kept.groupby("customer_id")["amount"].sum()
    share = (1.0 - unmatched.reindex(spent.index, fill_value=0.0) / spent).clip(lower=NOMINAL_SHARE, upper=1.0)
    netted = kept.assign(amount=kept["amount"] * kept["customer_id"].map(share).to_numpy())
    return netted.reset_index(drop=True)
