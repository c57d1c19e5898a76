"""Reading JSON of unknown shape: each helper answers the expected type or an empty value, so a
body of the wrong shape is handled where it is read, never a crash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["as_count", "as_dict", "as_list", "as_text"]


def as_count(value: Any) -> int:
    """A non-negative integer (not a bool), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
