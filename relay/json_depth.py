"""How deeply JSON text nests, measured on its bytes at C speed (see `json_depth`)."""

from __future__ import annotations

import re

__all__ = ["json_depth"]

# Strings (whose brackets are text) and everything but brackets are dropped before measuring.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"')
_BRACKETS_ONLY = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))


def json_depth(text: bytes, limit: int) -> int:
    """How deeply valid JSON `text` nests arrays and objects, counted up to `limit` + 1.

    Each pass deletes the innermost pairs, so the number of passes that leave something is the
    depth. Only for text a JSON decoder accepted (strings well formed), so the string pattern
    runs in one linear sweep.
    """
    brackets = _JSON_STRING.sub(b"", text).translate(_BRACKETS_ONLY, _NOT_BRACKETS)
    depth = 0
    while brackets and depth <= limit:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break  # not balanced: not JSON a decoder accepted
        brackets, depth = shorter, depth + 1
    return depth
