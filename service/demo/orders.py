"""The demo shop's order history: who bought what, when, and what they looked at without buying.

The process, per customer:

- a first purchase on a join date (the shop grows, so later joins are likelier); about 4 % of customers
  signed up recently and have only browsed;
- an active lifetime drawn from their buyer type; after it they lapse and buy nothing more (so at-risk,
  hibernating and lost customers exist on the as-of date);
- shopping occasions as a Poisson process with a seasonal rate (December about 2.2x an average month,
  November 1.4x, summer and January lower); each occasion buys 1–5 lines, categories drawn from the
  customer's category affinity (their persona) and products from their taste over product styles, so
  collaborative filtering has signal at both levels;
- every consumable line (coffee, tea, filters, pantry, candles) is re-ordered with the customer's loyalty
  probability after the category's cycle times the customer's own pace (±12 % jitter), which makes
  replenishment cycles visible per customer and product;
- browsing sessions (``view``) before some orders and abandoned carts (``cart``) after some.
"""

from __future__ import annotations

import heapq
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

from service.demo.catalog import CATEGORIES
from service.demo.people import BUYER_TYPES

HISTORY_DAYS = 730
NO_ORDER_SHARE = 0.04
MONTH_SEASON = np.array([0.8, 0.8, 0.9, 0.95, 0.95, 0.85, 0.8, 0.85, 1.0, 1.05, 1.4, 2.2])
HOUR_WEIGHTS = np.array(
    [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 3, 3.5, 4, 4.5, 5.5, 5.5, 4.5, 4, 4, 4.5, 5.5, 7, 7.5, 7, 5, 2.5]
)
HOUR_CUMULATIVE = np.cumsum(HOUR_WEIGHTS)
CONSUMABLE_QUANTITY_CUMULATIVE = np.cumsum([0.6, 0.3, 0.1])  # 1, 2 or 3 packs
MAX_STAPLES = 3  # consumables one customer re-orders on a cycle at the same time
EXISTING_BASE_SHARE = 0.25  # customers who already bought before the history starts
VIEW_SESSION_CHANCE = 0.3
ABANDONED_CART_CHANCE = 0.12
TASTE_STRENGTH = 1.3
# Purchase lines per customer at rate multiplier 1 (measured on the default store); used to aim at a target.
LINES_PER_CUSTOMER_AT_UNIT_RATE = 8.9


class _Shopper:
    """One customer's product choice, cached over the catalogue."""

    def __init__(
        self, customer: dict, styles: np.ndarray, popularity: np.ndarray, category_rows: dict[int, np.ndarray]
    ):
        scores = popularity * np.exp(TASTE_STRENGTH * styles @ customer["_taste"] / np.sqrt(styles.shape[1]))
        self.category_cumulative = np.cumsum(customer["_affinity"])
        self.choices = {}
        for category, rows in category_rows.items():
            self.choices[category] = (rows, np.cumsum(scores[rows]))

    def pick(self, rng: np.random.Generator, n_lines: int) -> list[int]:
        picked: list[int] = []
        for _ in range(n_lines):
            rows, cumulative = self.choices[_draw(rng, self.category_cumulative)]
            row = int(rows[_draw(rng, cumulative)])
            if row not in picked:
                picked.append(row)
        return picked


def _draw(rng: np.random.Generator, cumulative: np.ndarray) -> int:
    """An index drawn with probability proportional to the increments of ``cumulative``."""
    return min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right")), len(cumulative) - 1)


def _occasion_days(rng: np.random.Generator, start: float, end: float, rate: float, origin: datetime) -> list[float]:
    """Day offsets of shopping occasions in [start, end) by thinning a Poisson process at the peak rate."""
    if end <= start:
        return []
    peak = MONTH_SEASON.max()
    n_candidates = rng.poisson(rate * peak * (end - start))
    candidates = np.sort(rng.uniform(start, end, size=n_candidates))
    months = np.array([(origin + timedelta(days=float(d))).month - 1 for d in candidates], dtype=int)
    keep = rng.random(n_candidates) < MONTH_SEASON[months] / peak
    return candidates[keep].tolist()


class _History:
    """Collects one customer's purchase lines and browsing rows."""

    def __init__(self, rng: np.random.Generator, customer_id: str, origin: datetime, purchases: list, sessions: list):
        self.rng, self.customer_id, self.origin = rng, customer_id, origin
        self.purchases, self.sessions = purchases, sessions

    def _time(self, day: float) -> datetime:
        hour = _draw(self.rng, HOUR_CUMULATIVE)
        return self.origin + timedelta(days=int(day), hours=hour, seconds=int(self.rng.integers(0, 3600)))

    def order(self, day: float, number: int, rows: list[int], cycle_days: np.ndarray) -> list[float]:
        when = self._time(day)
        quantities = []
        for row in rows:
            if cycle_days[row] > 0:
                quantity = float(1 + _draw(self.rng, CONSUMABLE_QUANTITY_CUMULATIVE))
            else:
                quantity = 2.0 if self.rng.random() < 0.05 else 1.0
            quantities.append(quantity)
            self.purchases.append((when, self.customer_id, number, row, quantity))
        return quantities

    def session(self, day: float, rows: list[int], kind: str) -> None:
        when = self._time(day)
        for row in dict.fromkeys(rows):
            self.sessions.append((when, self.customer_id, f"{kind}-{when.isoformat()}", row, kind))


