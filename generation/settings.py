"""LLM settings (env prefix TAILOR_LLM_): which litellm model writes the copy and how it is called.

`model` is a name from the generation.llm registry (`local/smollm2`, `fake`) or any litellm model string
(`openai/gpt-4o-mini`, `anthropic/claude-3-5-haiku-latest`, `ollama/llama3.1`...), in which case the
provider's usual key and base-URL environment variables apply, or `api_base` / `api_key` here.

`EnvironmentSettings`, its base, is the service's settings classes' too: a class read again while the variables it
reads are unchanged gives what it read before, without reading them again.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any, ClassVar

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from generation.schemas import LOCALES

# The reads kept (``_KeptPerEnvironment``): past this many, all are dropped (a test process reads its settings again
# under each test's variables).
_KEPT_MOST = 256
_kept: dict[tuple, BaseSettings] = {}


class _KeptPerEnvironment(type(BaseSettings)):
    """The metaclass of ``EnvironmentSettings``: a class called without arguments gives a copy of what it read last
    under the same values of the variables it reads, rather than reading again; a variable of it set, changed or
    unset since (in any case of its name) reads again. A read went through every field of every source
    pydantic-settings has (some 0.1-0.5 ms a class); the server read settings some twenty times at each start and
    again in its requests, and the tests start an app a test. A read that fails is not kept: the next one fails again,
    saying why."""

    def __call__(cls, *args: Any, **values: Any) -> Any:
        if args or values:  # values given (``_env_file=``...): read as asked
            return super().__call__(*args, **values)
        key = (cls, _environment_of(cls))
        kept = _kept.get(key)
        if kept is None:
            kept = super().__call__()
            if len(_kept) >= _KEPT_MOST:
                _kept.clear()
            _kept[key] = kept
        return kept.model_copy()  # the caller's own: one that changes a field changes no one else's


def _environment_of(settings: Any) -> tuple[tuple[str, str], ...]:
    """The variables of ``os.environ`` that ``settings`` reads, and those of the settings classes its checks read
    (``read_with``), with their values; names matched in any case, as pydantic-settings matches them."""
    names = _names_read(settings)
    return tuple((name, os.environ[name]) for name in os.environ if name.lower() in names)


@cache
def _names_read(settings: Any) -> frozenset[str]:
    """The lower-cased names of the variables ``settings`` and the classes in its ``read_with`` read."""
    return frozenset(
        name.lower() for cls in (settings, *settings.read_with) for field in cls.model_fields
        for name in field_variables(cls, field)
    )  # fmt: skip


def field_variables(settings: type[BaseSettings], field: str) -> list[str]:
    """The environment variables a settings class's field is read from, as spelt: the class's prefix and the
    field's name, or the names its alias gives (DATABASE_URL or TAILOR_DB_URL)."""
    prefix = settings.model_config.get("env_prefix", "")
    alias = settings.model_fields[field].validation_alias if field in settings.model_fields else None
    names = alias.choices if isinstance(alias, AliasChoices) else [alias or prefix + field]
    return [str(name) for name in names]


class EnvironmentSettings(BaseSettings, metaclass=_KeptPerEnvironment):
    """Settings whose values and checks depend on environment variables alone (not on files, the working folder or
    other state): their own, and those of the settings classes in ``read_with``, which their checks read. Read again
    only when one of these changed (``_KeptPerEnvironment``)."""

    read_with: ClassVar[tuple[type[BaseSettings], ...]] = ()


class LLMSettings(EnvironmentSettings):
    model_config = SettingsConfigDict(env_prefix="TAILOR_LLM_", extra="ignore")

    model: str = "local/smollm2"
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = Field(0.7, ge=0.0, le=2.0)
    seed: int | None = Field(
        None, description="sampling seed sent with each call, for answers that repeat (the evals set one); unset: "
        "the provider's own randomness",
    )  # fmt: skip
    max_tokens: int = Field(300, gt=0)
    max_retries: int = Field(2, ge=0, description="extra attempts after an invalid answer, each told what was wrong")
    timeout: float = Field(
        120.0, gt=0, description="seconds a call waits for its answer to begin (without streaming: for all of it)"
    )
    stall_timeout: float = Field(
        30.0, gt=0, description="seconds a streamed answer may pause between pieces before the call is given up"
    )
    stream: bool = Field(True, description="stream answers; off for a provider that cannot")
    transient_retries: int = Field(
        3, ge=0, description="extra tries after a rate limit, a server error or a dropped connection"
    )
    retry_backoff: float = Field(1.0, ge=0, description="seconds before the first such retry, doubling after")
    group_deadline: float = Field(240.0, gt=0, description="no new attempt for a group's copy after this many seconds")
    suggestion_deadline: float = Field(
        45.0, gt=0, description="seconds a copywriter waits for a suggested version, its tries together; at most "
        "group_deadline",
    )  # fmt: skip
    concurrency: int = Field(2, ge=1, description="LLM calls in flight at once")
    n_ctx: int = Field(8192, gt=0, description="context size of the local server (shared by its parallel slots)")
    threads: int | None = Field(
        None, ge=1, description="CPU threads the local model's server computes on (unset: llama.cpp's choice, one per "
        "core); another model ignores it. Its answers to a seeded call differ with the count",
    )  # fmt: skip
    cache: bool = True
    locales: str | None = Field(
        None,
        description="comma-separated locales the model writes (others get the template's copy without a call); "
        "unset: the model's registered locales (the local SmolLM2: en), or all for any other model",
    )

    @field_validator("locales")
    @classmethod
    def _locales_are_template_languages(cls, locales: str | None) -> str | None:
        """The languages as groups are written in (en, de, ...), whatever their case, a code with a region standing
        for its language (de-CH is de: emails are written in the language): "EN" or "de-CH" matched no group, and a
        shop's hosted model was asked for nothing, every email in template copy, without a word."""
        if locales is None:
            return None
        languages = []
        for code in (code.strip() for code in locales.split(",") if code.strip()):
            language = code.replace("_", "-").split("-")[0].lower()
            if language not in LOCALES:
                raise ValueError(f"'{code}' is no language Tailor has email templates for: {', '.join(LOCALES)}")
            languages += [language] if language not in languages else []
        return ",".join(languages)
