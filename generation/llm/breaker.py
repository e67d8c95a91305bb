"""The campaign's watch on its provider: once ``FAILURES_TO_STOP`` groups' calls failed (down, refused, no answer
in time) before the model had answered any group, the groups left make no call and fail the same way.

Without it, each of a campaign's groups ran its whole schedule of tries against a provider that was down (four
calls and up to minutes of waiting per group), so the campaign's failure took as long as the campaign. One
failure does not stop the rest: a provider may refuse one group's prompt (a content filter) and answer the others.
Once the model has answered one group, a failure is a passing one: the watch stays open, and that group alone
gets the template's copy.
"""

from __future__ import annotations

import threading

FAILURES_TO_STOP = 3


class ProviderWatch:
    """Shared by the threads writing one campaign's groups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answered = False
        self._failures: list[str] = []
        # Set once the campaign stopped (cancelled) while groups were being written: theirs make no further call,
        # and the answers they are reading are closed (generation.llm.stream).
        self.abandoned = threading.Event()

    def abandon(self) -> None:
        self.abandoned.set()

    def answered(self) -> None:
        with self._lock:
            self._answered = True

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failures.append(reason)

    @property
    def stopped(self) -> str | None:
        """The first failure once FAILURES_TO_STOP groups failed while the model had answered none, or that the
        campaign stopped: no new call should be made."""
        with self._lock:
            if self.abandoned.is_set():
                return "the campaign stopped while its copy was being written"
            if self._answered or len(self._failures) < FAILURES_TO_STOP:
                return None
            return self._failures[0]
