"""How many times an import wrote one kind of the shop's data (``models.DataVersion``): counted in the writer's
transaction, read by a cache to tell whether the data it holds changed."""

from __future__ import annotations

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from service.db.models import DataVersion

ORDERS = "orders"


def count_write(session: Session, name: str) -> None:
    """One more write of ``name``'s data, in the caller's transaction: on PostgreSQL the row's lock keeps two writers
    from counting the same number, the second waiting for the first's commit (a moment, or the highest id, could be
    committed out of order and count nothing)."""
    session.execute(update(DataVersion).where(DataVersion.name == name).values(version=DataVersion.version + 1))


def version_of(name: str) -> Select:
    """The count of ``name``'s writes: one row read by its key."""
    return select(DataVersion.version).where(DataVersion.name == name)
