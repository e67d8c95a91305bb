"""The demo shop's discounts: a voucher (10, 15 or 20 % off every line) on some orders.

A minority of deal seekers redeem one on most of their orders and everyone else now and then, so the shop has
discount-driven and full-price customers for the clusters to tell apart. Deal seekers are commonest among gift
buyers and rarest among coffee lovers, who re-order on a cycle whatever the price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEAL_SEEKER_SHARE = {
    "gift_buyer": 0.6, "host": 0.25, "cosy_home": 0.2, "home_cook": 0.1, "tea_lover": 0.1, "coffee_lover": 0.05,
}  # fmt: skip
DEAL_SEEKER_VOUCHER_CHANCE = 0.7  # per order
VOUCHER_CHANCE = 0.05  # per order, for everyone else
VOUCHER_RATES = np.array([0.10, 0.15, 0.20])


def apply_discounts(rng: np.random.Generator, orders: pd.DataFrame, customers: pd.DataFrame) -> pd.DataFrame:
    """``orders`` (every interaction) with a ``discount`` column: the voucher's amount on each purchase line of
    a vouchered order, taken off its ``amount`` (which stays what was paid), else 0. ``customers`` carry the
    hidden ``_persona``."""
    seeking = rng.random(len(customers)) < customers["_persona"].map(DEAL_SEEKER_SHARE).to_numpy()
    deal_seekers = customers.loc[seeking, "customer_id"]
    purchase = orders["kind"] == "purchase"
    order_ids = orders.loc[purchase].drop_duplicates("order_id")
    chance = np.where(order_ids["customer_id"].isin(deal_seekers), DEAL_SEEKER_VOUCHER_CHANCE, VOUCHER_CHANCE)
    vouchered = order_ids.loc[rng.random(len(order_ids)) < chance, "order_id"].to_numpy()
    rates = pd.Series(rng.choice(VOUCHER_RATES, size=len(vouchered)), index=vouchered)
    rate = orders["order_id"].map(rates).where(purchase, 0.0).fillna(0.0)
    discount = (orders["amount"] * rate).round(2)
    return orders.assign(amount=(orders["amount"] - discount).round(2), discount=discount)
