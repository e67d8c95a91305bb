"""A job's heartbeats. Every job a process holds, queued or running, whatever its kind, beats: one UPDATE every
``HEARTBEAT_SECONDS`` sets ``heartbeat_at`` on all of that process's jobs at once (``JobBeats``), so that any process,
on any host, tells a live job from one whose process died by that time alone (service.jobs.recovery). And while one
step of a job's work runs long (a group's copy from a slow model can take minutes), ``Heartbeat`` reports the job's
last figures again every few seconds, saying how long the step has taken so far, so that a client polling
GET /jobs/{id} sees `message` and `updated_at` move and can tell a working job from a stuck one.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from service.db.clock import database_now
from service.db.models import UNFINISHED_JOB, Job
from service.db.session import session_scope
from service.errors import JobCancelled

log = logging.getLogger("tailor.jobs")

HEARTBEAT_SECONDS = 10.0


class JobBeats:
    """The beat of the jobs this process holds on one database: a thread, while it holds any, sets their
    ``heartbeat_at`` every ``every`` seconds in one UPDATE (not one per job, nor per progress report), leaving
    ``updated_at`` to what the job itself reports. A beat that SQLite's one writer keeps waiting (another process's
    long import transaction) waits on for it, so that it lands as that transaction ends: tried again only a beat
    later, a sweep in between read it as old as the transaction and failed a live job. One the database cannot take
    for another reason (down a moment) is tried again at the next beat."""

    def __init__(self, engine: Engine, every: float = HEARTBEAT_SECONDS) -> None:
        # Not held: its engine is the key this beat is kept under (``job_beats``), and held, neither would ever go.
        # While a job is held, the runner that holds it holds the engine too.
        self._engine, self.every = weakref.ref(engine), every
        self._jobs: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: str) -> None:
        """Beat for ``job_id`` from now on, until ``release``."""
        with self._lock:
            self._jobs.add(job_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._beat, name="job-beats", daemon=True)
                self._thread.start()

    def release(self, job_id: str) -> None:
        with self._lock:
            self._jobs.discard(job_id)

    def _beat(self) -> None:
        while True:
            time.sleep(self.every)
            with self._lock:
                if not self._jobs:  # the thread ends with the last job held, and the next hold starts another
                    self._thread = None
                    return
                jobs = list(self._jobs)
            while self._kept_waiting(jobs):
                time.sleep(0.05)  # each try waits out the busy timeout: this only keeps an answer at once from spinning
                with self._lock:
                    jobs = list(self._jobs)
                if not jobs:
                    break

    def _kept_waiting(self, jobs: list[str]) -> bool:
        """Beat for ``jobs``; whether SQLite's one writer kept it from being written, to be tried again at once."""
        if (engine := self._engine()) is None:
            return False
        try:
            with session_scope(engine) as session:
                beat_for(session, jobs)
        except Exception as error:
            log.debug("job heartbeat not recorded", extra={"jobs": jobs, "error": str(error)})
            locked = isinstance(error, OperationalError) and "locked" in str(error.orig)
            return locked and engine.dialect.name == "sqlite"
        return False


def beat_for(session: Session, job_ids: list[str]) -> None:
    """Say in ``session`` that the unfinished jobs ``job_ids`` live (their beat, by the database's clock, which every
    process judges it by), leaving ``updated_at`` as it is."""
    alive = update(Job).where(Job.id.in_(job_ids), Job.status.in_(UNFINISHED_JOB))
    session.execute(alive.values(heartbeat_at=database_now(), updated_at=Job.updated_at))


_beats: weakref.WeakKeyDictionary[Engine, JobBeats] = weakref.WeakKeyDictionary()
_beats_lock = threading.Lock()


def job_beats(engine: Engine) -> JobBeats:
    """The beat of this process's jobs on ``engine``'s database."""
    with _beats_lock:
        if (beats := _beats.get(engine)) is None:
            beats = _beats[engine] = JobBeats(engine, HEARTBEAT_SECONDS)
        return beats


class Heartbeat:
    """Stands in for a job's ``progress`` around long work: reports pass through as they come, and a thread repeats
    the last one, with the time since, whenever ``every`` seconds go by without a report. A busy database met by the
    thread is left to the job's own next report; a cancellation it meets is raised at that report, whatever its
    figures (a job's report of all done, before it saves its work, would not meet the cancellation itself), in the
    words of the report it repeated, not its own "(still working: ...)": the job stopped at that step, not "still
    working" at it. ``stop_if_asked`` raises it between reports, for work that waits long for one."""

    def __init__(self, progress: Callable[..., None], every: float = HEARTBEAT_SECONDS) -> None:
        self.progress, self.every = progress, every
        self._last: tuple[int, int, str] | None = None
        self._since = time.monotonic()
        self._lock = threading.Lock()
        # met by the thread, raised at the job's next report; and the report it met it repeating
        self._cancelled: JobCancelled | None = None
        self._cancelled_at: tuple[int, int, str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)

    def __call__(self, done: int, total: int, message: str = "", **of_job: Any) -> None:
        """A report, passed on; ``of_job`` (a job's Progress's whole-job figures) with it, not repeated: the job's
        Progress keeps them."""
        with self._lock:
            self._last, self._since = (done, total, message), time.monotonic()
            cancelled, at = self._cancelled, self._cancelled_at
        if cancelled is not None:
            self._raise(cancelled, at)
        self.progress(done, total, message, **of_job)

    def asked_to_stop(self) -> bool:
        """Whether the job was asked to stop (met by the thread, or told to the job's ``progress``, where it can
        say), without a report: asked inside the job's own write transaction too."""
        with self._lock:
            if self._cancelled is not None:
                return True
        asked = getattr(self.progress, "asked_to_stop", None)  # a job's Progress; a plain listener cannot say
        return bool(asked is not None and asked())

    def stop_if_asked(self) -> None:
        """Raise JobCancelled, in the words of the job's last report, where it was asked to stop: for work waiting
        long between two reports (a model writing), which then stops at once rather than at its next report."""
        with self._lock:
            cancelled, at, last = self._cancelled, self._cancelled_at, self._last
        if cancelled is not None:
            self._raise(cancelled, at)
        if last is not None and self.asked_to_stop():
            self.progress(*last)  # a job's Progress, asked to stop, raises there (its figures kept)

    def _raise(self, cancelled: JobCancelled, at: tuple[int, int, str] | None) -> None:
        """Raise the cancellation the thread met, as the job's ``progress`` says it for the report the thread
        repeated (a job's Progress raises again once it did), else as the thread met it."""
        if at is not None:
            self.progress(*at)
        raise cancelled

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.every + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.every / 4):
            with self._lock:
                last, waited = self._last, time.monotonic() - self._since
            if last is None or waited < self.every:
                continue
            done, total, message = last
            try:
                self.progress(done, total, f"{message} (still working: {waited:.0f} s on this step)")
            except JobCancelled as cancelled:
                with self._lock:
                    if self._cancelled is None:
                        self._cancelled, self._cancelled_at = cancelled, last
            except Exception as error:  # the job meets it at its own next report
                log.debug("heartbeat not recorded", extra={"error": str(error)})
