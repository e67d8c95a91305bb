"""A fallback for the lists a fitted model cannot fill: the shop's products it cannot rank, by recent popularity.

A model ranks the products it was fitted with, and cold start (``recommenders.cold_start``) those that read like one
of them. A catalog replaced by products that read like nothing it knows (a new range, under names of its own) left
every list empty until the next training, and a partly new one left lists short; yet the shop's orders since the
training already say which of those products sell. `PopularFallback` serves like the model and, for a customer
whose list is shorter than asked, adds the allowed products the model does not know, most popular first: of those
bought, each (customer, product) counts at its latest purchase, halved every `HALF_LIFE_DAYS` before the shop's
latest purchase (`recent_popularity`). They come after every product the model ranks, so they fill a list and never
push out one of the model's, and the business rules (``recommenders.rules``) sift them as any candidate. A product
never bought is no fallback: with nothing to rank it by, a shop would rather be told than mail its catalog's order.

The pairs it added are told apart (`is_fallback`), so that a list says which of its products are fallbacks, and are
explained by no purchase.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from itertools import islice
from typing import Any

import numpy as np
import pandas as pd

from recommenders.base import RECOMMENDATION_COLUMNS

HALF_LIFE_DAYS = 30.0  # a purchase this many days before the shop's latest counts half


def recent_popularity(purchases: pd.DataFrame, half_life_days: float = HALF_LIFE_DAYS) -> pd.Series:
    """Per product id, its buyers weighed by how recently each bought it: ``purchases`` holds (customer_id,
    product_id, timestamp), one row per purchase line or per pair at its latest purchase; each pair counts once, at
    its latest purchase, 0.5 ** (days before the latest purchase of all / ``half_life_days``). Most popular first,
    ties in the order of the product ids; empty for no purchase."""
    if purchases.empty:
        return pd.Series(dtype=float, index=pd.Index([], dtype=object, name="product_id"), name="popularity")
    latest = purchases.groupby(["customer_id", "product_id"], sort=False)["timestamp"].max()
    days = (latest.max() - latest).dt.total_seconds().to_numpy() / 86_400
    weights = pd.Series(0.5 ** (days / half_life_days), index=latest.index.get_level_values("product_id").astype(str))
    popularity = weights.groupby(level=0).sum().rename("popularity").rename_axis("product_id")
    order = np.lexsort((popularity.index.to_numpy(), -popularity.to_numpy()))
    return popularity.iloc[order]


class PopularFallback:
    """A fitted model (or ``NewArrivals``) whose short lists the products it does not know fill, most popular
    first (see the module docstring). ``popularity`` gives `recent_popularity`, asked once, when a list is first
    short: serving a list the model fills reads no order. Anything else is asked of the model."""

    def __init__(self, model: Any, popularity: Callable[[], pd.Series]) -> None:
        self.model = model
        self._popularity = popularity
        self._unknown_popular: pd.Series | None = None
        self._filled: set[tuple[str, str]] = set()  # pairs this fallback added
        self._ranked: set[tuple[str, str]] = set()  # of those products, pairs the model ranked (cold start's)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def unknown_popular(self) -> pd.Series:
        """The popularity of the products bought that the model does not know, most popular first."""
        if self._unknown_popular is None:
            popularity = self._popularity()
            known = self.model.vocabulary.products.get_indexer(popularity.index.astype(str)) >= 0
            self._unknown_popular = popularity[~known & (popularity.to_numpy() > 0)]
        return self._unknown_popular

    def recommend(
        self,
        customer_ids: Iterable[str],
        k: int = 10,
        *,
        exclude_seen: bool = True,
        allowed_products: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """`Recommender.recommend`, a customer's list shorter than ``k`` filled from the fallback's products (of the
        ``allowed_products``, when given), scored -inf: after every product the model ranks."""
        customers = list(dict.fromkeys(str(c) for c in customer_ids))
        allowed = list(allowed_products) if allowed_products is not None else None
        listed = self.model.recommend(customers, k, exclude_seen=exclude_seen, allowed_products=allowed)
        counts = listed.groupby("customer_id").size()
        short = [customer for customer in customers if counts.get(customer, 0) < k]
        if not short or (allowed is not None and self._knows_all(allowed)):
            return listed
        popular = self.unknown_popular()
        if allowed is not None:
            popular = popular[popular.index.isin(allowed)]
        if popular.empty:
            return listed
        ranked = listed[listed["product_id"].isin(popular.index)]
        self._ranked.update(zip(ranked["customer_id"], ranked["product_id"], strict=True))
        had = listed.groupby("customer_id")["product_id"].agg(set).to_dict() if len(listed) else {}
        rows = []
        for customer in short:
            taken = had.get(customer, set())
            extra = (product for product in popular.index if product not in taken)
            rows += [(customer, product) for product in islice(extra, k - counts.get(customer, 0))]
        if not rows:
            return listed
        self._filled.update(rows)
        added = pd.DataFrame(rows, columns=["customer_id", "product_id"]).assign(score=float("-inf"))
        combined = pd.concat([listed[["customer_id", "product_id", "score"]], added], ignore_index=True)
        order = {customer: i for i, customer in enumerate(customers)}
        combined = combined.iloc[np.argsort(combined["customer_id"].map(order).to_numpy(), kind="stable")]
        combined = combined.assign(rank=combined.groupby("customer_id", sort=False).cumcount() + 1)
        return combined[RECOMMENDATION_COLUMNS].reset_index(drop=True)

    def _knows_all(self, product_ids: list[str]) -> bool:
        """Whether the model knows every one of ``product_ids``: then nothing is left to fill a list with, and the
        orders need not be read (a small catalog's lists are short of the rules' candidates at every request)."""
        return bool((self.model.vocabulary.products.get_indexer(pd.Index(product_ids).astype(str)) >= 0).all())

    def is_fallback(self, customer_id: str, product_id: str) -> bool:
        """Whether the fallback, not the model, put ``product_id`` in the customer's list."""
        pair = (str(customer_id), str(product_id))
        return pair in self._filled and pair not in self._ranked

    def explain_many(
        self,
        customer_ids: list[str],
        product_ids: list[str],
        n: int = 3,
        bought: Mapping[str, Collection[str]] | None = None,
    ) -> list[list[str]]:
        """`Recommender.explain_many`; a fallback is explained by no purchase (its popularity is its reason)."""
        explained: list[list[str]] = [[] for _ in product_ids]
        modelled = [
            i for i, pair in enumerate(zip(customer_ids, product_ids, strict=True)) if not self.is_fallback(*pair)
        ]
        cited = self.model.explain_many(
            [customer_ids[i] for i in modelled], [product_ids[i] for i in modelled], n, bought=bought
        )
        for i, products in zip(modelled, cited, strict=True):
            explained[i] = products
        return explained
