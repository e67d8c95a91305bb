"""Reads a streamed answer on a worker thread while the caller watches the clock, so that a model still writing,
however slowly, is told from one that stopped: a hang is judged by no piece of the answer arriving, not by the
whole answer taking long.

Three limits, each named in `Stalled.limit`: ``first`` until the answer begins, the first piece that `begins` it
(a request queued behind the local server's busy slots gets no byte at all until a slot frees, a prompt is read
before the first token, and a provider may send its reply's role at once, then think before it writes), ``gap``
between pieces once the answer began, and ``ends_at`` for the whole answer on the clock.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_END = object()


class Abandoned(Exception):
    """The caller walked away from the answer (a cancelled generation): the stream is closed, its pieces dropped."""


# How often a reader told ``abandoned`` looks whether it was, in seconds.
ABANDON_CHECK_SECONDS = 0.25


class Stalled(Exception):
    """No piece of the answer came in time; ``limit`` says which limit ran out ("first", "gap" or "ends_at") and
    ``seconds`` how long it allowed."""

    def __init__(self, limit: str, seconds: float) -> None:
        super().__init__(f"{limit}: {seconds:g} s")
        self.limit = limit
        self.seconds = seconds


def read_stream(
    open_stream: Callable[[], Iterator[Any]], begins: Callable[[Any], bool], first: float, gap: float, ends_at: float,
    abandoned: threading.Event | None = None,
) -> list[Any]:  # fmt: skip
    """Every piece ``open_stream()`` yields, in order; Stalled when a limit runs out, Abandoned once ``abandoned`` is
    set, the stream's own error as it is. ``ends_at`` is a ``time.perf_counter()`` moment. Given up on, the stream
    is closed by its worker at its next piece (which tells a server to stop writing: an abandoned call no longer
    holds one of the local server's slots for the next generation), or ends with its HTTP read timeout; its pieces
    are dropped."""
    if ends_at <= time.perf_counter():  # no time left: no call to be dropped
        raise Stalled("ends_at", 0.0)
    pieces: queue.Queue = queue.Queue()
    given_up = threading.Event()
    worker = threading.Thread(target=_pump, args=(open_stream, pieces, given_up), name="llm-stream", daemon=True)
    worker.start()
    received: list[Any] = []
    begun = False
    while True:
        limit, allowed = ("gap", gap) if begun else ("first", first)
        left = ends_at - time.perf_counter()
        if left <= allowed:
            limit, allowed = "ends_at", left
        try:
            piece = _next_piece(pieces, max(allowed, 0.0), abandoned)
        except queue.Empty:
            given_up.set()
            raise Stalled(limit, max(allowed, 0.0)) from None
        except Abandoned:
            given_up.set()
            raise
        if piece is _END:
            return received
        if isinstance(piece, BaseException):
            raise piece
        received.append(piece)
        begun = begun or begins(piece)


def _next_piece(pieces: queue.Queue, seconds: float, abandoned: threading.Event | None) -> Any:
    """The next piece within ``seconds`` (else queue.Empty); Abandoned as soon as ``abandoned`` is set."""
    if abandoned is None:
        return pieces.get(timeout=seconds)
    ends = time.perf_counter() + seconds
    while not abandoned.is_set():
        left = ends - time.perf_counter()
        try:
            return pieces.get(timeout=max(min(left, ABANDON_CHECK_SECONDS), 0.0))
        except queue.Empty:
            if left <= ABANDON_CHECK_SECONDS:
                raise
    raise Abandoned


def _pump(open_stream: Callable[[], Iterator[Any]], pieces: queue.Queue, given_up: threading.Event) -> None:
    """The worker: opens the stream and hands each piece over, then _END; an error is handed over instead."""
    stream = None
    try:
        stream = open_stream()
        for piece in stream:
            if given_up.is_set():
                break
            pieces.put(piece)
        else:
            pieces.put(_END)
    except BaseException as error:  # raised in the caller's thread
        pieces.put(error)
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):  # a stream already broken has nothing left to close
                close()
