"""The gateway and registry: settings from the environment, names resolved like providers, JSON repair."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from generation.errors import ModelOutputInvalid, ModelUnavailable
from generation.llm import Endpoint, complete_json, model_locales, names, register, resolve
from generation.llm.repair import close_truncated, loads_lenient
from generation.settings import LLMSettings
from tests.conftest import free_port

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


@register("rambler")
def _rambler(model, settings):
    return Endpoint(model="openai/rambler", api_key="x", mock=lambda m, s: "I think the best email would be")


def test_an_answer_that_is_not_json_is_a_named_error():
    with pytest.raises(ModelOutputInvalid, match="not valid JSON"):
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, LLMSettings(model="rambler"))


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


class _FailingProvider(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint on loopback that answers every call with a server error."""

    def do_POST(self):  # noqa: N802 (the standard library's name)
        body = json.dumps({"error": {"message": "upstream overloaded", "type": "server_error"}}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_provider():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


@pytest.mark.parametrize("case", ["server error", "unknown provider", "nothing listening"])
def test_every_provider_error_is_model_unavailable_naming_the_setting(case, failing_provider):
    """A misconfigured model used to surface as litellm's own BadRequestError or InternalServerError traceback;
    every provider error now says which model failed and which setting chooses it."""
    settings = {
        "server error": LLMSettings(model="openai/any", api_base=failing_provider, api_key="x", timeout=10),
        "unknown provider": LLMSettings(model="nonsense-model-xyz", timeout=10),
        "nothing listening": LLMSettings(
            model="openai/any", api_base=f"http://127.0.0.1:{free_port()}/v1", api_key="x", timeout=10
        ),
    }[case]
    with pytest.raises(ModelUnavailable) as error:
        complete_json([{"role": "user", "content": "hi"}], SCHEMA, settings)
    message = str(error.value)
    assert f"'{settings.model}' (TAILOR_LLM_MODEL) could not be used" in message
    assert "\n" not in message and len(message) < 500
