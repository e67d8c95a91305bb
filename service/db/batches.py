"""Long lists of keys in SQL, cut into batches: SQLite allows 250,000 bound values in a statement and
PostgreSQL 65,535, so an ``IN (...)`` over every send or draft of a big shop must be split; and a big table read a
page of rows at a time, as the data migrations rewrite it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Connection, Row, Select, select
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


def pages_by_id(connection: Connection, read: Select, id_column: Any) -> Iterator[list[Row]]:
    """The rows ``read`` selects (ordered by ``id_column``, a positive integer key it selects, and limited to a page),
    a page at a time: each page the rows past the last id of the page before, so that the rows a caller rewrites
    between two pages neither shift nor repeat the walk (an OFFSET would)."""
    last = 0
    while rows := connection.execute(read.where(id_column > last)).all():
        last = rows[-1]._mapping[id_column]
        yield rows
