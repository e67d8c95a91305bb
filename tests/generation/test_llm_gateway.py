"""The gateway and registry: settings from the environment, names resolved like providers, JSON repair."""

from __future__ import annotations

import pytest

from generation.errors import ModelOutputInvalid
from generation.llm import Endpoint, complete_json, model_locales, names, register, resolve
from generation.llm.repair import close_truncated, loads_lenient
from generation.settings import LLMSettings

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
