"""Evaluation protocols: how interactions are split into what a model learns from and what it must predict.

- `time`: a global time split; train on everything before a cutoff, predict what each customer who already
  has history buys in the `test_days` after it (the realistic one for a shop).
- `last_basket`: each customer's last basket (order) is held out; customers with one basket are train-only.
- `recbole`: RecBole's random per-customer 80/10/10 split (train/validation/test) with full ranking; at test
  time products in the customer's train and validation parts are masked, as RecBole does.

Each split names, per evaluated customer, the relevant products (`relevant`), the subset new to that
customer (`relevant_new`), and products to mask beyond the training history (`exclude`). `validation` builds
the same protocol inside the training part, for hyper-parameter search that never sees the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Split:
    name: str
    train: pd.DataFrame
    relevant: dict[str, set[str]]
    relevant_new: dict[str, set[str]]
    exclude: dict[str, set[str]] = field(default_factory=dict)
    # How the split was cut (cutoff and window, seed and ratios), for the report: a figure is reproduced with it.
    settings: dict = field(default_factory=dict)
    # False where a customer never interacts with a product twice (MovieLens): only new products count.
    repeats: bool = True
    make_validation: Callable[[], Split] | None = None

    def validation(self) -> Split:
        if self.make_validation is None:
            raise ValueError(f"the {self.name} protocol has no validation split")
        return self.make_validation()

    @property
    def customers(self) -> list[str]:
        return sorted(self.relevant)


def _targets(train: pd.DataFrame, test: pd.DataFrame) -> tuple[dict, dict]:
    """Per customer with history, the products they bought in the test part (a view, a cart or a return there is
    no success for a recommendation), and those of them new to the customer (no interaction before)."""
    if "kind" in test.columns:
        test = test[test["kind"] == "purchase"]
    history = products_by_customer(train)
    wanted = products_by_customer(test[test["customer_id"].isin(history.index)])
    relevant = {customer: products for customer, products in wanted.items()}
    relevant_new = {
        customer: products - history[customer]
        for customer, products in relevant.items()
        if products - history[customer]
    }
    return relevant, relevant_new


def products_by_customer(lines: pd.DataFrame) -> pd.Series:
    """Each customer's set of products, by customer id in order. Grouped as Python objects: a set gathered from a text
    column's groups iterates its Arrow array a value at a time (1 of the 1.5 CPU-s of Online Retail's split)."""
    return lines["product_id"].astype(object).groupby(lines["customer_id"]).agg(set)


def time_split(interactions: pd.DataFrame, test_days: int = 30, cutoff: pd.Timestamp | None = None) -> Split:
    """Train before `cutoff`, test in the `test_days` days from it; by default the last `test_days` days, up to
    and including the last interaction (the window's end was exclusive, and left the last order out of both
    parts)."""
    stamps = interactions["timestamp"]
    if cutoff is None:
        cutoff = stamps.max() - pd.Timedelta(days=test_days)
        in_test = stamps >= cutoff
    else:
        in_test = (stamps >= cutoff) & (stamps < cutoff + pd.Timedelta(days=test_days))
    train = interactions[stamps < cutoff]
    test = interactions[in_test]
    relevant, relevant_new = _targets(train, test)
    return Split(
        name="time",
        train=train.reset_index(drop=True),
        relevant=relevant,
        relevant_new=relevant_new,
        settings={"cutoff": str(cutoff), "test_days": test_days, "test_end": str(test["timestamp"].max())},
        make_validation=lambda: time_split(train, test_days=test_days),
    )


def last_basket(interactions: pd.DataFrame) -> Split:
    """Hold out each customer's last basket (order_id, or all lines sharing its timestamp)."""
    basket = interactions["order_id"] if "order_id" in interactions.columns else interactions["timestamp"]
    ordered = interactions.assign(_basket=basket).sort_values(["customer_id", "timestamp"], kind="stable")
    last = ordered.groupby("customer_id")["_basket"].transform("last")
    baskets = ordered.groupby("customer_id")["_basket"].transform("nunique")
    held_out = (ordered["_basket"] == last) & (baskets >= 2)
    train = ordered[~held_out].drop(columns="_basket")
    test = ordered[held_out].drop(columns="_basket")
    relevant, relevant_new = _targets(train, test)
    return Split(
        name="last_basket",
        train=train.reset_index(drop=True),
        relevant=relevant,
        relevant_new=relevant_new,
        make_validation=lambda: last_basket(train),
    )


def _part_sizes(total: int, ratios: tuple[float, ...]) -> list[int]:
    """RecBole's rule: floor each later part, the first takes the rest, a tiny non-empty part gets one."""
    sizes = [int(ratio * total) for ratio in ratios]
    sizes[0] = total - sum(sizes[1:])
    for i in range(1, len(ratios)):
        if sizes[0] <= 1:
            break
        if 0 < ratios[-i] * total < 1:
            sizes[-i] += 1
            sizes[0] -= 1
    return sizes


def recbole_random(
    interactions: pd.DataFrame, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 2020
) -> Split:
    """RecBole's 'RS' split grouped by user with random order: per customer, shuffle and cut 80/10/10."""
    rng = np.random.default_rng(seed)
    shuffled = interactions.iloc[rng.permutation(len(interactions))]
    position = shuffled.groupby("customer_id").cumcount().to_numpy()
    totals = shuffled.groupby("customer_id")["product_id"].transform("size").to_numpy()
    part = np.zeros(len(shuffled), dtype=np.int8)
    for total in np.unique(totals):
        train_size, valid_size, _ = _part_sizes(int(total), ratios)
        rows = totals == total
        part[rows & (position >= train_size)] = 1
        part[rows & (position >= train_size + valid_size)] = 2
    train, valid, test = (shuffled[part == i] for i in range(3))

    valid_sets = products_by_customer(valid).to_dict()
    test_relevant, test_new = _targets(train, test)
    valid_relevant, valid_new = _targets(train, valid)
    validation = Split(
        name="recbole-validation",
        train=train.reset_index(drop=True),
        relevant=valid_relevant,
        relevant_new=valid_new,
        repeats=False,
    )
    return Split(
        name="recbole",
        train=train.reset_index(drop=True),
        relevant=test_relevant,
        relevant_new=test_new,
        exclude=valid_sets,
        repeats=False,
        settings={"seed": seed, "ratios": list(ratios), "test_rows": len(test), "validation_rows": len(valid)},
        make_validation=lambda: validation,
    )


PROTOCOLS = {"time": time_split, "last_basket": last_basket, "recbole": recbole_random}
