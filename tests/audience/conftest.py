"""Synthetic shops for the audience tests: small, seeded, with customers whose right answer is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

AS_OF = pd.Timestamp("2024-01-01")


def simulated_shop(n_customers: int = 400, days: int = 730, seed: int = 0) -> pd.DataFrame:
    """Order lines of a BG/NBD-like shop: each customer buys at their own rate and may drop out after a purchase."""
    rng = np.random.default_rng(seed)
    start = AS_OF - pd.Timedelta(days=days)
    rows = []
    for number in range(n_customers):
        customer = f"S{number:04d}"
        rate = rng.gamma(shape=1.5, scale=1 / 40)  # purchases per day
        dropout = rng.beta(1.0, 4.0)
        spend = rng.gamma(6.0, 8.0)
        day = rng.uniform(0, days * 0.8)
        order = 0
        while day < days:
            rows.append(
                {
                    "customer_id": customer,
                    "order_id": f"{customer}-{order}",
                    "product_id": f"P{rng.integers(20)}",
                    "timestamp": start + pd.Timedelta(days=float(day)),
                    "amount": round(float(rng.gamma(8.0, spend / 8.0)), 2),
                }
            )
            order += 1
            if rng.random() < dropout:
                break
            day += rng.exponential(1 / rate)
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def shop_orders() -> pd.DataFrame:
    return simulated_shop()


def known_customers() -> pd.DataFrame:
    """Four customers with an obvious segment each (as of ``AS_OF``), among 20 filler customers."""
    rows = []

    def buy(customer: str, days_ago: int, amount: float = 20.0) -> None:
        rows.append(
            {
                "customer_id": customer,
                "order_id": f"{customer}-{days_ago}",
                "timestamp": AS_OF - pd.Timedelta(days=days_ago),
                "amount": amount,
            }
        )

    for days_ago in range(2, 200, 10):
        buy("champion", days_ago, 80.0)
    for days_ago in range(400, 700, 15):
        buy("cant_lose", days_ago, 60.0)
    buy("newcomer", 3)
    buy("gone", 700)
    for number in range(20):
        for repeat in range(1 + number % 4):
            buy(f"filler{number}", 30 + 25 * number + 5 * repeat)
    return pd.DataFrame(rows)
