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
VIEW_SESSION_CHANCE = 0.45
ABANDONED_CART_CHANCE = 0.12
TASTE_STRENGTH = 1.3
# Purchase lines per customer at rate multiplier 1 (measured on the default store); used to aim at a target.
LINES_PER_CUSTOMER_AT_UNIT_RATE = 10.0


class _Shopper:
    """One customer's product choice, cached over the catalogue."""

    def __init__(
        self, customer: dict, styles: np.ndarray, popularity: np.ndarray, category_rows: dict[int, np.ndarray]
    ):
        scores = popularity * np.exp(TASTE_STRENGTH * styles @ customer["_taste"] / np.sqrt(styles.shape[1]))
        self.affinity = customer["_affinity"]
        self.choices = {}
        for category, rows in category_rows.items():
            weights = scores[rows]
            self.choices[category] = (rows, weights / weights.sum())

    def pick(self, rng: np.random.Generator, n_lines: int) -> list[int]:
        picked: list[int] = []
        for category in rng.choice(len(self.affinity), size=n_lines, p=self.affinity):
            rows, probabilities = self.choices[int(category)]
            row = int(rng.choice(rows, p=probabilities))
            if row not in picked:
                picked.append(row)
        return picked


def _random_times(rng: np.random.Generator, day: datetime, count: int = 1) -> list[datetime]:
    hours = rng.choice(24, size=count, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    seconds = rng.integers(0, 3600, size=count)
    return [day + timedelta(hours=int(h), seconds=int(s)) for h, s in zip(hours, seconds, strict=True)]


def _occasion_days(rng: np.random.Generator, start: float, end: float, rate: float, origin: datetime) -> list[float]:
    """Day offsets of shopping occasions in [start, end) by thinning a Poisson process at the peak rate."""
    peak = MONTH_SEASON.max()
    n_candidates = rng.poisson(rate * peak * max(end - start, 0.0))
    candidates = np.sort(rng.uniform(start, end, size=n_candidates))
    months = np.array([(origin + timedelta(days=float(d))).month - 1 for d in candidates], dtype=int)
    keep = rng.random(n_candidates) < MONTH_SEASON[months] / peak
    return candidates[keep].tolist()


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
    for customer in customers.to_dict("records"):
        shopper = _Shopper(customer, styles, products["popularity"].to_numpy(), category_rows)
        if rng.random() < NO_ORDER_SHARE:
            join = HISTORY_DAYS - rng.uniform(0, 45)
            for when in _random_times(rng, origin + timedelta(days=int(join)), int(rng.integers(1, 4))):
                for row in shopper.pick(rng, 1):
                    sessions.append((when, customer["customer_id"], ("view", when), row, "view"))
            continue
        _, per_year, mean_life = BUYER_TYPES[customer["_buyer_type"]]
        join = HISTORY_DAYS * (1 - rng.random() ** 1.4)
        active_until = min(join + rng.exponential(mean_life), HISTORY_DAYS)
        rate = per_year / 365 * rate_multiplier * float(np.exp(rng.normal(0, 0.35)))
        days = [join, *_occasion_days(rng, join + 1, active_until, rate, origin)]
        queue: list[tuple[float, int, list[int]]] = []
        for number, day in enumerate(days):
            n_lines = min(int(rng.geometric(0.55)), 5)
            heapq.heappush(queue, (day, number, shopper.pick(rng, n_lines)))
        counter = len(days)
        while queue:
            day, _, rows = heapq.heappop(queue)
            when = _random_times(rng, origin + timedelta(days=int(day)))[0]
            order_key = (customer["customer_id"], counter)
            counter += 1
            for row in rows:
                consumable = cycle_days[row] > 0
                quantity = int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])) if consumable else 1 + (rng.random() < 0.05)
                purchases.append((when, customer["customer_id"], order_key, row, float(quantity)))
                if consumable and rng.random() < customer["_loyalty"]:
                    gap = cycle_days[row] * customer["_pace"] * quantity**0.5 * float(np.exp(rng.normal(0, 0.12)))
                    if day + gap < active_until:
                        extra = shopper.pick(rng, 1) if rng.random() < 0.2 else []
                        heapq.heappush(queue, (day + gap, counter, [row, *[r for r in extra if r != row]]))
                        counter += 1
            if rng.random() < VIEW_SESSION_CHANCE:
                viewed = list(dict.fromkeys([*shopper.pick(rng, int(rng.integers(1, 4))), rows[0]]))
                seen_at = when - timedelta(minutes=int(rng.integers(2, 90)))
                sessions.extend((seen_at, customer["customer_id"], ("view", seen_at), row, "view") for row in viewed)
            if rng.random() < ABANDONED_CART_CHANCE:
                left_at = when + timedelta(days=int(rng.integers(3, 40)))
                if left_at < origin + timedelta(days=HISTORY_DAYS):
                    for row in shopper.pick(rng, 1):
                        sessions.append((left_at, customer["customer_id"], ("cart", left_at), row, "cart"))
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
