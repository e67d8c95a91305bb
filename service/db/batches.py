"""Long lists of keys in SQL, cut into batches: SQLite allows 250,000 bound values in a statement and
PostgreSQL 65,535, so an ``IN (...)`` over every send or draft of a big shop must be split."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

# Well under both databases' limits, and large enough that a batch's round trip costs little.
IN_BATCH = 10_000


def batches(values: Iterable[T], size: int = IN_BATCH) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``, in order."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
