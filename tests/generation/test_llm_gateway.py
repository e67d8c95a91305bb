"""The gateway and registry: settings from the environment, names resolved like providers, JSON repair."""

from __future__ import annotations

import itertools
import json
import time
from http.server import BaseHTTPRequestHandler

import pytest
from pydantic import ValidationError

from generation.errors import ModelOutputInvalid, ModelTimedOut, ModelUnavailable
from generation.llm import Endpoint, complete_json, fake, model_locales, names, register, resolve
from generation.llm.repair import close_truncated, loads_lenient
from generation.settings import LLMSettings
from tests.conftest import free_port
from tests.model_server import send_answer, send_json, serving

SCHEMA = {
    "type": "object",
    "properties": {"subject": {"type": "string", "examples": ["Hello"]}, "tags": {"type": "array", "minItems": 2}},
    "required": ["subject", "tags"],
}


def test_settings_come_from_tailor_llm_env(monkeypatch):
    monkeypatch.setenv("TAILOR_LLM_MODEL", "openai/gpt-4o-mini")
    monkeypatch.setenv("TAILOR_LLM_CONCURRENCY", "4")
    settings = LLMSettings()
    assert settings.model == "openai/gpt-4o-mini" and settings.concurrency == 4
    assert resolve(settings) == Endpoint(model="openai/gpt-4o-mini")


def test_builtins_are_registered_like_any_model():
    assert {"local", "fake"} <= set(names())


def test_fake_answers_schema_shaped_json_through_litellm():
    answer, usage = complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))
    assert answer == {"subject": "Hello", "tags": ["tags 1", "tags 2"]}
    assert usage.completion_tokens > 0 and usage.seconds >= 0


@register("fake_in_small_pieces")
def _fake_in_small_pieces(model, settings):
    """The fake as it answered before: its string streamed by litellm's mock in pieces of 3 characters."""
    return Endpoint(model="openai/fake", api_key="fake", mock=fake.answer, mock_in_small_pieces=True)


def test_the_fake_answer_is_streamed_through_the_gateway_and_counted_as_in_small_pieces(monkeypatch):
    """A mock (the fake's) answers a streamed call in one piece (litellm streamed its string in 3-character pieces,
    0.35 CPU-s an answer of 1,000 characters): it is still read from a stream, put together by litellm and its tokens
    counted as a provider's stream is, the same answer and the same counts as in small pieces; not streamed, the
    same too."""
    from generation.llm import gateway

    streams = []
    read_stream = gateway.read_stream
    monkeypatch.setattr(gateway, "read_stream", lambda *args: streams.append(read_stream(*args)) or streams[-1])
    messages = [{"role": "system", "content": "Write an email."}, {"role": "user", "content": "About tea."}]
    answer, usage = complete_json(messages, SCHEMA, LLMSettings(model="fake"))
    in_pieces, usage_in_pieces = complete_json(messages, SCHEMA, LLMSettings(model="fake_in_small_pieces"))
    one_piece, small_pieces = streams
    assert answer == fake.example_for(SCHEMA) == in_pieces
    assert [gateway._writes(piece) for piece in one_piece].count(True) == 1 and gateway._was_streamed(one_piece)
    assert [gateway._writes(piece) for piece in small_pieces].count(True) > 10
    assert one_piece[-1].usage.completion_tokens == usage.completion_tokens  # litellm's last piece counts them
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        usage_in_pieces.prompt_tokens,
        usage_in_pieces.completion_tokens,
    )
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    unstreamed, _ = complete_json(messages, SCHEMA, LLMSettings(model="fake", stream=False))
    assert unstreamed == answer and len(streams) == 2


@register("rambler")
def _rambler(model, settings):
    return Endpoint(model="openai/rambler", api_key="x", mock=lambda m, s: "I think the best email would be")


LOOPED = '{"subject": "' + "tea" * 150 + '", "tags": ["a", "b"]}'  # pieces of 3 characters, as litellm's mock streams


@register("looper")
def _looper(model, settings):
    return Endpoint(model="openai/looper", api_key="x", mock=lambda m, s: LOOPED, mock_in_small_pieces=True)


def test_an_answer_looping_on_a_word_is_an_answer_not_a_provider_error():
    """litellm ends a stream whose last 100 pieces are the same as a server error: a small model looping on a word
    read as its provider failing, was tried again, and counted towards stopping the campaign."""
    answer, usage = complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="looper"))
    assert answer == json.loads(LOOPED) and usage.completion_tokens > 100


