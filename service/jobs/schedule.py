"""Submits a job through a JobRunner on a fixed interval, from a daemon thread of the API process.

One submission at a time: while a job of the same kind is still queued or running, a tick is let pass, so a slow job
does not pile up copies of itself behind it, and of two servers on one database only one runs it at a time (the
due-checks of both would otherwise share out the same drafts; each draft is still sent once, by its claim; two
retrains trained the same data twice): the look for a live job is made again in the transaction that writes the
new job's row, one such submission at a time (``JobRunner.submit_checked``), so that two servers whose ticks came
together do not both find none and both submit one. A job
whose process died holds back no tick: one that missed its beats (service.jobs.recovery.abandoned), or, of a process
that does not beat, one whose row has not moved for ``STALE_AFTER`` or whose process on this host is gone. A tick
also passes when the optional ``ready`` check says there is nothing to do, so a frequent check leaves no empty jobs
behind. The first submission comes one interval after start. After a job that failed (a mail server down for the
due-check), ticks are let pass, twice as many after each failure in a row, up to an hour's worth: it filled the jobs
table, the log and the webhook with the same failure every few minutes for as long as the cause lasted.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from service.db.clock import now_in_database
from service.db.models import UNFINISHED_JOB, Job
from service.db.session import session_scope
from service.jobs.recovery import STALE_AFTER, abandoned, is_orphaned
from service.jobs.runner import JobCheck, JobFunction, JobRunner, JobRunning

log = logging.getLogger("tailor.jobs")
BACKOFF_UP_TO_SECONDS = 3600


class PeriodicCall:
    """Every ``interval_seconds``, ``call()`` on a daemon thread of the API process; a call that fails is logged and
    the next one comes. The schedule of PeriodicJob, and alone the housekeeping that is no job: of the jobs themselves
    (service.jobs.runner.sweep_jobs), and of the history kept too long (service.retention.prune_history)."""

    def __init__(self, name: str, call: Callable[[], Any], interval_seconds: float) -> None:
        # A wait longer than the platform's clock can take (TAILOR_SEND_DUE_CHECK_MINUTES=1e300, or an interval in
        # hours made infinite by its seconds) killed the thread with an OverflowError: that longest wait stands for
        # it, some 292 years, which is never all the same.
        self.name, self.call, self.interval_seconds = name, call, min(interval_seconds, threading.TIMEOUT_MAX)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"tailor-every-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self._call()

    def _call(self) -> None:
        try:
            self.call()
        except Exception:  # the database down, a failed submission: the schedule goes on, the next call tries
            log.exception("periodic call failed", extra={"call": self.name})


class DelayedCall(PeriodicCall):
    """``call()`` once, ``interval_seconds`` after start, unless stopped before."""

    def _loop(self) -> None:
        if not self._stop.wait(self.interval_seconds):
            self._call()


def _still_run(job: Job, now: datetime) -> bool:
    """Whether a process still runs ``job``, ``now`` by the database's clock: it beat lately; or, of a process that
    does not beat, its row moved within ``STALE_AFTER`` and its process, where on this host, lives."""
    if job.heartbeat_at is not None:
        return not abandoned(job, now)
    return job.updated_at > now - STALE_AFTER and not is_orphaned(job.worker)


def live_job(engine: Engine, kind: str, own: str | None = None, also: tuple[str, ...] = ()) -> str | None:
    """The id of a job of ``kind`` (or of a kind ``also`` names) that a process still runs (a server's due-check, or a
    command's), if any, ``own`` (a job the caller submitted) counted while it is unfinished: what keeps a schedule's
    tick, or `tailor send-due`, from starting a second one beside it."""
    with session_scope(engine) as session:
        return live_job_in(session, kind, own, also)


def live_job_in(session: Session, kind: str, own: str | None = None, also: tuple[str, ...] = ()) -> str | None:
    """``live_job``, read in ``session``'s transaction."""
    unfinished = session.scalars(select(Job).where(Job.kind.in_((kind, *also)), Job.status.in_(UNFINISHED_JOB)))
    now = now_in_database(session)
    return next((job.id for job in unfinished if job.id == own or _still_run(job, now)), None)


def none_live(kind: str, own: str | None = None, also: tuple[str, ...] = ()) -> JobCheck:
    """The check (``JobRunner.submit_checked``) that refuses a job of ``kind`` while one of it (or of a kind ``also``
    names) is live (``live_job``): JobRunning naming it."""

    def check(session: Session) -> None:
        if (running := live_job_in(session, kind, own, also)) is not None:
            raise JobRunning(running)

    return check


class PeriodicJob(PeriodicCall):
    """Every ``interval_seconds``, ``runner.submit(kind, work, **params)`` unless a job of ``kind``, or of a kind
    ``waits_for`` names, is unfinished (which ``engine``'s jobs table tells) or ``ready()`` is False: the scheduled
    retrain waits for any training (POST /train on another server: it trained the same data beside it)."""

    def __init__(
        self, runner: JobRunner, engine: Engine, kind: str, work: JobFunction, interval_seconds: float,
        params: dict[str, Any], ready: Callable[[], bool] | None = None, waits_for: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        super().__init__(kind, self._tick, interval_seconds)
        self.runner, self.engine, self.kind, self.work, self.params = runner, engine, kind, work, params
        self.ready, self.waits_for = ready, waits_for
        self.last_job_id: str | None = None
        self.failures = 0  # of its jobs in a row
        self._passing = 0  # ticks still to let pass after them
        # at most an hour between two tries: the ticks that may pass in a row (none for a schedule of an hour or more)
        self._most_passed = max(0, math.ceil(BACKOFF_UP_TO_SECONDS / interval_seconds) - 1)

    def _busy(self) -> bool:
        return live_job(self.engine, self.kind, own=self.last_job_id, also=self.waits_for) is not None

    def _tick(self) -> None:
        if self._passing:
            self._passing -= 1
            return
        if self._busy() or self._backing_off():
            return
        if self.ready is None or self.ready():
            check = none_live(self.kind, own=self.last_job_id, also=self.waits_for)
            try:
                self.last_job_id = self.runner.submit_checked(self.kind, self.work, check, **self.params)
            except JobRunning as running:  # another server's, submitted since the look above
                log.info("scheduled job let pass: another runs", extra={"kind": self.kind, "job_id": running.job_id})
        else:  # nothing to do: the next failure, if one comes, is counted from the start
            self.failures = 0

    def _backing_off(self) -> bool:
        """Whether this tick passes because the last job failed; counts the failures in a row."""
        with session_scope(self.engine) as session:
            status = session.scalar(select(Job.status).where(Job.id == self.last_job_id)) if self.last_job_id else None
        if status != "failed":
            self.failures = 0 if status is not None else self.failures
            return False
        self.failures += 1
        self.last_job_id = None  # counted once
        passed = min(2**self.failures - 1, self._most_passed)  # 1, 3, 7... ticks: this one and the next ones
        if not passed:  # a schedule of an hour or more waits its interval
            return False
        self._passing = passed - 1
        log.warning(
            "scheduled job failed: waiting before the next", extra={"kind": self.kind, "failures": self.failures,
            "seconds": round(passed * self.interval_seconds)},
        )  # fmt: skip
        return True
