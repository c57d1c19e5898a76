"""Check request items against the openai package's own request types, strictly.

The openai package describes every request shape as a TypedDict (``ChatCompletionMessageParam``,
``ResponseInputItemParam``, ...). This walks a decoded JSON value against one of them the way the
API does: required keys must be there, unknown keys are refused by name, scalars must have the
declared type, unions pick the member whose ``Literal`` fields (``role``, ``type``) match. The
errors are OpenAI's wording and codes, so a client sees what the real API would tell it.

``openai`` is imported on first use only: it takes about a second to import, and most requests
(plain prompts, benchmarks) never need this check.
"""

from __future__ import annotations

import collections.abc
import functools
import types
import typing
from typing import Any, Literal, NotRequired, Required, Union

from emulators.gateway._errors import JsonObject, openai_error
from emulators.gateway._json import json_type as _json_type

__all__ = ["WireError", "chat_message_type", "check", "responses_item_type"]

_WRAPPERS = (Required, NotRequired, typing.Annotated)
_SEQUENCES = (list, collections.abc.Iterable, collections.abc.Sequence)


class WireError(Exception):
    """A value that does not match its type; ``body`` is OpenAI's 400 error body."""

    def __init__(self, message: str, param: str, code: str) -> None:
        super().__init__(message)
        self.body: JsonObject = openai_error(message, "invalid_request_error", param, code)


@functools.cache
def chat_message_type() -> Any:
    from openai.types.chat import ChatCompletionMessageParam

    return ChatCompletionMessageParam


@functools.cache
def responses_item_type() -> Any:
    from openai.types.responses import ResponseInputItemParam

    return ResponseInputItemParam


def check(value: Any, hint: Any, path: str) -> None:
    """Raise WireError unless ``value`` matches the type ``hint``; ``path`` names it."""
    origin = typing.get_origin(hint)
    if origin in _WRAPPERS:
        check(value, typing.get_args(hint)[0], path)
    elif hint is Any or hint is object:
        return
    elif origin is Literal:
        if value not in typing.get_args(hint) or isinstance(value, bool):
            allowed = ", ".join(repr(v) for v in typing.get_args(hint))
            raise WireError(
                f"Invalid value: {_short(value)}. Supported values are: {allowed}.",
                path,
                "invalid_value",
            )
    elif origin is Union or origin is types.UnionType:
        _check_union(value, typing.get_args(hint), path)
    elif hint is type(None):
        if value is not None:
            raise _type_error(path, "null", value)
    elif _is_typed_dict(hint):
        _check_typed_dict(value, hint, path)
    elif _is_sequence(hint, origin):
        if not isinstance(value, list):
            raise _type_error(path, "an array", value)
        args = typing.get_args(hint)
        for index, item in enumerate(value):
            check(item, args[0] if args else Any, f"{path}[{index}]")
    elif origin in (dict, collections.abc.Mapping) or hint is dict:
        if not isinstance(value, dict):
            raise _type_error(path, "an object", value)
    elif hint in (str, bool):
        if not isinstance(value, hint):
            raise _type_error(path, "a string" if hint is str else "a boolean", value)
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(path, "an integer", value)
    elif hint is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _type_error(path, "a number", value)
    # Anything else (a type this walker does not know) is accepted: lenient, never wrong.


def _is_typed_dict(hint: Any) -> bool:
    # typing.is_typeddict misses typing_extensions' TypedDicts, which openai uses.
    return isinstance(hint, type) and issubclass(hint, dict) and hasattr(hint, "__total__")


def _is_sequence(hint: Any, origin: Any) -> bool:
    if hint is list or origin in _SEQUENCES:
        return True
    # openai's SequenceNotStr[...]: a list on the wire.
    return getattr(origin, "__name__", "") == "SequenceNotStr"


@functools.cache
def _fields(cls: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """A TypedDict's field types, and which are required (told by Required[], not the class:
    under postponed annotations Python 3.11 cannot see Required in a string)."""
    hints = typing.get_type_hints(cls, include_extras=True)
    total = getattr(cls, "__total__", True)
    required = frozenset(
        name
        for name, hint in hints.items()
        if typing.get_origin(hint) is Required
        or (total and typing.get_origin(hint) is not NotRequired)
    )
    return hints, required


def _check_typed_dict(value: Any, cls: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise _type_error(path, "an object", value)
    hints, required = _fields(cls)
    for key in value:
        if key not in hints:
            where = _join(path, key)
            raise WireError(f"Unknown parameter: '{where}'.", where, "unknown_parameter")
    for key in sorted(required):
        if key not in value:
            where = _join(path, key)
            raise WireError(
                f"Missing required parameter: '{where}'.", where, "missing_required_parameter"
            )
    for key, item in value.items():
        check(item, hints[key], _join(path, key))


def _check_union(value: Any, members: tuple[Any, ...], path: str) -> None:
    candidates = [m for m in members if _could_be(value, m)]
    if not candidates:
        if isinstance(value, dict) and any(_is_typed_dict(m) for m in members):
            raise WireError(
                f"Invalid value for '{path}': no accepted shape has these discriminating "
                f"fields ({_short({k: v for k, v in value.items() if isinstance(v, str)})}).",
                path,
                "invalid_value",
            )
        raise _type_error(path, " or ".join(_describe(m) for m in members), value)
    first: WireError | None = None
    for member in candidates:
        try:
            check(value, member, path)
        except WireError as exc:
            first = first or exc
        else:
            return
    assert first is not None
    raise first


def _could_be(value: Any, member: Any) -> bool:
    """Whether ``member`` is worth trying: for a TypedDict, its Literal fields must match."""
    if not _is_typed_dict(member):
        return True
    if not isinstance(value, dict):
        return False
    hints, required = _fields(member)
    for key, hint in hints.items():
        inner = hint
        while typing.get_origin(inner) in _WRAPPERS:
            inner = typing.get_args(inner)[0]
        if typing.get_origin(inner) is not Literal:
            continue
        if key in value:
            if value[key] not in typing.get_args(inner):
                return False
        elif key in required:
            return False
    return True


def _describe(hint: Any) -> str:
    if hint is str:
        return "a string"
    if hint is type(None):
        return "null"
    if _is_typed_dict(hint):
        return "an object"
    if _is_sequence(hint, typing.get_origin(hint)):
        return "an array"
    return "a value"


def _type_error(path: str, expected: str, value: Any) -> WireError:
    return WireError(
        f"Invalid type for '{path}': expected {expected}, but got {_json_type(value)} instead.",
        path,
        "invalid_type",
    )


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:80] + "…"
