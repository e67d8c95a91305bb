"""Synthetic sends where the right answer is known: a first name in the subject and the evening hour lift opens,
many products lift clicks, a high price lowers conversions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

NAMES = ["Anna", "Ben", "Clara", "Dmitri", "Eva", "Filip"]
SUBJECTS = ["New arrivals for you", "Our autumn picks", "Back in stock", "A little something", "Fresh this week"]


def make_sends(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """Sends with a hidden logistic response: name in subject +1.2, hour 20 +0.8 log-odds to open."""
    rng = np.random.default_rng(seed)
    names = rng.choice(NAMES, n)
    personal = rng.random(n) < 0.5
    base = rng.choice(SUBJECTS, n)
    subjects = np.where(
        personal, [f"{name}, {subject.lower()}" for name, subject in zip(names, base, strict=True)], base
    )
    hours = rng.choice([9, 14, 20], n)
    days = pd.to_datetime("2026-01-05") + pd.to_timedelta(rng.integers(0, 60, n), unit="D")
    n_products = rng.integers(0, 7, n)
    mean_price = rng.uniform(10, 80, n).round(2)
    logit_open = -1.2 + 1.2 * personal + 0.8 * (hours == 20)
    opened = rng.random(n) < 1 / (1 + np.exp(-logit_open))
    clicked = opened & (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 0.35 * n_products))))
    converted = clicked & (rng.random(n) < 1 / (1 + np.exp(-(0.5 - 0.04 * (mean_price - 10)))))
    return pd.DataFrame(
        {
            "customer_id": [f"C{index % 400:04d}" for index in range(n)],
            "subject": subjects,
            "preheader": "Chosen for you",
            "intro": [f"Hi {name}, here is what we picked." for name in names],
            "first_name": names,
            "campaign_type": rng.choice(["cross_sell", "win_back", "vip"], n),
            "locale": rng.choice(["en", "de"], n),
            "segment": rng.choice(["champions", "loyal", "at_risk"], n),
            "sent_at": days + pd.to_timedelta(hours, unit="h"),
            "n_products": n_products,
            "mean_price": mean_price,
            "opened": opened.astype(int),
            "clicked": clicked.astype(int),
            "converted": converted.astype(int),
        }
    )


@pytest.fixture(scope="session")
def sends() -> pd.DataFrame:
    return make_sends()


@pytest.fixture(scope="session")
def fitted_engagement(sends):
    from scoring.engagement import EngagementModel

    return EngagementModel().fit(sends)
