"""Long lists of keys in SQL, cut into batches: SQLite allows 250,000 bound values in a statement and
PostgreSQL 65,535, so an ``IN (...)`` over every send or draft of a big shop must be split."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

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


def rows_where_in(session: Session, columns: tuple, key_column: Any, keys: Iterable) -> Iterator[Row]:
    """The rows of ``select(*columns)`` whose ``key_column`` is one of ``keys`` (duplicates asked once), asked
    ``IN_BATCH`` keys at a time."""
    for batch in batches(dict.fromkeys(keys), size=IN_BATCH):  # read at call time, so tests can shrink it
        yield from session.execute(select(*columns).where(key_column.in_(batch)))
