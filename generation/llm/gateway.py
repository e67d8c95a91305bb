"""The one path to a model: litellm, asked for JSON that fits a schema, with usage and cost recorded."""

from __future__ import annotations

import itertools
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from generation.errors import ModelOutputInvalid, ModelTimedOut, ModelUnavailable
from generation.llm.recording import note_answer, note_failure
from generation.llm.registry import resolve
from generation.llm.repair import loads_lenient
from generation.llm.stream import ABANDON_CHECK_SECONDS, Abandoned, Stalled, read_stream
from generation.settings import LLMSettings


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    repaired: bool = False  # the answer was cut short and its JSON closed by us


# litellm ends a stream whose last 100 pieces are the same as a server error: a small model looping on one word
# would read as a provider failing (tried again, and counted towards stopping the campaign). ``max_tokens`` bounds
# such an answer, and the checks judge it, as they do an answer not streamed.
_NO_REPETITION_LIMIT = 10**9


def _litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no price-map download at import
    import litellm

    litellm.suppress_debug_info = True
    litellm.disable_streaming_logging = True  # no callbacks here: its work for each piece slowed the local model
    litellm.REPEATED_STREAMING_CHUNK_LIMIT = _NO_REPETITION_LIMIT
    return litellm


def complete_json(
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    settings: LLMSettings | None = None,
    deadline: float | None = None,
    abandoned: threading.Event | None = None,
) -> tuple[dict[str, Any], Usage]:
    """Ask the configured model for one JSON object fitting `schema`; constrained decoding where supported.

    The answer is streamed (``stream``), so that a hang is judged by no piece of it arriving, not by its length on
    the clock: a model steadily writing on a loaded machine keeps its answer. Raises ModelTimedOut when the answer
    did not begin within ``timeout`` seconds, when it stopped for ``stall_timeout`` seconds, or when it was not
    whole by ``deadline`` (a ``time.perf_counter()`` moment; unset: ``group_deadline`` seconds from now); without
    streaming, when no whole answer came within ``timeout`` seconds of the clock (a provider that sends its answer
    a few bytes at a time is cut off too: the HTTP client's timeout counts between reads). Raises
    ModelOutputInvalid (with the usage spent) when the answer is not a JSON object, and ModelUnavailable for any
    provider error (unreachable, no key, unknown model, rate limit, server error), naming the model. Errors that
    pass (rate limited, overloaded, a dropped connection) are tried again ``transient_retries`` times first, after
    the provider's Retry-After or a doubling backoff: a hosted model's brief 429 no longer turns a whole group's
    copy into the template's; a quota used up does not pass, and is not tried again. The deadline bounds the tries
    and the waits between them together. Once ``abandoned`` is set, Abandoned is raised: a streamed answer is closed
    (``generation.llm.stream``), and one not streamed has its connection cut (``generation.llm.cuttable``; an
    OpenAI-compatible server named by its address, the local model's included).
    """
    settings = settings or LLMSettings()
    endpoint = resolve(settings)
    litellm = _litellm()

    kwargs: dict[str, Any] = {
        "model": endpoint.model,
        "messages": messages,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "timeout": settings.timeout,
        "max_retries": 0,  # retries are ours, told what was wrong; a timed-out local call should not run thrice
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "email_copy", "schema": _without_examples(schema), "strict": True},
        },
        **endpoint.extra,
    }
    if settings.seed is not None:
        kwargs["seed"] = settings.seed
    if endpoint.api_base:
        kwargs["api_base"] = endpoint.api_base
    if endpoint.api_key:
        kwargs["api_key"] = endpoint.api_key
    if endpoint.mock is not None:
        mocked = endpoint.mock(messages, schema)
        in_one_piece = settings.stream and isinstance(mocked, str) and not endpoint.mock_in_small_pieces
        kwargs["mock_response"] = _one_piece(mocked) if in_one_piece else mocked
    started = time.perf_counter()
    ends_at = deadline if deadline is not None else started + settings.group_deadline
    try:
        response = _respond(litellm, kwargs, settings, ends_at, abandoned)
    except (ModelTimedOut, ModelUnavailable) as error:
        note_failure(settings.model, messages, schema, error)
        raise
    usage = Usage(seconds=time.perf_counter() - started)
    if getattr(response, "usage", None):
        usage.prompt_tokens = int(response.usage.prompt_tokens or 0)
        usage.completion_tokens = int(response.usage.completion_tokens or 0)
    usage.cost_usd = _cost(litellm, response)
    content = response.choices[0].message.content or ""
    note_answer(settings.model, messages, schema, content)
    try:
        answer, usage.repaired = loads_lenient(_strip_fences(content))
    except json.JSONDecodeError as error:
        raise ModelOutputInvalid(f"the answer was not valid JSON ({error.msg} at char {error.pos})", usage) from error
    if not isinstance(answer, dict):
        raise ModelOutputInvalid("the answer was JSON but not an object", usage)
    return answer, usage


