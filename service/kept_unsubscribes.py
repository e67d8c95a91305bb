"""Writing the unsubscribes kept on disk while the database was busy (service.unsubscribe_spool): each is written as
its link's POST would have been, at the moment of the click, exactly once (one written twice, after a crash between
the database's commit and the file's update, finds its customers unsubscribed and records nothing), and then
forgotten. ``apply_kept`` is called by every send before it looks whether a customer may be mailed
(service.pipeline.sending), and by the app's ``KeptUnsubscribes`` thread, which tries again while the database is
busy from the moment one is kept, and at the server's start and sweeps for those a stopped process left. A campaign's
export, which writes nothing, reads them (``stopped_by_kept``): its lines say such a customer is not mailable."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import suppress

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from service import unsubscribe_spool
from service.db.models import Send
from service.db.session import session_scope, take_the_write_lock
from service.errors import is_database_busy
from service.events import stopped_by_unsubscribe
from service.unsubscribe import LinkNotFound, stop, target_of

log = logging.getLogger("tailor.unsubscribe")

_BUSY_PAUSE = 0.05  # seconds between tries past a busy SQLite: each try waits out its busy timeout first


def apply_kept(engine: Engine) -> int:
    """Write the kept unsubscribes in one transaction and forget them; how many. Nothing is opened when none is
    kept. The database's error (busy, with nothing written) is raised, and they stay kept."""
    waiting = unsubscribe_spool.kept()
    if not waiting:
        return 0
    with session_scope(engine) as session:
        # Taken first, so that what is read below is not another writer's moment ago (two processes applying one)
        take_the_write_lock(session)
        for one in waiting:
            try:
                target = target_of(session, one.send_id)
            except LinkNotFound:  # erased since, and nobody has its address: nobody to mail
                continue
            stop(session, target, one.clicked_at)  # now, where the clock set back since puts the click still to come
    unsubscribe_spool.forget({one.id for one in waiting})
    return len(waiting)


def stopped_by_kept(session: Session) -> set[int]:
    """The row ids of the customers the kept unsubscribes stop, read without writing (the database may still be
    busy), for what says who may be mailed without sending (a campaign's export); none, and no query, when none is
    kept."""
    stopped: set[int] = set()
    for one in unsubscribe_spool.kept():
        with suppress(LinkNotFound):
            target = target_of(session, one.send_id)
            customers = stopped_by_unsubscribe(session, target) if isinstance(target, Send) else target
            stopped.update(customer.id for customer in customers)
    return stopped


class KeptUnsubscribes:
    """The thread that writes kept unsubscribes as soon as the database takes them: ``wake`` starts it (if it is not
    running), and it ends when none is left, or on an error other than a busy database (logged: the next wake, a
    sweep or a send, tries again)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._woken = False
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        with self._lock:
            self._woken = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kept-unsubscribes", daemon=True)
                self._thread.start()

    def wait(self, timeout: float) -> bool:
        """Wait until the thread has nothing left to write (True), or ``timeout`` seconds (False)."""
        deadline = time.monotonic() + timeout
        while (thread := self._thread) is not None and time.monotonic() < deadline:
            thread.join(min(0.05, max(deadline - time.monotonic(), 0)))
        return self._thread is None

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._woken:
                    self._thread = None
                    return
                self._woken = False
            self._written()

    def _written(self) -> None:
        while True:
            try:
                apply_kept(self.engine)
                return
            except Exception as error:  # noqa: BLE001 (the database busy, or down)
                if not is_database_busy(error):
                    log.warning("kept unsubscribes were not written yet", exc_info=True)
                    return
            time.sleep(_BUSY_PAUSE)