def generate_orders(
    rng: np.random.Generator,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    as_of: date,
    rate_multiplier: float,
) -> pd.DataFrame:
    """Order lines (ARCHITECTURE's interactions shape plus ``order_id``), sorted by time."""
    origin = datetime.combine(as_of, datetime.min.time()) - timedelta(days=HISTORY_DAYS)
    category_index = {category.name: number for number, category in enumerate(CATEGORIES)}
    product_category = products["category"].map(category_index).to_numpy()
    category_rows = {number: np.flatnonzero(product_category == number) for number in range(len(CATEGORIES))}
    cycle_days = np.array([CATEGORIES[c].reorder_days or 0 for c in product_category], dtype=float)
    prices = products["price"].to_numpy()

    purchases: list[tuple] = []  # (timestamp, customer_id, order key, product row, quantity)
    sessions: list[tuple] = []  # (timestamp, customer_id, session key, product row, kind)
    styles = np.vstack(products["style"].to_numpy())
    popularity = products["popularity"].to_numpy()
    for customer in customers.to_dict("records"):
        shopper = _Shopper(customer, styles, popularity, category_rows)
        history = _History(rng, customer["customer_id"], origin, purchases, sessions)
        if rng.random() < NO_ORDER_SHARE:
            day = HISTORY_DAYS - rng.uniform(0, 45)
            for _ in range(int(rng.integers(1, 4))):
                history.session(day, shopper.pick(rng, 1), "view")
            continue
        _, per_year, mean_life = BUYER_TYPES[customer["_buyer_type"]]
        if rng.random() < EXISTING_BASE_SHARE:
            # Bought before the history starts: their first order is not in the data.
            join = -rng.uniform(0, 365)
            active_until = min(max(join + rng.exponential(mean_life), rng.uniform(20, 240)), HISTORY_DAYS)
        else:
            join = HISTORY_DAYS * (1 - rng.random() ** 1.2)
            active_until = min(join + rng.exponential(mean_life), HISTORY_DAYS)
        rate = per_year / 365 * rate_multiplier * float(np.exp(rng.normal(0, 0.35)))
        days = _occasion_days(rng, max(join + 1, 0.0), active_until, rate, origin)
        if join >= 0:
            days = [join, *days]  # the first purchase
        elif not days:
            days = [rng.uniform(0, active_until)]  # an existing customer buys at least once in the history
        queue = [(day, number, shopper.pick(rng, min(int(rng.geometric(0.55)), 5))) for number, day in enumerate(days)]
        heapq.heapify(queue)
        counter = len(queue)
        reorder_due: dict[int, float] = {}  # one running re-order cycle per product
        while queue:
            day, number, rows = heapq.heappop(queue)
            quantities = history.order(day, number, rows, cycle_days)
            for row, quantity in zip(rows, quantities, strict=True):
                if cycle_days[row] == 0 or reorder_due.get(row, -1.0) > day or rng.random() >= customer["_loyalty"]:
                    continue
                if sum(due > day for due in reorder_due.values()) >= MAX_STAPLES:
                    continue
                gap = cycle_days[row] * customer["_pace"] * quantity**0.5 * float(np.exp(rng.normal(0, 0.12)))
                if day + gap < active_until:
                    reorder_due[row] = day + gap
                    extra = [r for r in shopper.pick(rng, 1) if r != row] if rng.random() < 0.2 else []
                    heapq.heappush(queue, (day + gap, counter, [row, *extra]))
                    counter += 1
            if rng.random() < VIEW_SESSION_CHANCE:
                viewed = [*shopper.pick(rng, int(rng.integers(1, 3))), rows[0]]
                history.session(max(day - rng.uniform(0, 2), 0.0), viewed, "view")
            if rng.random() < ABANDONED_CART_CHANCE and day + 3 < HISTORY_DAYS:
                history.session(rng.uniform(day + 3, min(day + 40, HISTORY_DAYS)), shopper.pick(rng, 1), "cart")
    return _as_frame(purchases, sessions, prices, products["product_id"].to_numpy())


def _as_frame(purchases: list[tuple], sessions: list[tuple], prices: np.ndarray, skus: np.ndarray) -> pd.DataFrame:
    bought = pd.DataFrame(purchases, columns=["timestamp", "customer_id", "key", "row", "quantity"])
    bought["kind"] = "purchase"
    bought["amount"] = (bought["quantity"] * prices[bought["row"]]).round(2)
    browsed = pd.DataFrame(sessions, columns=["timestamp", "customer_id", "key", "row", "kind"])
    browsed["quantity"] = 1.0
    browsed["amount"] = 0.0
    browsed = browsed.drop_duplicates(subset=["customer_id", "key", "row"])
    lines = pd.concat([bought, browsed], ignore_index=True)
    lines["key"] = lines["key"].astype(str)
    lines = lines.sort_values(["timestamp", "customer_id", "key", "row"], kind="stable").reset_index(drop=True)
    first_line = ~lines.duplicated(subset=["customer_id", "key"])
    number = first_line.cumsum()
    prefix = np.where(lines["kind"] == "purchase", "O", "S")
    lines["order_id"] = [f"{p}{n:07d}" for p, n in zip(prefix, number, strict=True)]
    lines["product_id"] = skus[lines["row"]]
    lines["timestamp"] = lines["timestamp"].astype("datetime64[ns]")
    columns = ["order_id", "customer_id", "product_id", "quantity", "amount", "timestamp", "kind"]
    return lines[columns]
