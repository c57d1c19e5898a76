"""Scrubbing: no piece of a credential leaves the process, whatever an upstream echoes back.

The process knows its secrets (registered when read). A hostile or buggy upstream may put one,
or part of one, into any field of any answer; so every string passed on from upstream goes
through `scrub` before it is cut, and `scrub` replaces any run of `MIN_PIECE_CHARS` or more
characters of a known secret, not only the whole value.

How a piece is found without trying every window: any run of 8 characters of a secret contains
one of the secret's 4-character chunks that start at a multiple of 4 (the window covers
positions p..p+7, and the first multiple of 4 at or after p is at most p+3, so its chunk ends by
p+6). So each secret is searched for by its aligned chunks (`str.find`, C speed); each hit is
extended both ways along the secret, and kept when the run is long enough.
"""

from __future__ import annotations

import json
import threading
from typing import Any

__all__ = [
    "MIN_PIECE_CHARS",
    "REDACTED",
    "StreamScrubber",
    "passed_on",
    "passed_on_code",
    "register_secret",
    "scrub",
    "scrub_tree",
]

REDACTED = "[REDACTED]"
# A run of this many characters of a secret counts as a leak; shorter ones collide with text.
MIN_PIECE_CHARS = 8
_CHUNK = MIN_PIECE_CHARS // 2
# Upstream error codes are short names or numbers; anything longer is not one.
MAX_CODE_CHARS = 128
_MAX_CODE_INT = 2**53

# Joins a tree's strings for one search; no secret holds it (else each string is searched).
_SEPARATOR = "\x00"
_lock = threading.Lock()
# secret -> its aligned chunks [(chunk, offset in the secret)]
_secrets: dict[str, tuple[tuple[str, int], ...]] = {}
# Whether a registered secret holds _SEPARATOR (then scrub_tree searches string by string).
_separator_in_secrets = False


def register_secret(value: str) -> None:
    """Remember a secret value, so that no answer, event or log line can carry a piece of it."""
    if len(value) < MIN_PIECE_CHARS:
        return
    # Its JSON-escaped form too: a value with a quote or a backslash is escaped in a log line.
    escaped = json.dumps(value)[1:-1]
    global _separator_in_secrets
    with _lock:
        _separator_in_secrets = _separator_in_secrets or _SEPARATOR in value
        for form in {value, escaped}:
            _secrets[form] = tuple(
                (form[offset : offset + _CHUNK], offset)
                for offset in range(0, len(form) - _CHUNK + 1, _CHUNK)
            )


def scrub(text: str) -> str:
    """`text` with every run of MIN_PIECE_CHARS or more characters of a secret replaced."""
    if len(text) < MIN_PIECE_CHARS or not _secrets:
        return text
    with _lock:
        known = tuple(_secrets.items())
    spans: list[tuple[int, int]] = []
    for secret, chunks in known:
        for chunk, offset in chunks:
            found = text.find(chunk)
            while found >= 0:
                span = _extend(text, found, secret, offset)
                if span is not None:
                    spans.append(span)
                found = text.find(chunk, found + 1)
    if not spans:
        return text
    return _replace(text, spans)


def scrub_tree(value: Any) -> Any:
    """`value` (decoded JSON) with every string in it, keys included, scrubbed."""
    if not _secrets:
        return value
    if not isinstance(value, str):
        # One search over all its strings, joined: a tree with nothing to scrub (nearly every
        # answer) costs one pass, not one per string. The separator ends any run of a secret
        # at a string's edge, as searching each string alone would.
        strings: list[str] = []
        _collect(value, strings)
        joined = _SEPARATOR.join(strings)
        if not _separator_in_secrets and scrub(joined) is joined:
            return value
    return _scrub_each(value)


def _collect(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, into)
            _collect(item, into)
    elif isinstance(value, list):
        for item in value:
            _collect(item, into)


def _scrub_each(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {_scrub_each(k): _scrub_each(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_each(item) for item in value]
    return value


def passed_on(value: str, limit: int) -> str:
    """Upstream text as it may be passed on: scrubbed first, then cut to `limit` characters
    (in that order: cutting first could leave the start of a secret whole)."""
    text = scrub(value)
    return text if len(text) <= limit else text[:limit] + "…"


def passed_on_code(value: Any) -> str | int | None:
    """An upstream error code as it may be passed on: a bounded, scrubbed string or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if abs(value) >= _MAX_CODE_INT or scrub(str(value)) != str(value):
            return None
        return value
    if isinstance(value, str):
        return passed_on(value, MAX_CODE_CHARS)
    return None


class StreamScrubber:
    """Scrubs text that arrives in pieces: a secret split across deltas is still caught.

    The last MIN_PIECE_CHARS - 1 characters are held back until more text (or the end) arrives,
    so a run of MIN_PIECE_CHARS characters is always seen whole by `scrub` before any of it
    is passed on.
    """

    def __init__(self) -> None:
        self._held = ""

    def feed(self, text: str) -> str:
        """What may be passed on now (possibly empty)."""
        if not _secrets:
            held, self._held = self._held, ""
            return held + text
        clean = scrub(self._held + text)
        keep = min(len(clean), MIN_PIECE_CHARS - 1)
        self._held = clean[len(clean) - keep :]
        return clean[: len(clean) - keep]

    def flush(self) -> str:
        """The held-back rest, at the end of the stream."""
        held, self._held = self._held, ""
        return held


def _extend(text: str, at: int, secret: str, offset: int) -> tuple[int, int] | None:
    """The run around text[at:] that matches `secret` aligned at `offset`, if long enough."""
    start, inner = at, offset
    while start > 0 and inner > 0 and text[start - 1] == secret[inner - 1]:
        start -= 1
        inner -= 1
    end, inner = at + _CHUNK, offset + _CHUNK
    while end < len(text) and inner < len(secret) and text[end] == secret[inner]:
        end += 1
        inner += 1
    return (start, end) if end - start >= MIN_PIECE_CHARS else None


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    spans.sort()
    parts: list[str] = []
    position = 0
    current_start, current_end = spans[0]
    for start, end in spans[1:]:
        if start <= current_end:
            current_end = max(current_end, end)
            continue
        parts += (text[position:current_start], REDACTED)
        position = current_end
        current_start, current_end = start, end
    parts += (text[position:current_start], REDACTED, text[current_end:])
    return "".join(parts)
