"""Unsubscribes that the database could not take when they came (SQLite's one writer held past its busy timeout by a
long write, a customers import's): each kept as a line of an append-only file under TAILOR_HOME, written through to
the disk (fsync) before the page tells the person they are unsubscribed, until service.unsubscribe applies it. A
line names the send whose link was followed and the moment it was, which the consent history keeps as the
unsubscribe's time however late it is written. The file is this host's: the spool serves SQLite, whose database
is too."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from service.settings import home_settings

log = logging.getLogger("tailor.unsubscribe")

SPOOL_NAME = "unsubscribes-pending.jsonl"


class Kept(NamedTuple):
    """An unsubscribe waiting to be written: its own id (to forget it once written), the send its link named and
    when it was followed."""

    id: str
    send_id: int
    clicked_at: datetime


def spool_path() -> Path:
    return home_settings().home / SPOOL_NAME


def keep(send_id: int, clicked_at: datetime) -> None:
    """Append the unsubscribe of ``send_id``'s link, followed at ``clicked_at``, and return once the disk has it (the
    file, and the folder's entry for a new file). After a line cut short, on a line of its own: joined to it, it
    could not be read either."""
    path = spool_path()
    line = json.dumps({"id": uuid.uuid4().hex, "send_id": send_id, "clicked_at": clicked_at.isoformat()}) + "\n"
    with _locked():
        new = not path.exists()
        descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(descriptor).st_size
            cut_short = size > 0 and os.pread(descriptor, 1, size - 1) != b"\n"
            os.write(descriptor, (("\n" if cut_short else "") + line).encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        if new:
            _sync_folder(path.parent)


def kept() -> list[Kept]:
    """The unsubscribes waiting, in the order they came; none (without opening anything) when the file is absent or
    empty, as it is but while the database is busy. A line cut short (the process stopped as it wrote it, before
    the page answered) is logged and removed."""
    path = spool_path()
    try:
        if path.stat().st_size == 0:
            return []
    except FileNotFoundError:
        return []
    with _locked():
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        readable = [line for line in lines if _read(line) is not None]
        if len(readable) < len(lines):
            log.warning("lines cut short of the unsubscribes kept while the database was busy were removed",
                        extra={"path": str(path), "lines": len(lines) - len(readable)})  # fmt: skip
            _replace(path, readable)
    return [entry for line in readable if (entry := _read(line)) is not None]


def forget(written: Collection[str]) -> None:
    """Remove the unsubscribes of these ids, written to the database."""
    if not written:
        return
    path = spool_path()
    with _locked():
        try:
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        except FileNotFoundError:
            return
        _replace(path, [line for line in lines if (entry := _read(line)) is not None and entry.id not in written])


def _replace(path: Path, lines: list[str]) -> None:
    """Replace the file whole by one of ``lines`` (written through first), so that a crash leaves either, never half
    of one. Called with the lock held."""
    replacement = path.with_name(f".{SPOOL_NAME}.new")
    descriptor = os.open(replacement, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(descriptor, "".join(lines).encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(replacement, path)
    _sync_folder(path.parent)


def _read(line: str) -> Kept | None:
    """The unsubscribe a line holds; None for one cut short."""
    try:
        entry = json.loads(line)
        return Kept(entry["id"], int(entry["send_id"]), datetime.fromisoformat(entry["clicked_at"]))
    except (ValueError, KeyError, TypeError):
        return None


@contextmanager
def _locked() -> Iterator[None]:
    """Held while the file is appended to, read or replaced, by any process on this host: a lock file of its own,
    never replaced, so that an append waiting for it never writes into a file a replacement took away."""
    path = spool_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(f".{SPOOL_NAME}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
