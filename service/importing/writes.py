"""Writing a chunk of an import: the new keys inserted and the known ones updated, ``WRITE_BATCH`` rows a statement, the
rows that say what is stored already left as they are; and the summary of what an import wrote (``ImportSummary``),
with its progress as rows written of rows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from service.db.batches import rows_where_in
from service.errors import Problem
from service.importing.customer_rows import same_values

# Rows per INSERT or UPDATE of a big file: memory stays bounded, and each round trip still carries many rows.
WRITE_BATCH = 20_000
Report = Callable[[int, int, str], None]  # progress: (done, total, message)


def silent(_done: int, _total: int, _message: str = "") -> None:
    pass


@dataclass(frozen=True)
class ImportSummary:
    kind: str
    rows: int
    inserted: int
    updated: int  # rows of known keys that brought a change, and were written
    unchanged: int = 0  # rows of known keys that say what is stored already, and were not written again
    warnings: tuple[str, ...] = ()  # about data that was written but will not work as the shop may expect
    left_out: int = 0  # rows of erased customers, not written (``rows`` counts those written), named in a warning
    left_out_rows: tuple[Problem, ...] = ()  # each of those, by row, as `tailor import --problems` lists them
    date_orders: tuple[str, ...] = ()  # how each date column's numeric dates were read, and why (date_orders)
    drafts_moved: int = 0  # drafts waiting for a time of their customer's day, moved to their new zone's clock

    @property
    def changed_nothing(self) -> bool:
        """Whether every row said what was stored already (or was left out): nothing was written."""
        return self.inserted == 0 and self.updated == 0


def summed(total: ImportSummary, *summaries: ImportSummary) -> ImportSummary:
    """``total`` with the rows of ``summaries`` counted in."""
    for summary in summaries:
        total = replace(
            total, rows=total.rows + summary.rows, inserted=total.inserted + summary.inserted,
            updated=total.updated + summary.updated, unchanged=total.unchanged + summary.unchanged,
            drafts_moved=total.drafts_moved + summary.drafts_moved,
        )  # fmt: skip
    return total


def progress_after(done: int, total: int, report: Report) -> Report:
    """A chunk's progress as the file's: its rows come after ``done`` of about ``total``."""
    return lambda written, _rows, message: report(done + written, max(total, done + written), message)


def known_keys(session: Session, key_column, id_column, keys: Iterable) -> dict[str, int]:
    """Primary keys of the rows whose ``key_column`` is one of ``keys``, asked in batches (not the whole table)."""
    return dict(rows_where_in(session, (key_column, id_column), key_column, keys))


def known_ids(known: dict, keys, n_rows: int) -> pd.Series:
    """Per row, the primary key of the stored row with the same key, or NaN for a new one."""
    if not known:
        return pd.Series(np.nan, index=range(n_rows))
    return pd.Series([known.get(key, np.nan) for key in keys], dtype=float)


def upsert(
    session: Session, model, key: str, records: list[dict], kind: str, progress: Report,
    existing: dict[str, int] | None = None,
) -> ImportSummary:  # fmt: skip
    """Insert the records whose `key` is new, update the others, and report them written as `write_frame`
    does, as ``kind`` (the file's: products); `existing` (key -> id of the stored row) when the caller has already
    looked the keys up."""
    if existing is None:
        existing = known_keys(session, getattr(model, key), model.id, (r[key] for r in records))
    new = [r for r in records if r[key] not in existing]
    known = [{"id": existing[r[key]], **r} for r in records if r[key] in existing]
    changed = _changed(session, model, known)
    write_rows(session, model, new, changed)
    progress(len(records), len(records), f"writing {kind}")
    return ImportSummary(kind, len(records), len(new), len(changed), len(known) - len(changed))


def _changed(session: Session, model, known: list[dict]) -> list[dict]:
    """Of the records of stored rows (each with its row's ``id``), those that differ from the row in a column
    they write; when it was written (``updated_at``) is no change. A file imported twice updated every row again,
    and said the whole file was updated."""
    if not known:
        return []
    names = [name for name in known[0] if name not in ("id", "updated_at")]
    columns = (model.id, *(getattr(model, name) for name in names))
    stored = {row[0]: tuple(row[1:]) for row in rows_where_in(session, columns, model.id, (r["id"] for r in known))}
    return [r for r in known if r["id"] not in stored or not same_values([r[n] for n in names], stored[r["id"]])]


def same_as_stored(records: pd.DataFrame, ids: pd.Series, stored: pd.DataFrame) -> np.ndarray:
    """Per row of ``records``, whether it has a stored row (its id in ``ids``) holding the same value in each of
    ``stored``'s columns but ``id`` (missing equals missing)."""
    same = ids.notna().to_numpy().copy()
    if not same.any():
        return same
    by_id = stored.drop_duplicates("id").set_index("id")
    found = by_id.reindex(ids.to_numpy())
    for name in by_id.columns:
        mine, theirs = records[name].reset_index(drop=True), found[name].reset_index(drop=True)
        if pd.api.types.is_datetime64_any_dtype(mine):  # as stored: the database keeps microseconds
            mine, theirs = mine.dt.floor("us"), pd.to_datetime(theirs)
        elif pd.api.types.is_numeric_dtype(mine):
            theirs = pd.to_numeric(theirs)
        same &= ((mine == theirs) | (mine.isna() & theirs.isna())).to_numpy()
    return same


def summary_of(kind: str, ids: pd.Series, same: np.ndarray) -> ImportSummary:
    known = ids.notna().to_numpy()
    return ImportSummary(kind, len(ids), int((~known).sum()), int((known & ~same).sum()), int(same.sum()))


def write_rows(session: Session, model, new: list[dict], changed: list[dict]) -> None:
    if new:
        session.execute(insert(model), new)
    if changed:
        session.execute(update(model), changed)
    session.flush()


def write_frame(
    session: Session, model, records: pd.DataFrame, ids: pd.Series, progress: Report, what: str, already: int = 0
) -> None:
    """Insert the rows without an id and update the others, ``WRITE_BATCH`` rows at a time, so that memory
    stays bounded whatever the file's size (the caller's transaction still makes it all or nothing); ``already``:
    the rows of the chunk that are done without a write (unchanged), counted done in the progress, which calls
    them ``what`` in the shop's words ("order lines", not the table's "interactions")."""
    ids = ids.set_axis(records.index)
    new, changed = records[ids.isna().to_numpy()], records[ids.notna().to_numpy()]
    changed = changed.assign(id=ids[ids.notna()].astype("int64"))
    # Inserts go through Core: the ORM's bulk path adds about as much time again as SQLite's own work.
    written, message = already, f"writing {what}"
    for frame, statement in ((new, model.__table__.insert()), (changed, update(model))):
        for start in range(0, len(frame), WRITE_BATCH):
            batch = frame.iloc[start : start + WRITE_BATCH]
            session.execute(statement, plain_records(batch))
            written += len(batch)
            progress(written, len(records) + already, message)
    progress(len(records) + already, len(records) + already, message)
    session.flush()


def plain_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values for the database driver: None for missing, datetime for times."""
    names, columns = [str(name) for name in frame.columns], []
    for _, column in frame.items():
        is_time = pd.api.types.is_datetime64_any_dtype(column)
        values = list(column.dt.to_pydatetime()) if is_time else column.tolist()
        for position in np.flatnonzero(column.isna().to_numpy()):
            values[position] = None
        columns.append(values)
    # Built column by column and zipped: a third of the time of DataFrame.to_dict("records") on a batch.
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
