"""The result's `gateway` object, from the gateway's response headers.

Header values come from outside: each is cut to a bound and stripped of control characters before
it reaches a result or a log line. `cf-aig-dlp` (what a DLP policy found) is decoded when it is a
small JSON value and passed on as text otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import msgspec

from .logs import redact

__all__ = ["MAX_DLP_CHARS", "MAX_HEADER_VALUE_CHARS", "gateway_info", "header_value"]

# Log ids, cache statuses, steps, model and provider names are short; anything longer is cut.
MAX_HEADER_VALUE_CHARS = 256
# A DLP verdict lists policies and profiles: a few hundred bytes in practice.
MAX_DLP_CHARS = 8192
# Decoded DLP JSON nests this deep at most (the documented shape nests 3 levels).
MAX_DLP_DEPTH = 8
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_FIELDS = {
    "log_id": "cf-aig-log-id",
    "cache_status": "cf-aig-cache-status",
    "step": "cf-aig-step",
    "model": "cf-aig-model",
    "provider": "cf-aig-provider",
}


def gateway_info(headers: Mapping[str, str]) -> dict[str, Any]:
    """`{log_id, cache_status, step, model, provider, dlp}`, each null when its header is absent."""
    info: dict[str, Any] = {
        field: _clean(headers.get(header), MAX_HEADER_VALUE_CHARS)
        for field, header in _FIELDS.items()
    }
    info["dlp"] = _dlp(headers.get("cf-aig-dlp"))
    return info


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """One gateway header as a result or log line may carry it (bounded, scrubbed)."""
    return _clean(headers.get(name), MAX_HEADER_VALUE_CHARS)


def _clean(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    text = _CONTROL.sub("", redact(value)).strip()
    if len(text) > limit:
        text = text[:limit] + "…"
    return text or None


def _dlp(value: str | None) -> Any:
    text = _clean(value, MAX_DLP_CHARS)
    if text is None or text.endswith("…"):
        return text  # absent, or too long to be whole JSON: passed on as cut text
    try:
        decoded = msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return text
    return decoded if _depth(decoded) <= MAX_DLP_DEPTH else text


def _depth(value: Any) -> int:
    """How deeply `value` nests lists and objects (iteratively, so no input can exhaust a stack)."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            level += 1
            deepest = max(deepest, level)
            if level > MAX_DLP_DEPTH:
                return level
            stack.extend((child, level) for child in node)
    return deepest
