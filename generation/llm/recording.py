"""A record of a model's answers, kept so that another version of the copy code can be judged on the same answers.

While `recording(model)` is open, the gateway notes each answer `model` gives (the raw text, before it is parsed,
so that a replay parses it as the first run did), and each time-out or provider failure, under the request's key:
its messages and JSON schema. Retry prompts depend only on which checks failed, so a replay of the same code follows
the same path. `replay.py` answers from a saved record through the model registry.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from generation.errors import RecordInvalid


def request_key(messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    """What identifies a request to the model: its messages and its JSON schema (examples included)."""
    blob = json.dumps([messages, schema], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class Recording:
    """The answers `model` gave, by request key: ``{"messages", "answer"}``, or ``{"messages", "error", "message"}``
    for a call that timed out or failed (a replay fails it alike)."""

    def __init__(self, model: str, locales: set[str] | None) -> None:
        self.model = model
        self.locales = locales  # the languages the model was asked to write, which a replay asks alike
        self.answers: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def note(self, messages: list[dict[str, str]], schema: dict[str, Any], outcome: dict[str, str]) -> None:
        with self._lock:
            self.answers[request_key(messages, schema)] = {"messages": messages, **outcome}

    def save(self, path: Path) -> None:
        """Written whole or not at all: a run stopped half way leaves any earlier record as it was."""
        record = {
            "model": self.model,
            "recorded_at": datetime.now(UTC).isoformat(),
            "locales": sorted(self.locales) if self.locales is not None else None,
            "answers": self.answers,
        }
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(record, indent=1, ensure_ascii=False), encoding="utf-8")
        partial.replace(path)


def load(path: Path) -> dict[str, Any]:
    """A saved record, checked for the parts a replay reads."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise RecordInvalid(path, error.strerror or type(error).__name__) from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RecordInvalid(path, f"it is not JSON ({error})") from error
    if not isinstance(record, dict) or not isinstance(record.get("answers"), dict) or "model" not in record:
        raise RecordInvalid(path, "it is no record of answers (no 'model' and 'answers'; made with --record?)")
    return record


_open: list[Recording] = []


@contextmanager
def recording(model: str, locales: set[str] | None = None) -> Iterator[Recording]:
    """Every answer of `model` the gateway receives while open is noted in the Recording it yields."""
    record = Recording(model, locales)
    _open.append(record)
    try:
        yield record
    finally:
        _open.remove(record)


def note_answer(model: str, messages: list[dict[str, str]], schema: dict[str, Any], text: str) -> None:
    for record in _open:
        if record.model == model:
            record.note(messages, schema, {"answer": text})


def note_failure(model: str, messages: list[dict[str, str]], schema: dict[str, Any], error: Exception) -> None:
    for record in _open:
        if record.model == model:
            record.note(messages, schema, {"error": type(error).__name__, "message": str(error)})
