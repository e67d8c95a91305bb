"""An answer not streamed (``TAILOR_LLM_STREAM=false``) that its caller gives up on: a cancelled generation's, or one
past its group's deadline. Its connection is cut at once, so the server stops writing for no one; it stayed open
until the HTTP timeout, and the local model's slot stayed busy for the next generation."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

from generation.errors import ModelTimedOut
from generation.llm import complete_json
from generation.llm.stream import Abandoned
from generation.settings import LLMSettings
from tests.model_server import serving

SCHEMA = {"type": "object", "properties": {"subject": {"type": "string"}}, "required": ["subject"]}
TIMEOUT = 8.0  # the HTTP timeout (TAILOR_LLM_TIMEOUT): what ended a call given up on


class _WritingUntilTheCallerLeaves(BaseHTTPRequestHandler):
    """Writes a long answer, not streamed: answers nothing until the caller's connection closes, and records how long
    after the call came that was (``left_after``, None if it never did within twice the timeout)."""

    left_after: list[float | None] = []
    came = threading.Event()

    def do_POST(self):  # noqa: N802 (the standard library's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).came.set()
        came, left = time.monotonic(), None
        self.connection.settimeout(0.05)
        while left is None and time.monotonic() - came < 2 * TIMEOUT:
            try:
                if self.connection.recv(1, socket.MSG_PEEK) == b"":  # the caller's end is closed
                    left = time.monotonic() - came
            except TimeoutError:
                continue
            except OSError:
                left = time.monotonic() - came
        type(self).left_after.append(left)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    _WritingUntilTheCallerLeaves.left_after, _WritingUntilTheCallerLeaves.came = [], threading.Event()
    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    with serving(_WritingUntilTheCallerLeaves) as base:
        yield LLMSettings(
            model="openai/any", api_base=base, api_key="x", timeout=TIMEOUT, transient_retries=0, stream=False
        )


def _server_saw_the_caller_leave() -> float | None:
    """How long the server wrote for the call before it saw the caller leave (waiting for the handler to say)."""
    for _ in range(int(3 * TIMEOUT / 0.05)):
        if _WritingUntilTheCallerLeaves.left_after:
            return _WritingUntilTheCallerLeaves.left_after[0]
        time.sleep(0.05)
    return None


def test_a_call_a_cancelled_generation_abandons_is_cut_at_once(provider):
    """Given up on only at the HTTP timeout, and its connection left open as long: the server (the local model's
    slot) went on writing for a generation that was cancelled."""
    abandoned, asked = threading.Event(), []

    def cancel_once_the_model_writes() -> None:
        if _WritingUntilTheCallerLeaves.came.wait(10):
            asked.append(time.monotonic())
            abandoned.set()

    threading.Thread(target=cancel_once_the_model_writes).start()
    with pytest.raises(Abandoned):
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, provider, abandoned=abandoned)
    assert time.monotonic() - asked[0] < 1
    left_after = _server_saw_the_caller_leave()
    assert left_after is not None and left_after < 2, left_after


def test_a_call_past_its_group_s_deadline_is_cut_then_too(provider):
    """The group's deadline came before the HTTP timeout: the call was given up on, its connection left open until
    the timeout."""
    with pytest.raises(ModelTimedOut, match="TAILOR_LLM_GROUP_DEADLINE"):
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, provider, deadline=time.perf_counter() + 1.0)
    left_after = _server_saw_the_caller_leave()
    assert left_after is not None and left_after < 2.5, left_after