def test_an_answer_that_is_not_json_is_a_named_error_that_still_counts_its_tokens():
    """An unusable answer's tokens went uncounted, so a campaign's cost left out what its invalid answers cost."""
    with pytest.raises(ModelOutputInvalid, match="not valid JSON") as raised:
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="rambler"))
    assert raised.value.usage.completion_tokens > 0 and raised.value.usage.prompt_tokens > 0


@pytest.mark.parametrize(
    ("cut", "expected"),
    [
        ('{"subject": "Fresh te', {"subject": "Fresh te"}),
        ('{"variants": [{"s": "a"}, {"s": "b', {"variants": [{"s": "a"}, {"s": "b"}]}),
        ('```json\n{"a": 1, ', {"a": 1}),
    ],
)
def test_cut_off_json_is_closed(cut, expected):
    assert loads_lenient(close_truncated(cut))[0] == expected


def test_the_local_model_is_asked_for_english_only_unless_configured(monkeypatch):
    assert model_locales(LLMSettings(model="local/smollm2")) == {"en"}
    assert model_locales(LLMSettings(model="openai/gpt-4o-mini")) is None  # a hosted model writes every locale
    monkeypatch.setenv("TAILOR_LLM_LOCALES", "en, de")
    assert model_locales(LLMSettings(model="local/smollm2")) == {"en", "de"}


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("xx,en", "'xx' is no language Tailor has email templates for: en, de, pl"),
        ("en;de", "'en;de' is no language Tailor has email templates for"),
        ("english", "'english' is no language Tailor has email templates for"),
    ],
)
def test_the_model_s_locales_are_languages_with_templates(monkeypatch, written, said):
    """TAILOR_LLM_LOCALES=EN, or de-CH, matched no group of customers (they are written in en, de, ...): a shop's
    hosted model was asked for nothing and every email was in template copy, without a word of why."""
    monkeypatch.setenv("TAILOR_LLM_LOCALES", "EN, De")
    assert model_locales(LLMSettings(model="openai/gpt-4o-mini")) == {"en", "de"}
    monkeypatch.setenv("TAILOR_LLM_LOCALES", "en-GB,de_CH,de")  # a region stands for its language
    assert LLMSettings(model="openai/gpt-4o-mini").locales == "en,de"
    monkeypatch.setenv("TAILOR_LLM_LOCALES", written)
    with pytest.raises(ValidationError, match=said):
        LLMSettings(model="openai/gpt-4o-mini")


def test_a_local_model_other_than_smollm2_is_refused_not_served_by_it():
    """TAILOR_LLM_MODEL=local/llama3 started the local server and wrote the campaign with SmolLM2 under that name."""
    with pytest.raises(ModelUnavailable, match="'local/llama3' .* is not one Tailor runs itself: .* local/smollm2"):
        resolve(LLMSettings(model="local/llama3"))


