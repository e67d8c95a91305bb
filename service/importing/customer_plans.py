"""The plans of every chunk of a customers file, made before any of it is written and kept in a temporary file until
the import writes them, so that on SQLite the database's one write lock is taken once the whole file is planned, and
held for the check and the writes alone (service.importing.customer_locks). Planned chunk by chunk and written chunk
by chunk, the lock the first chunk's write took was held while every later chunk was read and compared: at 150,000
changed customers, most of the 5 s it was held, and other writers (API writes, tracking events) waited that long.

A chunk is kept as what its write takes (``ChunkWrites``: the updates already converted for the driver), each
customer's stored row as read (``customer_rows.AS_TEXT``, for the check) and, apart, the chunk's rows, read back only
to plan again the customers another writer changed meanwhile: reading back whole plans (records, stored values) took
longer, with the lock held, than the comparison it spared. Memory holds one chunk at a time, as it did; the temporary
file (without a name on disk, gone once closed: once written, or refused) about 250 bytes a new customer and 360 a
changed one (evals.scale.customer_import's file: 25 and 36 MB for 100,000). Written all at once, the file's every
chunk stays in the caller's one transaction, and a refused file leaves nothing written, as before."""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from service.importing.customer_locks import data_version_unlocked, unchanged_once_locked
from service.importing.customer_rows import CustomerPlan, driver_updates, stored_as_text, stored_customers
from service.settings import SendScheduleSettings


@dataclass(frozen=True)
class ChunkWrites:
    """What a chunk of a customers file writes, by customer id (the file's), so that a customer planned again
    replaces theirs: the records of new customers; the changed customers' updates, as SQLite's driver takes them
    (``customer_rows.driver_updates``) or, on PostgreSQL, as records with their row's ``id``; the moves of their clock
    (row id, zone before, zone after: service.zone_moves); the consent changes; and the row ids of the stored
    customers among those."""

    inserts: dict[str, dict[str, Any]]
    driver_updates: dict[str, tuple]
    updates: dict[str, dict[str, Any]]
    zone_moves: dict[str, tuple[int, str, str]]
    changes: dict[str, list[tuple[str, datetime]]]
    ids: dict[str, int]

    @classmethod
    def of(cls, session: Session, plan: CustomerPlan, now: datetime) -> ChunkWrites:
        existing = {external: customer.id for external, customer in plan.stored.items()}
        sqlite = session.get_bind().dialect.name == "sqlite"
        shop = SendScheduleSettings().timezone  # the clock of a customer without a zone of their own
        return cls(
            inserts={r["external_id"]: r for r in plan.records if r["external_id"] not in existing},
            driver_updates=driver_updates(session, plan, plan.changed, now) if sqlite else {},
            updates={} if sqlite else {
                r["external_id"]: {"id": existing[r["external_id"]], **r}
                for r in plan.records
                if r["external_id"] in plan.changed
            },
            zone_moves={
                r["external_id"]: (existing[r["external_id"]], before, r["timezone"] or shop)
                for r in plan.records
                if r["external_id"] in existing
                and (before := plan.stored[r["external_id"]].timezone or shop) != (r["timezone"] or shop)
            },
            changes=plan.changes,
            ids={external: existing[external] for external in plan.changes if external in existing},
        )  # fmt: skip

    def replaced(self, customers: set[str], again: ChunkWrites) -> ChunkWrites:
        """These writes with those of ``customers`` replaced by ``again``'s."""

        def kept(writes: dict) -> dict:
            return {external: value for external, value in writes.items() if external not in customers}

        return ChunkWrites(*(kept(mine) | theirs for mine, theirs in zip(self._parts(), again._parts(), strict=True)))

    def _parts(self) -> tuple[dict, ...]:
        return self.inserts, self.driver_updates, self.updates, self.zone_moves, self.changes, self.ids


@dataclass(frozen=True)
class PlannedChunk:
    """A chunk of a customers file as planned at ``now``: its customer ids, in its rows' order, the stored rows of
    those stored as they were read (``customer_rows.AS_TEXT``; SQLite), and its writes."""

    customer_ids: list[str]
    as_text: dict[str, str]
    writes: ChunkWrites
    now: datetime

    def checked(self, session: Session, rows: Callable[[], pd.DataFrame]) -> PlannedChunk:
        """The chunk as planned once SQLite's write lock is held, where another writer may have committed since it
        was planned: the customers stored otherwise now (changed, inserted or removed since, by their ``AS_TEXT``)
        planned again from their ``rows`` (the chunk's, read back only then)."""
        as_text = stored_as_text(session, self.customer_ids)
        moved = {key for key in self.customer_ids if as_text.get(key) != self.as_text.get(key)}
        if not moved:
            return self
        chunk = rows()
        again = CustomerPlan.of(chunk[chunk.customer_id.isin(moved)], stored_customers(session, moved), self.now)
        writes = self.writes.replaced(moved, ChunkWrites.of(session, again, self.now))
        return PlannedChunk(self.customer_ids, as_text, writes, self.now)


def planned(session: Session, rows: pd.DataFrame, now: datetime) -> PlannedChunk:
    """The plan of ``rows`` over the customers stored now, made without taking SQLite's write lock."""
    stored, as_text = stored_customers(session, rows.customer_id)
    plan = CustomerPlan.of(rows, (stored, as_text), now)
    return PlannedChunk(list(rows.customer_id), as_text, ChunkWrites.of(session, plan, now), now)


class PlannedChunks:
    """A file's planned chunks, in the file's order (``add``), then each as the write lock lets it be written
    (``locked``)."""

    def __init__(self, session: Session) -> None:
        # Before the first chunk's customers are read: a commit of another connection after it changes the version.
        self.version = data_version_unlocked(session)
        self.kept = tempfile.TemporaryFile(prefix="tailor-customer-plans-")  # noqa: SIM115 (closed once written or refused)
        self.starts: list[tuple[int, int]] = []  # where each chunk's plan starts in ``kept``, and its rows
        self.rows = 0  # the rows of the chunks kept

    def add(self, chunk: PlannedChunk, rows: pd.DataFrame) -> None:
        """Keep ``chunk``, planned from ``rows``."""
        start = self.kept.tell()
        pickle.dump(chunk, self.kept, protocol=pickle.HIGHEST_PROTOCOL)
        self.starts.append((start, self.kept.tell()))
        pickle.dump(rows, self.kept, protocol=pickle.HIGHEST_PROTOCOL)
        self.rows += len(rows)

    @property
    def size(self) -> int:
        """The bytes the plans kept take."""
        return self.kept.seek(0, 2)

    def locked(self, session: Session) -> Iterator[PlannedChunk]:
        """Each chunk once SQLite's write lock is held (taken here, held until the commit), checked where another
        connection committed since the first was read (``PlannedChunk.checked``); each as planned on PostgreSQL, whose
        row locks were taken before (``customer_locks.lock_customers``), or where the transaction held the lock
        already. The temporary file is closed once the last is given."""
        unchanged = self.version is None or unchanged_once_locked(session, self.version)
        try:
            for start, rows_start in self.starts:
                chunk = self._read(start)
                yield chunk if unchanged else chunk.checked(session, lambda at=rows_start: self._read(at))
        finally:
            self.close()

    def _read(self, start: int) -> Any:
        self.kept.seek(start)
        return pickle.load(self.kept)  # noqa: S301 (this import's own file, written above)

    def close(self) -> None:
        self.kept.close()
