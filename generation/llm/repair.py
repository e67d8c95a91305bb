"""Repair of JSON that a small model cut short: close the open string, arrays and objects, keep what was written;
and JSON that a model wrapped in prose ("Sure! Here is the JSON: ..."), read from its first object."""

from __future__ import annotations

import json
from typing import Any


def close_truncated(content: str) -> str:
    """`content` with its unterminated string and brackets closed (a dangling key or comma is dropped)."""
    start = content.find("{")
    if start < 0:
        return content
    text = content[start:]
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append("}" if char == "{" else "]")
        elif char in "}]" and stack:
            stack.pop()
    if escaped:
        text = text[:-1]
    if in_string:
        text += '"'
    text = text.rstrip()
    if text.endswith(","):
        text = text[:-1]
    if text.endswith(":"):
        text += '""'
    return text + "".join(reversed(stack))


def loads_lenient(content: str) -> tuple[Any, bool]:
    """(parsed JSON, whether it needed repair); raises json.JSONDecodeError when even the repair fails. A whole
    object with words or a fence around it is that object (a model without JSON mode answers so), not a repair."""
    try:
        return json.loads(content), False
    except json.JSONDecodeError:
        pass
    start = content.find("{")
    if start >= 0:
        try:
            return json.JSONDecoder().raw_decode(content, start)[0], False
        except json.JSONDecodeError:
            pass
    return json.loads(close_truncated(content)), True
