"""The shop's products by recent popularity, the order a fallback list fills in (``recommenders.fallback``), kept
between the API's requests while the orders and the catalog stay as they were.

Each request for one customer's recommendations whose list the model could not fill read every purchase of the shop
again (``frames.latest_purchases``, a join and a GROUP BY over the order lines) to rank the same products the same
way. What the order depends on is the shop's order lines and the products they name; a fingerprint of each (its
rows, its newest row, its latest moment) is read instead, two aggregates the tables' keys and indexes answer, and
the purchases only when either changed. What a list may show (in stock, its price band) and what the customer
bought are read per request from the catalog frame and the orders, never from here, so a product discontinued or
repriced since is never served as it was. An order line corrected in place (same order, product and kind, another
customer, moment, quantity or amount: the import updates it) moves none of those aggregates, and one that would see
it reads every line (40-120 ms a request for 165,000 lines, against 2-12 ms for the rest); the orders imports
count their writes instead (``service.db.data_versions``), one row read by its key. The model plays no part: which
of the products it knows is asked of it per request (``PopularFallback.unknown_popular``), a lookup of ids.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommenders.fallback import recent_popularity
from service.db.data_versions import ORDERS, version_of
from service.db.models import Interaction, Product
from service.pipeline.frames import latest_purchases


def popularity_fingerprint(session: Session) -> tuple[Hashable, ...]:
    """What the recent popularity was read from, in a few aggregates: the order lines' count, newest id and latest
    moment, the orders imports' count of writes, and the products' count and latest update. Each is a subquery of its
    own: SQLite reads a lone max() off its index, but max() beside count() in one SELECT scanned the lines (89 ms
    against 7 ms for 160,000 lines)."""
    aggregates = (
        select(func.count()).select_from(Interaction), select(func.max(Interaction.id)),
        select(func.max(Interaction.timestamp)), version_of(ORDERS), select(func.count()).select_from(Product),
        select(func.max(Product.updated_at)),
    )  # fmt: skip
    return tuple(session.execute(select(*(aggregate.scalar_subquery() for aggregate in aggregates))).one())


class PopularityCache:
    """``recent_popularity`` of the shop's purchases, read again only when ``popularity_fingerprint`` changed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fingerprint: tuple[Hashable, ...] | None = None
        self._popularity: pd.Series | None = None

    def get(self, session: Session) -> pd.Series:
        fingerprint = popularity_fingerprint(session)
        with self._lock:  # one request reads the purchases while the others wait for it
            if fingerprint != self._fingerprint:
                self._popularity = recent_popularity(latest_purchases(session))
                self._fingerprint = fingerprint
            return self._popularity