def _respond(
    litellm, kwargs: dict[str, Any], settings: LLMSettings, ends_at: float, abandoned: threading.Event | None = None
):
    """The provider's response, errors that pass tried again (``transient_retries``) until ``ends_at``."""
    import openai  # a dependency of litellm, imported with it

    passing = (
        litellm.exceptions.RateLimitError, litellm.exceptions.InternalServerError,
        litellm.exceptions.ServiceUnavailableError, litellm.exceptions.APIConnectionError,
    )  # fmt: skip
    for attempt in itertools.count():  # the last try allowed returns or raises
        try:
            return _answer(litellm, kwargs, settings, ends_at, abandoned)
        except litellm.exceptions.Timeout as error:  # the HTTP client's own; before APIConnectionError, a kind of it
            raise ModelTimedOut(
                f"The model '{settings.model}' gave no answer within {settings.timeout:g} s (TAILOR_LLM_TIMEOUT)."
            ) from error
        except passing as error:  # rate limited, overloaded, a dropped connection: worth another try
            wait = _wait_before_retry(error, attempt, settings)
            left = ends_at - time.perf_counter() - wait
            if attempt == settings.transient_retries or _does_not_pass(error) or left <= 0:
                raise _unavailable(settings, error, tries=attempt + 1) from error
            time.sleep(wait)
        except openai.OpenAIError as error:  # the base of litellm's provider errors
            raise _unavailable(settings, error) from error


def _answer(
    litellm, kwargs: dict[str, Any], settings: LLMSettings, ends_at: float, abandoned: threading.Event | None = None
):
    """One try's whole response: streamed and put together (usage included), or, with ``stream`` off, awaited
    whole within ``timeout``; ModelTimedOut names the limit that ran out."""
    if not settings.stream:
        allowed = min(settings.timeout, ends_at - time.perf_counter())
        try:
            if allowed <= 0:
                raise TimeoutError
            return _within(allowed, litellm.completion, kwargs, settings, abandoned)
        except TimeoutError as error:
            limit = "ends_at" if allowed < settings.timeout else "first"
            raise ModelTimedOut(_timed_out(settings, limit, allowed), limit) from error
    streamed = {
        **kwargs,
        "stream": True,
        "stream_options": {"include_usage": True},  # the last piece counts the tokens, so cost is recorded
        "timeout": max(settings.timeout, settings.stall_timeout) + 1,  # ends a reader given up on; ours come first
    }
    try:
        pieces = read_stream(
            lambda: litellm.completion(**streamed),
            _writes,
            settings.timeout,
            settings.stall_timeout,
            ends_at,
            abandoned,
        )
    except Stalled as stalled:
        raise ModelTimedOut(_timed_out(settings, stalled.limit, stalled.seconds), stalled.limit) from stalled
    if not _was_streamed(pieces):
        raise ModelUnavailable(
            f"The model '{settings.model}' (TAILOR_LLM_MODEL) answered without streaming, and its answer was lost: "
            "set TAILOR_LLM_STREAM=false for a provider that cannot stream."
        )
    return litellm.stream_chunk_builder(pieces, messages=kwargs["messages"])


def _one_piece(answer: str):
    """A mock answer as one streamed piece, its role and all its words, which litellm's mock streams as it is: a
    string it streams in pieces of 3 characters, each through its whole handling of a stream (0.35 CPU-s for an
    answer of 1,000 characters, against 0.02 s). The answer is read, put together and counted as any provider's
    stream: litellm's last piece counts the prompt's and the answer's tokens from their words, the same for one
    piece as for 300."""
    from litellm.types.utils import Delta, ModelResponseStream, StreamingChoices  # imported with litellm

    words = Delta(role="assistant", content=answer)
    return ModelResponseStream(choices=[StreamingChoices(index=0, delta=words)])


def _writes(piece) -> bool:
    """Whether a streamed piece carries words of the answer, not only its role (sent before a model thinks)."""
    return bool(piece.choices and piece.choices[0].delta and piece.choices[0].delta.content)


def _was_streamed(pieces: list) -> bool:
    """Whether the provider sent a stream (an answer ignoring ``stream`` reads as one empty piece): told by the
    content type litellm keeps from the response's headers, where there was a response (the fake model has none)."""
    if not pieces:
        return False
    headers = (getattr(pieces[0], "_hidden_params", None) or {}).get("additional_headers") or {}
    return headers.get("llm_provider-content-type", "text/event-stream").startswith("text/event-stream")


def _timed_out(settings: LLMSettings, limit: str, seconds: float) -> str:
    """What ModelTimedOut says, naming the setting behind the limit that ran out."""
    model, seconds = settings.model, max(seconds, 0.0)
    if limit == "gap":
        return f"The model '{model}' stopped answering: nothing came for {seconds:g} s (TAILOR_LLM_STALL_TIMEOUT)."
    if limit == "ends_at":
        return (
            f"The model '{model}' did not finish its answer before its group's deadline "
            f"({settings.group_deadline:g} s, TAILOR_LLM_GROUP_DEADLINE)."
        )
    return f"The model '{model}' gave no answer within {seconds:g} s (TAILOR_LLM_TIMEOUT)."


