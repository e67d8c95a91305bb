"""The demo store: one seeded call that builds a believable shop, and its export as import files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from service.demo.catalog import generate_products
from service.demo.discounts import apply_discounts
from service.demo.orders import LINES_PER_CUSTOMER_AT_UNIT_RATE, generate_orders
from service.demo.people import generate_customers
from service.demo.sends import generate_sends
from service.importing.columns import SPECS, unread_columns

PRODUCT_COLUMNS = ["product_id", "name", "category", "price", "currency", "description", "url", "in_stock"]
CUSTOMER_COLUMNS = ["customer_id", "email", "first_name", "locale", "marketing_consent", "unsubscribed"]
ORDER_COLUMNS = ["order_id", "customer_id", "product_id", "quantity", "amount", "discount", "timestamp", "kind"]
SEND_COLUMNS = [
    "send_id",
    "customer_id",
    "subject",
    "preheader",
    "intro",
    "first_name",
    "campaign_type",
    "locale",
    "segment",
    "sent_at",
    "n_products",
    "mean_price",
    "opened",
    "clicked",
    "converted",
]
DEFAULT_LINES_PER_CUSTOMER = 10
TARGET_TOLERANCE = 0.08
MAX_TARGET_ATTEMPTS = 4


@dataclass
class DemoStore:
    """The demo shop as plain frames in ARCHITECTURE.md's shapes; ``orders`` holds every interaction
    (``kind`` purchase, cart or view), ``as_of`` is the day the history ends."""

    products: pd.DataFrame
    customers: pd.DataFrame
    orders: pd.DataFrame
    sends: pd.DataFrame
    as_of: date
    seed: int

    @property
    def purchases(self) -> pd.DataFrame:
        """Purchase lines only (the audience models' orders frame)."""
        return self.orders[self.orders["kind"] == "purchase"].reset_index(drop=True)


def generate_demo_store(
    seed: int = 7,
    n_customers: int = 3000,
    n_products: int = 300,
    n_orders_target: int | None = None,
    as_of: date = date(2026, 11, 1),
) -> DemoStore:
    """A deterministic demo shop: the same arguments always give identical frames.

    ``n_orders_target`` aims at that many purchase lines (default 10 per customer, 30,000 for the
    default store); the result lands within ±8 % of it when the shop is large enough for the target to
    be plausible. Cart and view rows come on top.
    """
    if n_customers < 1 or n_products < 10:
        raise ValueError("the demo store needs at least 1 customer and 10 products")
    target = n_orders_target if n_orders_target is not None else DEFAULT_LINES_PER_CUSTOMER * n_customers
    rng = np.random.default_rng(seed)
    products = generate_products(rng, n_products)
    customers = generate_customers(rng, n_customers, style_dim=len(products["style"].iloc[0]))
    orders = _orders_near_target(seed, customers, products, as_of, target)
    orders = apply_discounts(np.random.default_rng([seed, 3]), orders, customers)
    sends = generate_sends(np.random.default_rng([seed, 2]), customers, products, orders, as_of)
    return DemoStore(
        products=products[PRODUCT_COLUMNS].copy(),
        customers=customers[CUSTOMER_COLUMNS].copy(),
        orders=orders[ORDER_COLUMNS],
        sends=sends[SEND_COLUMNS],
        as_of=as_of,
        seed=seed,
    )


def _orders_near_target(
    seed: int, customers: pd.DataFrame, products: pd.DataFrame, as_of: date, target: int
) -> pd.DataFrame:
    """Orders whose purchase lines land within ``TARGET_TOLERANCE`` of ``target``.

    Lines grow less than linearly with the shopping rate (first orders and re-order cycles do not scale),
    so the rate is corrected and the history redrawn, from the same seed, until it fits.
    """
    rate = target / (len(customers) * LINES_PER_CUSTOMER_AT_UNIT_RATE)
    for _ in range(MAX_TARGET_ATTEMPTS):
        orders = generate_orders(np.random.default_rng([seed, 1]), customers, products, as_of, rate_multiplier=rate)
        lines = int((orders["kind"] == "purchase").sum())
        if abs(lines - target) <= TARGET_TOLERANCE * target or lines == 0:
            break
        rate *= (target / lines) ** 1.3
    return orders


def write_import_files(store: DemoStore, directory: str | Path) -> dict[str, Path]:
    """Write ``customers.csv``, ``products.csv`` (``sku`` for ``product_id``), ``orders.csv`` and
    ``sends.csv`` in the documented import columns; returns the path of each by kind."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "customers": store.customers,
        "products": store.products.rename(columns={"product_id": "sku"}),
        "orders": store.orders,
        # the sends' first_name and locale are the customer's, which the import takes from the customers file
        "sends": store.sends.drop(columns=unread_columns(list(store.sends.columns), SPECS["sends"])),
    }
    paths = {}
    for kind, frame in tables.items():
        paths[kind] = folder / f"{kind}.csv"
        frame.to_csv(paths[kind], index=False)
    return paths
