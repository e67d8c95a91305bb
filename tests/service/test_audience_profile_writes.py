"""The audience refresh's profile writes: every customer's update (segment, profile JSON with its reasons in words,
profile columns) is exactly what the per-customer code wrote before it was made faster, on a seeded frame that
reaches every branch of the reasons (missing figures, no repeat day, overdue, due today, contradicted clusters,
returns that cancel a whole customer)."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

import service.pipeline.training as training
from audience.profiles import PROFILE_COLUMNS
from audience.reasons import profile_reasons, profiles_reasons
from audience.rfm import segment_names

EXPECTED = Path(__file__).with_name("audience_profile_writes.json")  # written by the per-customer code
AS_OF = date(2026, 11, 1)
LABELS = ["frequent, recent customers", "occasional, lapsed big-basket customers", "small-basket, recent buyers",
          "narrow-basket, lapsed customers"]  # fmt: skip


def seeded_profiles(count: int = 60, seed: int = 5) -> pd.DataFrame:
    """A frame shaped as ``build_profiles`` returns it, with NaN/NaT and edge values at random."""
    rng = np.random.default_rng(seed)

    def gaps(values: np.ndarray, share: float = 0.2) -> np.ndarray:
        return np.where(rng.random(count) < share, np.nan, values)

    frame = pd.DataFrame(
        {
            "recency_days": rng.integers(1, 700, count),
            "frequency": rng.integers(1, 40, count),
            "monetary": np.where(rng.random(count) < 0.1, 1e-9, rng.gamma(2.0, 40.0, count)),
            "r_score": rng.integers(1, 6, count),
            "f_score": rng.integers(1, 6, count),
            "m_score": rng.integers(1, 6, count),
            "rfm_segment": rng.choice(segment_names(), count),
            "cluster": rng.integers(0, 4, count),
            "repeat_purchase_days": np.where(rng.random(count) < 0.3, 0, rng.integers(1, 20, count)),
            "cycle_days": gaps(rng.gamma(3.0, 20.0, count).round(1)),
            "p_alive": gaps(rng.random(count)),
            "churn_risk": gaps(rng.random(count)),
            "expected_purchases": gaps(rng.gamma(1.0, 2.0, count) * np.where(rng.random(count) < 0.1, 100, 1)),
            "expected_purchase_value": gaps(rng.gamma(2.0, 30.0, count)),
            "next_purchase_date": pd.to_datetime(AS_OF)
            + pd.to_timedelta(np.where(rng.random(count) < 0.2, np.nan, rng.integers(-3, 90, count)), unit="D"),
        },
        index=pd.Index([f"C{n:03d}" for n in range(count)], name="customer_id"),
    )
    frame.loc[frame.index[::7], "next_purchase_date"] = pd.Timestamp(AS_OF)  # due today, some of them late
    frame["cluster_label"] = frame["cluster"].map(dict(enumerate(LABELS)))
    frame["clv"] = frame["expected_purchases"] * frame["expected_purchase_value"]
    return frame[PROFILE_COLUMNS]


def plain(updates: list[dict]) -> list[dict]:
    """The updates as JSON holds them, with each value's type (a date column, an int, a float) kept apart."""
    return json.loads(json.dumps(updates, default=lambda day: {"date": day.isoformat()}))


def test_profile_updates_are_what_the_per_customer_code_wrote():
    profiles = seeded_profiles()
    batch = [(external, pk) for pk, external in enumerate([*profiles.index, "R001", "N001"], start=1)]
    updates = training._profile_updates(batch, profiles, {"R001"}, AS_OF, 90)
    expected = EXPECTED.read_text().splitlines()[1:-1]  # one update a line, between the list's brackets
    assert [json.dumps(update, ensure_ascii=False) + "," for update in plain(updates)] == [
        line if line.endswith(",") else line + "," for line in expected
    ]  # the same values, of the same types, in the same order of keys
    # the types a column takes, which JSON would blur (an int written as a float, a date as its text)
    assert all(type(update["frequency"]) is int and type(update["monetary"]) is float for update in updates[:-2])
    assert [type(update["next_purchase_date"]) for update in updates[:3]] == [
        type(None) if pd.isna(day) else date for day in profiles["next_purchase_date"][:3]
    ]


# sha256 of the JSON of the reasons of seeded_profiles(2000, seed=11), as the code that wrote them a profile at a time
# (audience.reasons.profile_reasons before 2026-12) gave them from those profiles' stored values
PER_CUSTOMER_REASONS_SHA256 = "a12deb259042aaa5e21867cfead533dee58e53e05216ef926e73333bafd7412d"


def test_reasons_written_a_field_at_a_time_are_those_written_a_profile_at_a_time():
    """2,000 seeded profiles: the sentences written a field at a time (the refresh's) are, to the character, those the
    per-customer code wrote (its digest) and those of each profile alone."""
    columns = training._json_columns(seeded_profiles(2000, seed=11))
    reasons = profiles_reasons(columns, AS_OF, 90)
    assert hashlib.sha256(json.dumps(reasons).encode()).hexdigest() == PER_CUSTOMER_REASONS_SHA256
    rows = zip(*columns.values(), strict=True)
    alone = [profile_reasons(dict(zip(columns, values, strict=True)), AS_OF, 90) for values in rows]
    assert reasons == alone
    assert {key for sentences in reasons for key in sentences} == {"segment", "cluster", "churn_risk", "clv",
                                                                   "next_purchase"}  # fmt: skip