def _within(
    seconds: float, call, kwargs: dict[str, Any], settings: LLMSettings, abandoned: threading.Event | None = None
):
    """``call(**kwargs)``'s result; TimeoutError once ``seconds`` have passed on the clock, Abandoned once
    ``abandoned`` is set. The call runs in a thread of its own (a daemon, so it holds no exit up); given up on, its
    answer is dropped, and its connection cut where the call has one of its own (``_cuttable``): it holds no
    connection for no one, and a server that stops writing for a caller gone does (not the local model's, for an
    answer not streamed: ``generation.llm.cuttable``). Else the call goes on until its own HTTP timeout ends it."""
    outcome: dict[str, Any] = {}
    connection = _cuttable(kwargs)
    if connection is not None:
        kwargs = {**kwargs, "client": connection.client(kwargs["api_base"], kwargs.get("api_key"), settings.timeout)}

    def run() -> None:
        try:
            outcome["value"] = call(**kwargs)
        except BaseException as error:  # handed to the caller's thread, which raises it
            outcome["error"] = error
        finally:
            if connection is not None:
                connection.close()

    thread = threading.Thread(target=run, name="llm-call", daemon=True)
    thread.start()
    ends = time.perf_counter() + seconds
    while thread.is_alive():
        left = ends - time.perf_counter()
        asked = abandoned is not None and abandoned.is_set()
        if given_up := TimeoutError() if left <= 0 else Abandoned() if asked else None:
            if connection is not None:
                connection.cut()
            raise given_up
        thread.join(min(left, ABANDON_CHECK_SECONDS) if abandoned is not None else left)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _cuttable(kwargs: dict[str, Any]):
    """A connection of its own for a call to an OpenAI-compatible server named by its address (the local model's,
    or ``openai/NAME`` with ``TAILOR_LLM_API_BASE``), which litellm reaches through the OpenAI client it is given;
    None for another provider, whose client is litellm's own, and for an answer made up without a server."""
    from generation.llm.cuttable import Cuttable  # httpx, as litellm: imported with the first call

    if "mock_response" in kwargs or not kwargs.get("api_base") or not kwargs["model"].startswith("openai/"):
        return None
    return Cuttable()


_QUOTA = re.compile(r"insufficient_quota|exceeded your current quota|quota (?:exceeded|has been exhausted)", re.I)
_NO_CREDENTIALS = re.compile(r"missing credentials|api_key client option must be set", re.I)


def _does_not_pass(error: Exception) -> bool:
    """Whether an error of the kinds tried again will not pass by waiting: a 429 that says the account's quota or
    credit is spent (OpenAI's ``insufficient_quota``), unlike a rate limit, or a key that is missing, which litellm
    raises as a server error (OpenAI's "Missing credentials": it was tried four times, some 20 s a group, before the
    error was told)."""
    return bool(_QUOTA.search(str(error)) or _NO_CREDENTIALS.search(str(error)))


def _unavailable(settings: LLMSettings, error: Exception, tries: int = 1) -> ModelUnavailable:
    """Every provider error (unreachable, no key, unknown model, rate limit, server error) is one the person running
    Tailor acts on in the same place: the model setting."""
    after = f" after {tries} tries" if tries > 1 else ""
    said, name = _first_line(error), type(error).__name__
    while said.startswith(f"{name}: "):  # litellm's messages start with their class's name, sometimes twice
        said = said.removeprefix(f"{name}: ")
    return ModelUnavailable(f"The model '{settings.model}' (TAILOR_LLM_MODEL) could not be used{after}: {name}: {said}")


def _wait_before_retry(error: Exception, attempt: int, settings: LLMSettings) -> float:
    """Seconds to wait before the next try: the provider's Retry-After when it sends one, else a doubling
    backoff from ``retry_backoff``; at most ``timeout``."""
    response = getattr(error, "response", None)
    retry_after = getattr(response, "headers", {}).get("retry-after") if response is not None else None
    try:
        wait = float(retry_after) if retry_after is not None else settings.retry_backoff * 2**attempt
    except ValueError:  # an HTTP date instead of seconds
        wait = settings.retry_backoff * 2**attempt
    return max(0.0, min(wait, settings.timeout))


def _cost(litellm, response) -> float:
    hidden = getattr(response, "_hidden_params", {}) or {}
    if hidden.get("response_cost") is not None:
        return float(hidden["response_cost"])
    try:
        return float(litellm.completion_cost(completion_response=response))
    except Exception:  # local and unknown models have no price: they cost nothing we can count
        return 0.0


def _first_line(error: Exception, limit: int = 300) -> str:
    """The gist of a provider's error: its first non-empty line, without litellm's own prefix."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else "no message"
    return text.removeprefix("litellm.")[:limit]


def _strip_fences(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    return text


def _without_examples(schema):
    """The schema as sent to a provider: `examples` only feed the fake model and cost prompt tokens elsewhere."""
    if isinstance(schema, dict):
        return {key: _without_examples(value) for key, value in schema.items() if key != "examples"}
    if isinstance(schema, list):
        return [_without_examples(value) for value in schema]
    return schema
