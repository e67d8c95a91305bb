"""Calls run a few at a time on daemon threads, handed back as each completes, which the caller can walk away from.

A generation's groups are written this way, so that a cancelled one stops at once: once the caller stops reading
(its ``while_waiting`` raised, or it closed the generator), no call begins, and the calls in flight are abandoned,
their results dropped, not waited for. A thread pool's exit waited for them: litellm cannot abort a call to the
local model, and a cancel waited for the groups being written, some 165 s. An abandoned call ends on its own
(its group's deadline bounds it), on a daemon thread that holds no exit up.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# How often the caller's ``while_waiting`` is called while no call completes, in seconds.
WAIT_SECONDS = 0.5


def as_completed(
    call: Callable[[Item], Result],
    items: Sequence[Item],
    concurrency: int,
    while_waiting: Callable[[], None] | None = None,
    abandon: Callable[[], None] | None = None,
    every: float = WAIT_SECONDS,
) -> Iterator[tuple[int, Result]]:
    """``(index, call(items[index]))`` as each call completes, ``concurrency`` calls at most at once; a call's
    error is raised as it completes. ``while_waiting`` is called every ``every`` seconds in which none completes:
    what it raises stops the calls, as closing the generator does; ``abandon`` is then called, for the calls in
    flight to begin no further work of their own (a group's next try)."""
    completed: queue.SimpleQueue = queue.SimpleQueue()
    abandoned = threading.Event()

    def run(index: int) -> None:
        try:
            outcome = (index, call(items[index]), None)
        except BaseException as error:  # noqa: BLE001 (raised in the caller's thread)
            outcome = (index, None, error)
        if not abandoned.is_set():
            completed.put(outcome)

    begun = running = 0
    try:
        while begun < len(items) or running:
            while running < max(concurrency, 1) and begun < len(items):
                context = contextvars.copy_context()  # the job's, for its log lines
                threading.Thread(target=context.run, args=(run, begun), name="call", daemon=True).start()
                begun, running = begun + 1, running + 1
            try:
                index, result, error = completed.get(timeout=every)
            except queue.Empty:
                if while_waiting is not None:
                    while_waiting()
                continue
            running -= 1
            if error is not None:
                raise error
            yield index, result
    finally:
        abandoned.set()
        if running and abandon is not None:
            abandon()
