"""What a trained recommender's artifact records about itself: the data snapshot it learned from (an
order-independent hash, size and time range), its parameters and, for `auto`, the model it chose.

Storing versions, switching the current one without downtime and loading it are the service's job
(service/pipeline/model_store.py), one store for every kind of model; this module gives it the metadata.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pandas as pd

from recommenders.base import Recommender

SNAPSHOT_COLUMNS = ("customer_id", "product_id", "timestamp", "quantity", "amount", "kind")


def snapshot_hash(interactions: pd.DataFrame) -> str:
    """A stable SHA-256 of the interaction rows that matter for training (order-independent)."""
    columns = [c for c in SNAPSHOT_COLUMNS if c in interactions]
    rows = interactions[columns].astype(str).sort_values(columns, kind="stable")
    digest = hashlib.sha256(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def training_metadata(model: Recommender, interactions: pd.DataFrame) -> dict[str, Any]:
    """JSON-ready facts about a fitted model and the interactions it was fitted on."""
    data: dict[str, Any] = {
        "snapshot_sha256": snapshot_hash(interactions),
        "rows": len(interactions),
        "customers": model.vocabulary.n_customers,
        "products": model.vocabulary.n_products,
    }
    if "timestamp" in interactions and len(interactions):
        timestamps = pd.to_datetime(interactions["timestamp"], utc=True)  # one without a zone is taken to be UTC
        data |= {"first": _utc_text(timestamps.min()), "last": _utc_text(timestamps.max())}
    return {"model": model.name, "chosen": getattr(model, "chosen", None), "params": model.get_params(), "data": data}


def _utc_text(moment: pd.Timestamp) -> str:
    """A UTC moment as RFC 3339 with its zone, ``2024-11-01T02:43:51Z``, as the service writes every moment it gives
    (service.clock.as_text): ``str`` wrote ``2024-11-01 02:43:51``, which a client takes for its own local time."""
    return moment.tz_localize(None).isoformat() + "Z"