class _FailingProvider(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint on loopback that answers every call with a server error."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        send_json(self, 500, {"error": {"message": "upstream overloaded", "type": "server_error"}})

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_provider():
    with serving(_FailingProvider) as base:
        yield base


@pytest.mark.parametrize("case", ["server error", "unknown provider", "nothing listening"])
def test_every_provider_error_is_model_unavailable_naming_the_setting(case, failing_provider):
    """A misconfigured model used to surface as litellm's own BadRequestError or InternalServerError traceback;
    every provider error now says which model failed and which setting chooses it."""
    quick = {"timeout": 10, "retry_backoff": 0.01}
    settings = {
        "server error": LLMSettings(model="openai/any", api_base=failing_provider, api_key="x", **quick),
        "unknown provider": LLMSettings(model="nonsense-model-xyz", **quick),
        "nothing listening": LLMSettings(
            model="openai/any", api_base=f"http://127.0.0.1:{free_port()}/v1", api_key="x", **quick
        ),
    }[case]
    with pytest.raises(ModelUnavailable) as error:
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
    message = str(error.value)
    tried = " after 4 tries" if case != "unknown provider" else ""  # a passing failure is tried again first
    assert f"'{settings.model}' (TAILOR_LLM_MODEL) could not be used{tried}: " in message
    assert "\n" not in message and len(message) < 500
    name = message.split(": ")[1]  # litellm's class name, once: it read "InternalServerError: InternalServerError: "
    assert f"{name}: {name}: " not in message


class _BusyProvider(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that answers 429 (with Retry-After) to the first calls, then a completion."""

    busy_for = 2
    calls: list[float] = []

    def do_POST(self):  # noqa: N802 (the standard library's name)
        type(self).calls.append(time.monotonic())
        if len(self.calls) > self.busy_for:
            send_answer(self, json.dumps({"subject": "Back in stock", "tags": ["a", "b"]}), pieces=7)
            return
        self.rfile.read(int(self.headers["Content-Length"]))
        body = {"error": {"message": "Rate limit reached for requests", "type": "requests"}}
        send_json(self, 429, body, {"Retry-After": "0.2"})

    def log_message(self, *args):
        pass


def test_a_rate_limited_call_is_tried_again_after_the_provider_s_retry_after():
    """A hosted model's brief 429 ended the group's call at once, and its customers got the template's copy."""
    _BusyProvider.calls = []
    try:
        with serving(_BusyProvider) as base:
            settings = LLMSettings(model="openai/any", api_base=base, api_key="x", timeout=10, retry_backoff=5)
            answer, usage = complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
            assert answer == {"subject": "Back in stock", "tags": ["a", "b"]} and usage.completion_tokens == 7
            calls = _BusyProvider.calls
            assert len(calls) == 3 and all(0.15 < later - earlier < 4 for earlier, later in itertools.pairwise(calls))

            _BusyProvider.calls, _BusyProvider.busy_for = [], 10
            with pytest.raises(ModelUnavailable, match=r"could not be used after 2 tries: RateLimitError: "):
                complete_json(
                    [{"role": "user", "content": "hi"}], SCHEMA, settings.model_copy(update={"transient_retries": 1})
                )
            assert len(_BusyProvider.calls) == 2
    finally:
        _BusyProvider.busy_for = 2


class _DrippingProvider(BaseHTTPRequestHandler):
    """Answers 200 at once, then its body a few bytes at a time: each read comes within any read timeout."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        self.rfile.read(int(self.headers["Content-Length"]))
        message = {"role": "assistant", "content": json.dumps({"subject": "Hi", "tags": ["a", "b"]})}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        body = json.dumps({"id": "c1", "object": "chat.completion", "created": 0, "choices": [choice]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for start in range(0, len(body), 8):
                self.wfile.write(body[start : start + 8])
                self.wfile.flush()
                time.sleep(0.4)
        except OSError:  # the client gave up
            pass

    def log_message(self, *args):
        pass


def test_without_streaming_a_provider_that_drips_its_answer_is_cut_off_at_the_timeout_on_the_clock():
    """The timeout counted between reads, so an answer sent a few bytes at a time took 103 s with a 2 s timeout."""
    with serving(_DrippingProvider) as base:
        settings = LLMSettings(
            model="openai/any", api_base=base, api_key="x", timeout=1.5, transient_retries=0, stream=False
        )
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
        started = time.monotonic()
        with pytest.raises(ModelTimedOut, match=r"no answer within 1.5 s \(TAILOR_LLM_TIMEOUT\)"):
            complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
        assert time.monotonic() - started < 3


def test_a_quota_used_up_is_not_tried_again():
    """OpenAI's insufficient_quota comes as a 429 and was waited on and tried again as a rate limit."""
    _BusyProvider.calls, _BusyProvider.busy_for = [], 10
    quota = {"error": {"message": "You exceeded your current quota", "type": "insufficient_quota"}}
    original = _BusyProvider.do_POST

    def do_post(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).calls.append(time.monotonic())
        send_json(self, 429, quota)

    _BusyProvider.do_POST = do_post
    try:
        with serving(_BusyProvider) as base:
            settings = LLMSettings(model="openai/any", api_base=base, api_key="x", timeout=10, retry_backoff=0)
            with pytest.raises(ModelUnavailable, match="quota"):
                complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
            assert len(_BusyProvider.calls) == 1
    finally:
        _BusyProvider.do_POST, _BusyProvider.busy_for = original, 2


def test_a_missing_key_is_not_tried_again(monkeypatch):
    """A hosted model without its key (no OPENAI_API_KEY) comes back from litellm as a server error, and was tried
    four times with waits between (20 s a group) before the person was told the key was missing."""
    from generation.llm import gateway

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tries = []
    answer = gateway._answer
    monkeypatch.setattr(gateway, "_answer", lambda *args: tries.append(1) or answer(*args))
    settings = LLMSettings(model="openai/gpt-4o-mini", api_base="http://127.0.0.1:9/v1", cache=False, retry_backoff=1)
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="OPENAI_API_KEY"):
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
    assert len(tries) == 1 and time.monotonic() - started < 1


def test_json_a_model_wrapped_in_words_is_read_whole():
    """ "Sure! Here is the JSON: ```json{...}```" was an invalid answer, tried again and paid for thrice."""
    answer = 'Sure! Here is the JSON:\n```json{"subject": "Tea", "tags": ["a", "b"]}```\nEnjoy!'
    assert loads_lenient(answer) == ({"subject": "Tea", "tags": ["a", "b"]}, False)


ANSWER = json.dumps({"subject": "Fresh sencha is back", "tags": ["tea", "green"]})


class _SteadyProvider(BaseHTTPRequestHandler):
    """Writes its answer slowly but steadily, like the local model on a loaded machine: 12 pieces 0.9 s apart."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        send_answer(self, ANSWER, pieces=12, pause=0.9)

    def log_message(self, *args):
        pass


class _ThinkingProvider(BaseHTTPRequestHandler):
    """Sends its reply's role at once, then thinks 1.5 s before it writes, as a reasoning model may."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        send_answer(self, ANSWER, pieces=3, think=1.5)

    def log_message(self, *args):
        pass


def test_a_model_that_thinks_after_sending_its_role_is_waited_on_as_one_that_has_not_begun():
    """A first piece with the role alone started the stall limit, so a model thinking longer than it before writing
    was cut off as hung."""
    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    with serving(_ThinkingProvider) as base:
        answer, _ = complete_json(
            [{"role": "user", "content": "hi"}], SCHEMA, _settings(base, timeout=5, stall_timeout=1)
        )
    assert answer == json.loads(ANSWER)


def _provider_stuck(after_first_piece: bool) -> type[BaseHTTPRequestHandler]:
    """A provider that hangs: before it answers at all, or after the first piece of its streamed answer."""

    class Stuck(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the standard library's name)
            self.rfile.read(int(self.headers["Content-Length"]))
            if after_first_piece:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                delta = {"role": "assistant", "content": ANSWER[:9]}
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "any",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}  # fmt: skip
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
            time.sleep(20)

        def log_message(self, *args):
            pass

    return Stuck


def _settings(base: str, model: str = "openai/any", **limits) -> LLMSettings:
    return LLMSettings(model=model, api_base=base, api_key="x", transient_retries=0, **limits)


def test_a_model_writing_slowly_but_steadily_keeps_its_answer_past_the_timeout():
    """A whole answer had to come within TAILOR_LLM_TIMEOUT, so the local model writing steadily on a loaded machine
    (33-118 s a call) lost calls to timeouts and its customers got the template's copy; a hang is now judged by
    no piece of the answer coming, and the tokens and their price are still counted."""
    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    with serving(_SteadyProvider) as base:
        # A model with a price. The first piece's limit leaves room for a loaded machine: at 1 s, and again at 3 s
        # (load ~10: three test workers and other work on two cores), the call's own start took longer, and the test
        # failed as the bug it guards against.
        settings = _settings(base, model="openai/gpt-4o-mini", timeout=7, stall_timeout=3)
        started = time.monotonic()
        answer, usage = complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
    assert time.monotonic() - started > 8.5  # the whole answer took longer than either limit
    assert answer == json.loads(ANSWER)
    assert (usage.prompt_tokens, usage.completion_tokens) == (5, 12) and usage.seconds > 8.5 and usage.cost_usd > 0


@pytest.mark.parametrize(
    ("after_first_piece", "limits", "said"),
    [
        (
            True,
            {"timeout": 20, "stall_timeout": 1},
            r"stopped answering: nothing came for 1 s \(TAILOR_LLM_STALL_TIMEOUT\)",
        ),
        (False, {"timeout": 1, "stall_timeout": 20}, r"gave no answer within 1 s \(TAILOR_LLM_TIMEOUT\)"),
    ],
)
def test_a_provider_that_hangs_is_cut_off_when_no_piece_comes(after_first_piece, limits, said):
    """A provider that stopped after its first piece was waited on for the whole TAILOR_LLM_TIMEOUT (120 s): now for
    the stall limit; one that never begins is still waited on for TAILOR_LLM_TIMEOUT."""
    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    with serving(_provider_stuck(after_first_piece)) as base:
        started = time.monotonic()
        with pytest.raises(ModelTimedOut, match=said):
            complete_json([{"role": "user", "content": "hi"}], SCHEMA, _settings(base, **limits))
        assert 0.9 < time.monotonic() - started < 2.5  # about the limit: not sooner, nor the other one


@pytest.mark.parametrize("bound", ["group deadline setting", "deadline argument"])
def test_a_steady_answer_is_still_bounded_by_the_deadline(bound):
    """Judging hangs by silence must not let a call run for ever: the deadline still cuts the whole answer off."""
    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    with serving(_SteadyProvider) as base:
        group_deadline, deadline = (1.5, None) if bound == "group deadline setting" else (100, 1.5)
        settings = _settings(base, timeout=10, stall_timeout=10, group_deadline=group_deadline)
        started = time.monotonic()
        with pytest.raises(
            ModelTimedOut,
            match=r"did not finish its answer before its group's deadline \(.* s, TAILOR_LLM_GROUP_DEADLINE\)",
        ):
            complete_json(
                [{"role": "user", "content": "hi"}],
                SCHEMA,
                settings,
                deadline=None if deadline is None else time.perf_counter() + deadline,
            )
        assert time.monotonic() - started < 2.5


class _PlainProvider(BaseHTTPRequestHandler):
    """A provider that cannot stream: it answers with one JSON body whatever it is asked."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        send_answer(self, ANSWER, can_stream=False)

    def log_message(self, *args):
        pass


def test_a_provider_that_cannot_stream_is_named_and_called_without_streaming_when_set():
    """Its answer read as an empty stream, an invalid answer tried again and paid for thrice; now the setting that
    calls it without streaming is named, and that setting works."""
    with serving(_PlainProvider) as base:
        with pytest.raises(ModelUnavailable, match=r"answered without streaming.*TAILOR_LLM_STREAM=false"):
            complete_json([{"role": "user", "content": "hi"}], SCHEMA, _settings(base))
        answer, usage = complete_json([{"role": "user", "content": "hi"}], SCHEMA, _settings(base, stream=False))
    assert answer == json.loads(ANSWER) and usage.completion_tokens == 1


def test_a_call_whose_deadline_has_passed_is_not_made():
    """A call made with no time left would be dropped at once, the provider's work (and a hosted model's bill) for
    nothing."""
    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    _BusyProvider.calls, _BusyProvider.busy_for = [], 0
    try:
        with serving(_BusyProvider) as base:
            with pytest.raises(ModelTimedOut, match="TAILOR_LLM_GROUP_DEADLINE"):
                complete_json(
                    [{"role": "user", "content": "hi"}], SCHEMA, _settings(base), deadline=time.perf_counter()
                )
            time.sleep(1)  # a call made meanwhile would have reached the provider by now
    finally:
        _BusyProvider.busy_for = 2
    assert _BusyProvider.calls == []


def test_a_recorded_time_out_is_replayed_with_its_words_and_an_answer_as_its_raw_text(tmp_path):
    """A replay follows the recorded run's path: a call that timed out times out again (not an answer missing), and an
    answer is kept as the model wrote it, so that a replay parses (and repairs) it as the recorded run did."""
    from generation.llm.recording import recording
    from generation.llm.replay import replay_model

    complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="fake"))  # litellm imported
    hanging, asking = [{"role": "user", "content": "hang"}], [{"role": "user", "content": "hi"}]
    with recording("openai/any") as answers:
        with serving(_provider_stuck(after_first_piece=False)) as base, pytest.raises(ModelTimedOut) as timed_out:
            complete_json(hanging, SCHEMA, _settings(base, timeout=1, stall_timeout=20))
        with serving(_ThinkingProvider) as base:
            answer, _ = complete_json(asking, SCHEMA, _settings(base))
        complete_json([{"role": "user", "content": "other"}], SCHEMA, LLMSettings(model="fake"))  # not recorded
    answers.save(tmp_path / "answers.json")
    assert [entry.get("answer") for entry in answers.answers.values()] == [None, ANSWER]
    replay = LLMSettings(model=replay_model(tmp_path / "answers.json"))
    with pytest.raises(ModelTimedOut) as replayed:
        complete_json(hanging, SCHEMA, replay)
    assert str(replayed.value) == str(timed_out.value)
    assert complete_json(asking, SCHEMA, replay)[0] == answer
