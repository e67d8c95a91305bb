"""The real local model (SmolLM2-135M on the in-process xllamacpp server), reached through litellm."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import urllib.request

import pytest

from generation.brands import load_brand
from generation.errors import ModelOutputInvalid, ModelTimedOut
from generation.llm import complete_json
from generation.llm.local import start_server
from generation.pipeline import generate_drafts
from generation.settings import LLMSettings
from tests.forked_cli import run
from tests.generation.conftest import make_request

pytestmark = pytest.mark.llm

LOCAL = LLMSettings(model="local/smollm2", max_tokens=60, max_retries=0, timeout=90, cache=False)


def test_local_model_answers_json_that_fits_the_schema():
    schema = {
        "type": "object",
        # The enum comes first: a rambling subject may be cut at max_tokens (and closed by the repair).
        "properties": {"mood": {"type": "string", "enum": ["calm", "bright"]}, "subject": {"type": "string"}},
        "required": ["mood", "subject"],
        "additionalProperties": False,
    }
    answer, usage = complete_json([{"role": "user", "content": "An email subject about green tea."}], schema, LOCAL)
    assert set(answer) == {"subject", "mood"} and answer["mood"] in ("calm", "bright")
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0


def test_local_model_drafts_are_safe_whatever_it_writes():
    settings = LOCAL.model_copy(update={"max_tokens": 300})
    result = generate_drafts(
        [make_request("c1"), make_request("c2", locale="de")], load_brand("atelier"), settings=settings
    )
    # The German customer gets the template's copy without a call: the 135M model is asked for English only.
    assert result.stats.llm_calls == 1 and result.stats.template_only_groups == 1
    assert result.stats.completion_tokens + result.stats.timeouts > 0
    for draft in result.drafts:
        for variant in draft.variants:
            assert variant.passed, [c for c in variant.checks if not c.passed]
            assert "Sencha Green 100 g" in variant.text and "{{unsubscribe_url}}" in variant.text


def test_the_local_server_computes_on_the_threads_it_is_given():
    """On one thread (TAILOR_LLM_THREADS=1, as the tests run it) the model shares the machine's cores with other work
    without llama.cpp's threads waiting on each other for a core: each thread asked for is a thread of the server."""
    # the threads counted once their number has held for a second: the server starts one of its own a moment after
    # it answers (11 then 12 on one thread), and counted at once, one run in five of each said 3 more, not 2
    script = """
import os, time
from generation.llm.local import start_server
from generation.settings import LLMSettings

start_server(LLMSettings())
counts, deadline = [], time.monotonic() + 30
while (len(counts) < 6 or len(set(counts[-6:])) > 1) and time.monotonic() < deadline:
    time.sleep(0.2)
    counts.append(len(os.listdir("/proc/self/task")))
print(counts[-1])
"""
    counted = {}
    for threads in (1, 3):
        env = {**os.environ, "TAILOR_LLM_THREADS": str(threads)}
        started = run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert started.returncode == 0, started.stderr
        counted[threads] = int(started.stdout)
    assert counted[3] - counted[1] == 2, counted


def _busy_slots(slots_url: str) -> list[dict]:
    return [slot for slot in json.loads(urllib.request.urlopen(slots_url, timeout=5).read()) if slot["is_processing"]]


def _wait_until_idle(slots_url: str, seconds: float) -> list[dict]:
    deadline = time.monotonic() + seconds
    while (busy := _busy_slots(slots_url)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return busy


def test_a_timed_out_call_holds_the_local_server_no_longer_than_max_tokens():
    """A call we give up on is closed by its reader at the stream's next piece, which the server notices; were it
    not (a reader stuck between pieces), it would go on generating, but never past `max_tokens`: that cap, 300
    tokens by default (2-5 s here), bounds how long a timed-out call delays the calls queued behind it."""
    schema = {
        "type": "object",
        "properties": {"lines": {"type": "array", "items": {"type": "string", "minLength": 40}, "minItems": 100}},
        "required": ["lines"],
        "additionalProperties": False,
    }
    slots_url = start_server(LOCAL).rsplit("/v1", 1)[0] + "/slots"
    assert not _wait_until_idle(slots_url, 60), "an earlier test left the server busy"
    messages = [{"role": "user", "content": "Tell a very long story."}]
    started = time.monotonic()
    with contextlib.suppress(ModelOutputInvalid):  # the answer is cut at max_tokens: only its time counts here
        complete_json(messages, schema, LOCAL.model_copy(update={"max_tokens": 300}))
    full_answer_seconds = time.monotonic() - started
    with pytest.raises(ModelTimedOut):
        complete_json(messages, schema, LOCAL.model_copy(update={"max_tokens": 300, "group_deadline": 0.3}))
    busy = _wait_until_idle(slots_url, 3 * full_answer_seconds + 5)
    assert not busy, busy
