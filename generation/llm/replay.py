"""The `replay/<file>` model: answers each request from a record made with `recording`, and asks no model at all.

Registered like the fake model, so the gateway parses a replayed answer as it parsed the recorded one, and a
recorded time-out or provider failure is raised again. A request the record lacks fails the run with
AnswerNotRecorded, naming the request and where it differs from the nearest one recorded, rather than falling
back to template copy or to a model.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from generation.errors import AnswerNotRecorded, ModelTimedOut, ModelUnavailable
from generation.llm.recording import load, request_key
from generation.llm.registry import Endpoint, register
from generation.settings import LLMSettings

# The lines of prompts/llm's messages that say which group a request is for: its language, task and readers.
_GROUP_LINES = ("Write only in", "Task:", "Readers:")
_FAILURES = {error.__name__: error for error in (ModelTimedOut, ModelUnavailable)}


def replay_model(path: Path) -> str:
    """The model string that replays the record at `path`."""
    return f"replay/{path}"


@register("replay")
def replay_endpoint(model: str, settings: LLMSettings) -> Endpoint:
    path = Path(model.split("/", 1)[1] if "/" in model else "")
    record = _loaded_record(path)

    def answer(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
        entry = record["answers"].get(request_key(messages, schema))
        if entry is None:
            raise _not_recorded(path, record, messages)
        if "error" in entry:
            raise _FAILURES.get(entry["error"], ModelUnavailable)(entry["message"])
        return entry["answer"]

    return Endpoint(model="openai/replay", api_key="replay", mock=answer)


_records: dict[tuple[Path, int], dict[str, Any]] = {}


def _loaded_record(path: Path) -> dict[str, Any]:
    """The record at `path`, read again only once the file changed (the endpoint is resolved for every call)."""
    try:
        stamp = (path.resolve(), path.stat().st_mtime_ns)
    except OSError:
        return load(path)  # which says why the file cannot be read
    if stamp not in _records:
        _records.clear()
        _records[stamp] = load(path)
    return _records[stamp]


def _not_recorded(path: Path, record: dict[str, Any], messages: list[dict[str, str]]) -> AnswerNotRecorded:
    lines = [line.strip() for message in messages for line in message["content"].splitlines()]
    asked = " / ".join([line for line in lines if line.startswith(_GROUP_LINES)] or lines[:1])
    recorded = [entry["messages"] for entry in record["answers"].values()]
    if not recorded:
        where = "the record holds no answers"
    else:
        nearest = max(recorded, key=lambda was: _likeness(was, messages))
        where = _first_difference(nearest, messages) or (
            "the nearest recorded request has the same messages and another JSON schema (the variants asked for, "
            "the products or the template copy given as examples)"
        )
    return AnswerNotRecorded(
        f"The recorded answers {path} hold none for the request '{asked}' (model '{record['model']}'): {where}. "
        "Record the answers again (--record) if the copy code is meant to ask something else."
    )


def _lines(messages: list[dict[str, str]]) -> list[str]:
    return [f"{m['role']}: {line}" for m in messages for line in m["content"].splitlines()]


def _likeness(recorded: list[dict[str, str]], asked: list[dict[str, str]]) -> float:
    return difflib.SequenceMatcher(None, _lines(recorded), _lines(asked), autojunk=False).ratio()


def _first_difference(recorded: list[dict[str, str]], asked: list[dict[str, str]]) -> str | None:
    """The first line of the messages where the request differs from the recorded one, both sides quoted."""
    for index in range(max(len(recorded), len(asked))):
        was = recorded[index] if index < len(recorded) else {"role": asked[index]["role"], "content": ""}
        now = asked[index] if index < len(asked) else {"role": was["role"], "content": ""}
        was_lines, now_lines = was["content"].splitlines(), now["content"].splitlines()
        for number in range(max(len(was_lines), len(now_lines))):
            old = was_lines[number] if number < len(was_lines) else "(no line)"
            new = now_lines[number] if number < len(now_lines) else "(no line)"
            if old != new:
                return (
                    f"the nearest recorded request differs in the {now['role']} message's line {number + 1}, "
                    f"which reads '{_short(new)}' where the recorded one read '{_short(old)}'"
                )
    return None


def _short(line: str, limit: int = 120) -> str:
    return line if len(line) <= limit else line[: limit - 1] + "…"
