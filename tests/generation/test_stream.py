"""Reading a streamed answer: one the caller walks away from (a cancelled generation) is closed at once."""

from __future__ import annotations

import threading
import time

import pytest

from generation.llm.stream import Abandoned, read_stream


def test_an_abandoned_answer_is_closed_at_once_not_read_to_its_end():
    """A cancelled generation's calls to the local model went on writing their answers (up to max_tokens each),
    holding the server's slots from the next generation: the reader now closes the stream, which tells a server to
    stop writing."""
    closed, abandoned = threading.Event(), threading.Event()

    def endless_answer():
        try:
            while True:
                time.sleep(0.05)
                yield "word"
        finally:
            closed.set()

    threading.Timer(0.3, abandoned.set).start()
    began = time.perf_counter()
    with pytest.raises(Abandoned):
        read_stream(endless_answer, bool, first=30, gap=30, ends_at=time.perf_counter() + 60, abandoned=abandoned)
    assert time.perf_counter() - began < 2
    assert closed.wait(2)
