"""Small readers of request JSON shared by the emulator's checks."""

from __future__ import annotations

from typing import Any

__all__ = ["content_text", "json_type"]

# Content parts that carry text, in either API's request shapes.
TEXT_PART_TYPES = ("text", "input_text", "output_text")  # a tuple: `in` works for any value


def json_type(value: Any) -> str:
    """How OpenAI's error messages name a JSON value's type ("a string", "an array", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def content_text(content: Any) -> str:
    """Text of a message's content: a string, or the text parts of a list, space-joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part["text"]
            for part in content
            if isinstance(part, dict)
            and part.get("type") in TEXT_PART_TYPES
            and isinstance(part.get("text"), str)
        )
    return ""
