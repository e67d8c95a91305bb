"""The database's clock, for moments that processes on different hosts write and judge: a job's beat.

Each host's own clock may be off the others' (a host 20 s behind wrote beats that every other process read as
missed, and failed its live jobs). Written and judged by the database's clock, a beat depends on one clock only.
``database_now()`` is that moment as a SQL expression, UTC without a zone like every moment the service keeps
(service.clock): on PostgreSQL the time at the call (``clock_timestamp()``: ``now()`` stays at the start of the
transaction), on SQLite ``'now'`` to the millisecond, written in the very text SQLAlchemy keeps a ``DateTime`` in
(``YYYY-MM-DD HH:MM:SS.ffffff``): its own ``CURRENT_TIMESTAMP`` ('YYYY-MM-DD HH:MM:SS') reads back as the same
moment, but as text it equals no moment bound from Python, and the update that fails a job only as it was read
(service.jobs.recovery) would never find it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement


class database_now(FunctionElement):
    """Now by the database's clock, in UTC without a zone."""

    type = DateTime()
    name = "database_now"
    inherit_cache = True


@compiles(database_now, "postgresql")
def _postgresql_now(_element: database_now, _compiler: Any, **_kw: Any) -> str:
    return "timezone('utc', clock_timestamp())"


@compiles(database_now, "sqlite")
def _sqlite_now(_element: database_now, _compiler: Any, **_kw: Any) -> str:
    return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"  # %f is seconds to the millisecond: "SS.SSS"


@compiles(database_now)
def _standard_now(_element: database_now, _compiler: Any, **_kw: Any) -> str:
    return "CURRENT_TIMESTAMP"


def now_in_database(session: Session) -> datetime:
    """Now by the database's clock (``database_now``), read in ``session``."""
    return session.scalar(select(database_now()))
