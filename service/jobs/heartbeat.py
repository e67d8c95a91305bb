"""A job's heartbeat: while one step of its work runs long (a group's copy from a slow model can take minutes), the
job's last figures are reported again every few seconds, saying how long the step has taken so far, so that a
client polling GET /jobs/{id} sees `message` and `updated_at` move and can tell a working job from a stuck one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service.errors import JobCancelled

log = logging.getLogger("tailor.jobs")

HEARTBEAT_SECONDS = 10.0


class Heartbeat:
    """Stands in for a job's ``progress`` around long work: reports pass through as they come, and a thread repeats
    the last one, with the time since, whenever ``every`` seconds go by without a report. A busy database met by the
    thread is left to the job's own next report; a cancellation it meets is raised at that report, whatever its
    figures (a job's report of all done, before it saves its work, would not meet the cancellation itself)."""

    def __init__(self, progress: Callable[..., None], every: float = HEARTBEAT_SECONDS) -> None:
        self.progress, self.every = progress, every
        self._last: tuple[int, int, str] | None = None
        self._since = time.monotonic()
        self._lock = threading.Lock()
        self._cancelled: JobCancelled | None = None  # met by the thread, raised at the job's next report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)

    def __call__(self, done: int, total: int, message: str = "") -> None:
        with self._lock:
            self._last, self._since = (done, total, message), time.monotonic()
            cancelled = self._cancelled
        if cancelled is not None:
            raise cancelled
        self.progress(done, total, message)

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
                    self._cancelled = self._cancelled or cancelled
            except Exception as error:  # the job meets it at its own next report
                log.debug("heartbeat not recorded", extra={"error": str(error)})
