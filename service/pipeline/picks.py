"""Each customer's recommended products for a campaign, held as compact columns and built into the dicts that
drafts store only when a customer's are asked for.

A campaign needs every audience customer's picks before its first draft is written (customers are grouped by
them), so what a pick costs is paid for the whole audience at once. As a dict of catalog facts per pick, the
picks of the 30,000-customer demo shop's cross-sell audience took 1.6 KB a customer (21.9 MB for 13,661); as
rows of a few arrays beside one shared catalog, 0.8 KB."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, get_args

import numpy as np
import pandas as pd

from service.schemas.recommendations import PickReason

# Why a pick is there, in a word: the closed set the API declares, each value explained there
# (``service.schemas.recommendations.PICK_REASON``).
REASONS: tuple[PickReason, ...] = get_args(PickReason)


class Picks(Mapping[str, list[dict[str, Any]]]):
    """customer id -> that customer's picks in rank order, each a dict of rank, score, the product's catalog
    facts, the names of up to a few products that explain it ("because you bought"), whether it is a new arrival
    the model was trained without, which the customer has not bought (``recommenders.cold_start``: "new, like ...
    you bought"), whether it is a fallback, there by its recent popularity in the shop (``recommenders.fallback``:
    "popular in the shop lately"), and its ``reason``, one of REASONS: why it is there, in a word."""

    def __init__(
        self, ranked: pd.DataFrame, because: Sequence[Sequence[str]], catalog: Mapping[str, dict[str, Any]],
        new_arrivals: Sequence[bool] = (), fallbacks: Sequence[bool] = (), bought_before: Sequence[bool] = (),
        by_activity: Sequence[bool] = (),
    ) -> None:  # fmt: skip
        """``ranked``: one row per pick (customer_id, rank, product_id, score), each customer's rows together and
        in rank order, as ``recommenders.rules.recommend_with_rules`` gives them; ``because``: per row, the
        product ids that explain it; ``catalog``: product id -> its catalog row; ``new_arrivals``: per row,
        whether it is a product the model was trained without that its customer has not bought (none given: no row);
        ``fallbacks``: per row, whether the fallback put it there by its recent popularity, the model ranking no more
        products for the customer (``recommenders.fallback``; none given: no row); ``bought_before``: per row, whether
        its customer bought the product (a re-order; none given: no row); ``by_activity``: per row, whether the model
        ranked it by its customer's own interactions, not the shop's popularity, where no purchase explains it (none
        given: no row)."""
        customers = ranked["customer_id"].to_numpy()
        self._products = ranked["product_id"].to_numpy()
        self._ranks = ranked["rank"].to_numpy()
        self._scores = ranked["score"].to_numpy(dtype=float)
        self._because = [tuple(cited) for cited in because]
        self._catalog = catalog
        self._new_arrivals = np.asarray(new_arrivals, dtype=bool) if len(new_arrivals) else np.zeros(len(ranked), bool)
        self._fallbacks = np.asarray(fallbacks, dtype=bool) if len(fallbacks) else np.zeros(len(ranked), bool)
        self._bought_before = (
            np.asarray(bought_before, dtype=bool) if len(bought_before) else np.zeros(len(ranked), bool)
        )
        self._by_activity = np.asarray(by_activity, dtype=bool) if len(by_activity) else np.zeros(len(ranked), bool)
        bounds = np.r_[0, np.flatnonzero(customers[1:] != customers[:-1]) + 1, len(customers)] if len(customers) else []
        self._rows = {customers[start]: (int(start), int(stop)) for start, stop in itertools.pairwise(bounds)}
        if len(self._rows) != max(len(bounds) - 1, 0):
            raise ValueError("ranked must hold each customer's picks together")

    def __getitem__(self, customer_id: str) -> list[dict[str, Any]]:
        start, stop = self._rows[customer_id]
        return [self._pick(row) for row in range(start, stop)]

    def _pick(self, row: int) -> dict[str, Any]:
        product = self._catalog[self._products[row]]
        because = self._reasons(product["name"], self._because[row])
        return {
            "rank": int(self._ranks[row]), "product_id": self._products[row], "name": product["name"],
            "category": product["category"], "price": float(product["price"]), "currency": product["currency"],
            "url": product["url"], "description": product["description"], "score": float(self._scores[row]),
            "because_you_bought": because, "new_arrival": bool(self._new_arrivals[row]),
            "fallback": bool(self._fallbacks[row]), "reason": self._reason(row, because),
        }  # fmt: skip

    def _reason(self, row: int, because: list[str]) -> PickReason:
        """The row's reason, one of REASONS: a fallback's and a new arrival's are theirs, named purchases or not."""
        if self._fallbacks[row]:
            return "fallback"
        if self._new_arrivals[row]:
            return "new_arrival"
        if because:
            return "because_you_bought"
        if self._bought_before[row]:
            return "bought_before"
        return "activity" if self._by_activity[row] else "popular"

    def _reasons(self, name: str, because: Sequence[str]) -> list[str]:
        """The names of the purchases `because` may cite, each once, and none named as the pick itself: a shop's
        catalog may hold one product under two skus (Online Retail has 172 names shared so), and "Sencha 100 g
        because you bought Sencha 100 g" explains nothing."""
        named = {str(name).strip().casefold()}
        reasons = []
        for product_id in because:
            if not self._cites(product_id):
                continue
            cited = self._catalog[product_id]["name"]
            if str(cited).strip().casefold() not in named:
                named.add(str(cited).strip().casefold())
                reasons.append(cited)
        return reasons

    def _cites(self, product_id: str) -> bool:
        """Whether a purchase may be named as a reason: a product of the catalog that is merchandise ("because you
        bought POSTAGE" explains nothing)."""
        product = self._catalog.get(product_id)
        return product is not None and bool(product.get("recommendable", True))

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
