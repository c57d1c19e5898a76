"""A value that matches a JSON schema, for the emulator's tool arguments and structured output.

The first string field echoes the user's text, numbers are the user's word count, booleans true,
arrays empty; the first `enum`/`const`/`anyOf` option is taken. Deterministic, so tests can
predict the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["fill_schema"]


def fill_schema(schema: Any, echo: str, word_count: int) -> Any:
    """A value matching `schema`, by the rules above."""
    return _fill(schema, None, _Fill(echo, word_count))


@dataclass(slots=True)
class _Fill:
    echo: str
    word_count: int
    echo_used: bool = False
    depth: int = 0


def _fill(schema: Any, name: str | None, state: _Fill) -> Any:
    """A value matching a JSON schema, built by the rules in the gateway emulator's docs."""
    if not isinstance(schema, dict) or state.depth > 16:
        return None
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in schema:
        return schema["const"]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _fill(options[0], name, state)
    type_ = schema.get("type")
    if isinstance(type_, list):
        type_ = next((t for t in type_ if t != "null"), "null")
    if type_ is None and isinstance(schema.get("properties"), dict):
        type_ = "object"
    if type_ == "object":
        properties = schema.get("properties")
        if not isinstance(properties, dict):
            return {}
        state.depth += 1
        try:
            return {key: _fill(sub, key, state) for key, sub in properties.items()}
        finally:
            state.depth -= 1
    if type_ == "string":
        if not state.echo_used:
            state.echo_used = True
            return state.echo
        return name or ""
    if type_ in ("integer", "number"):
        return state.word_count
    if type_ == "boolean":
        return True
    if type_ == "array":
        return []
    return None
