"""Submits a job through a JobRunner on a fixed interval, from a daemon thread of the API process.

One submission at a time: while the job submitted last is still queued or running, a tick is let pass, so a
slow job does not pile up copies of itself behind it. A tick also passes when the optional ``ready`` check says
there is nothing to do, so a frequent check leaves no empty jobs behind. The first submission comes one
interval after start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from service.db.models import UNFINISHED_JOB, Job
from service.db.session import session_scope
from service.jobs.runner import JobFunction, JobRunner

log = logging.getLogger("tailor.jobs")


class PeriodicJob:
    """Every ``interval_seconds``, ``runner.submit(kind, work, **params)`` unless the last one is unfinished
    (which ``engine``'s jobs table tells) or ``ready()`` is False."""

    def __init__(
        self, runner: JobRunner, engine: Engine, kind: str, work: JobFunction, interval_seconds: float,
        params: dict[str, Any], ready: Callable[[], bool] | None = None,
    ) -> None:  # fmt: skip
        self.runner, self.engine, self.kind, self.work, self.params = runner, engine, kind, work, params
        self.ready = ready
        self.interval_seconds = interval_seconds
        self.last_job_id: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"tailor-every-{kind}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _busy(self) -> bool:
        if self.last_job_id is None:
            return False
        with session_scope(self.engine) as session:
            job = session.get(Job, self.last_job_id)
            return job is not None and job.status in UNFINISHED_JOB

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                if not self._busy() and (self.ready is None or self.ready()):
                    self.last_job_id = self.runner.submit(self.kind, self.work, **self.params)
            except Exception:  # a failed submission must not end the schedule; the next tick tries again
                log.exception("scheduled job not submitted", extra={"kind": self.kind})
