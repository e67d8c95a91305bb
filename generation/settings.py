"""LLM settings (env prefix TAILOR_LLM_): which litellm model writes the copy and how it is called.

`model` is a name from the generation.llm registry (`local/smollm2`, `fake`) or any litellm model string
(`openai/gpt-4o-mini`, `anthropic/claude-3-5-haiku-latest`, `ollama/llama3.1`...), in which case the
provider's usual key and base-URL environment variables apply, or `api_base` / `api_key` here.
"""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from generation.schemas import LOCALES


class LLMSettings(BaseSettings):
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
