"""A fake model for fast unit tests: answers, through litellm's mock_response, with JSON built from the schema.

Strings take the first of the schema's `examples` (the pipeline puts the template's own copy there), so the
fake writes valid, on-brand copy deterministically.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from generation.llm.registry import Endpoint, register
from generation.settings import LLMSettings


def example_for(schema: dict[str, Any], name: str = "value") -> Any:
    """A deterministic instance of a JSON schema (the subset the pipeline uses)."""
    if "examples" in schema:
        return copy.deepcopy(schema["examples"][0])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "string")
    if kind == "object":
        return {key: example_for(sub, key) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        items = schema.get("items", {})
        return [example_for(items, f"{name} {i + 1}") for i in range(count)]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return name


def answer(messages: list[dict], schema: dict[str, Any]) -> str:
    return json.dumps(example_for(schema), ensure_ascii=False)


@register("fake")
def fake_endpoint(model: str, settings: LLMSettings) -> Endpoint:
    return Endpoint(model="openai/fake", api_key="fake", mock=answer)
