"""/health's look at the database (the revision it is at), bounded in time: a PostgreSQL server that accepts
connections but does not answer (its processes stopped, a lock on ``alembic_version`` held by another session) kept
/health waiting as long as the database did, and a monitor saw a service neither up nor down."""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as NoConnectionFree

from service.errors import DatabaseUnavailable, no_connection_free

log = logging.getLogger("tailor.db")
QUERY_CANCELED = "57014"  # PostgreSQL's error for a statement cancelled by its statement_timeout


class RevisionProbe:
    """Reads the database's revision on a thread of its own and waits for it at most ``seconds``. One read at a
    time: a call while one is under way waits for that one (its answer is as fresh), so a database that never
    answers holds one thread and one connection, however often a monitor asks. On PostgreSQL the read is also a
    statement that the server cancels after ``seconds`` (a lock waited for), freeing both."""

    def __init__(self, engine: Engine, seconds: float) -> None:
        self.engine = engine
        self.seconds = seconds
        self._lock = threading.Lock()
        self._reading: Future[str | None] | None = None

    async def revision(self) -> str | None:
        """The revision ``alembic_version`` holds; DatabaseUnavailable when the database did not answer within
        ``seconds`` (the read goes on, for the next call to take up), or the database's own error. Awaited, never
        waited for on the server's threads: requests waiting on a database that does not answer can hold every
        thread the server runs routes on, and /health waited behind them."""
        with self._lock:
            reading = self._reading
            if reading is None or reading.done():
                reading = self._reading = Future()
                threading.Thread(target=self._read, args=(reading,), name="tailor-health-probe", daemon=True).start()
        answer = asyncio.wrap_future(reading)
        answer.add_done_callback(_taken)
        try:  # shielded: the read is not cancelled with this wait, the next call takes it up
            return await asyncio.wait_for(asyncio.shield(answer), self.seconds)
        except TimeoutError:
            log.error("database did not answer /health", extra={"seconds": self.seconds})
            raise DatabaseUnavailable(self.unanswered()) from None

    def unanswered(self) -> str:
        return (
            f"The database did not answer within {self.seconds:g} s (TAILOR_DB_HEALTH_TIMEOUT_SECONDS): its server is "
            "stopped or overloaded, or another session holds a lock on Tailor's tables (PostgreSQL's pg_stat_activity "
            "shows which sessions wait and which hold them)."
        )

    def _read(self, reading: Future[str | None]) -> None:
        try:
            with self.engine.begin() as connection:
                if connection.dialect.name == "postgresql":
                    timeout = max(1, round(self.seconds * 1000))
                    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {timeout}")
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != QUERY_CANCELED:
                reading.set_exception(error)
                return
            reading.set_exception(DatabaseUnavailable(self.unanswered()))
        except NoConnectionFree:
            reading.set_exception(no_connection_free())
        except BaseException as error:  # noqa: BLE001 (the caller's to raise)
            reading.set_exception(error)
        else:
            reading.set_result(revision)


def _taken(answer: asyncio.Future) -> None:
    """Take the error of a read that ended after its caller stopped waiting (told by the next call's own read), which
    asyncio logged as never retrieved."""
    if not answer.cancelled():
        answer.exception()
