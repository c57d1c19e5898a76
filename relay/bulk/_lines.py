"""Bulk input files: JSONL lines checked up front, and the output lines made from outcomes.

A line is this function's request object plus `custom_id`, or an OpenAI Batch API line
(`custom_id`, `method: POST`, `url`, `body`) whose body becomes the provider parameters. Every
line is checked with the relay's own decoder, so a file either runs whole or is refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from ..errors import InvalidRequest, RelayError
from ..request import REQUEST_ID, decode_prompt
from ..settings import Settings
from ..translate import RESERVED_BODY_FIELDS, build_call

__all__ = [
    "MAX_BAD_LINES_SHOWN",
    "BulkItem",
    "CheckedFile",
    "check_lines",
    "openai_line",
    "output_line",
    "parse_bulk_file",
    "parse_line",
    "split_lines",
]

# A refusal names this many bad lines at most (the first ones).
MAX_BAD_LINES_SHOWN = 10
# Reserved object names under the output prefix (the manifest is `_bulk.json`).
_RESERVED_PREFIX = "_bulk"
_OPENAI_URLS = {"/v1/responses": "responses", "/v1/chat/completions": "chat"}
# OpenAI body fields that are this function's own request fields; the rest is extra_body,
# where the relay's allow-list (RESERVED_BODY_FIELDS, ALLOWED_MODELS) still applies.
_SHARED_FIELDS = {
    "responses": ("model", "input", "instructions", "max_output_tokens", "temperature", "top_p"),
    "chat": ("model", "messages", "temperature", "top_p"),
}
_CHAT_MAX_TOKENS = ("max_completion_tokens", "max_tokens")
_UNICODE_BREAKS = re.compile("[\u2028\u2029\x85]")


@dataclass(frozen=True, slots=True)
class BulkItem:
    """One line: its id, the request JSON a message carries, and the OpenAI url it came with."""

    custom_id: str
    body: bytes
    openai_url: str | None = None


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """What a submission keeps of a checked file: the ids in order and how many lines are
    OpenAI Batch lines (the bodies are read again when published)."""

    custom_ids: list[str]
    openai: int


def split_lines(read: Callable[[int], bytes], chunk: int, max_line: int) -> Iterator[bytes | None]:
    """The lines of a stream read `chunk` bytes at a time; None for a line longer than
    `max_line`, which is skipped without being held (memory stays under chunk + max_line)."""
    carry = b""
    skipping = False
    while block := read(chunk):
        start = 0
        while (end := block.find(b"\n", start)) != -1:
            if skipping:
                skipping = False
                yield None
            else:
                yield carry + block[start:end]
            carry, start = b"", end + 1
        if skipping:
            continue
        carry += block[start:]
        if len(carry) > max_line:
            carry, skipping = b"", True
    if skipping:
        yield None
    elif carry:
        yield carry


def check_lines(
    lines: Iterable[bytes | None], max_items: int, settings: Settings | None = None
) -> CheckedFile:
    """Every line checked as it is read, the line limit too (a file over it is refused at the
    first line past it); InvalidRequest listing the first bad lines otherwise."""
    custom_ids: list[str] = []
    openai = 0
    bad: list[str] = []
    bad_count = 0
    seen: dict[str, int] = {}
    count = 0
    for number, raw in enumerate(lines, start=1):
        if raw is not None and not raw.strip():
            continue
        count += 1
        if count > max_items:
            raise InvalidRequest(
                f"bulk input has more than {max_items} lines; the limit is {max_items}"
            )
        try:
            if raw is None:
                raise InvalidRequest("longer than MAX_BODY_BYTES")
            item = parse_line(raw, settings)
            first = seen.get(item.custom_id)
            if first is not None:
                raise InvalidRequest(f"custom_id {item.custom_id!r} repeats line {first}")
            seen[item.custom_id] = number
            custom_ids.append(item.custom_id)
            openai += item.openai_url is not None
        except InvalidRequest as exc:
            bad_count += 1
            if len(bad) < MAX_BAD_LINES_SHOWN:
                bad.append(f"line {number}: {exc.message}")
    if bad:
        more = f" (and {bad_count - len(bad)} more)" if bad_count > len(bad) else ""
        raise InvalidRequest(
            f"bulk input has {bad_count} bad line(s){more}; nothing was published: "
            + "; ".join(bad)
        )
    if not custom_ids:
        raise InvalidRequest("bulk input has no lines")
    return CheckedFile(custom_ids, openai)


def parse_bulk_file(
    data: bytes, max_items: int, settings: Settings | None = None
) -> list[BulkItem]:
    """Every line of `data` as an item; InvalidRequest listing the first bad lines otherwise."""
    check_lines(data.split(b"\n"), max_items, settings)
    return [parse_line(raw, settings) for raw in data.split(b"\n") if raw.strip()]


def parse_line(raw: bytes, settings: Settings | None = None) -> BulkItem:
    """One line as an item, checked as the item will run (with `settings`: the model
    allow-list and everything else the relay checks before calling upstream)."""
    try:
        line = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        raise InvalidRequest("not valid JSON") from None
    if not isinstance(line, dict):
        raise InvalidRequest("not a JSON object")
    custom_id = line.pop("custom_id", None)
    if not isinstance(custom_id, str) or not REQUEST_ID.match(custom_id):
        raise InvalidRequest("custom_id: required, at most 128 of A-Z a-z 0-9 . _ : -")
    if custom_id.startswith(_RESERVED_PREFIX):
        raise InvalidRequest(f"custom_id {custom_id!r} is reserved")
    openai_url = None
    if "url" in line or "method" in line or "body" in line:
        openai_url, line = _from_openai(line)
    body = msgspec.json.encode(line)
    request = decode_prompt(body)  # the relay's own checks: raises InvalidRequest naming the field
    if line.get("stream"):
        raise InvalidRequest("stream: a bulk item cannot stream")
    if settings is not None:
        try:
            build_call(request, settings, allow_stream=False)
        except RelayError as exc:  # ModelNotAllowed among them: the whole file is refused
            raise InvalidRequest(exc.message) from None
    return BulkItem(custom_id, body, openai_url)


def _from_openai(line: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An OpenAI Batch API line's (url, this function's request)."""
    extra = sorted(set(line) - {"method", "url", "body"})
    if extra:
        raise InvalidRequest(f"unknown field {extra[0]!r} in an OpenAI batch line")
    if line.get("method") != "POST":
        raise InvalidRequest("method: must be POST")
    url = line.get("url")
    api = _OPENAI_URLS.get(url) if isinstance(url, str) else None
    if api is None:
        raise InvalidRequest("url: must be /v1/responses or /v1/chat/completions")
    body = line.get("body")
    if not isinstance(body, dict):
        raise InvalidRequest("body: must be a JSON object")
    rest = dict(body)
    # A batch line cannot stream; `"stream": false` (or null) says so and is dropped.
    if rest.pop("stream", None):
        raise InvalidRequest("body.stream: a bulk line cannot stream")
    # The upstream body is kept (`raw`) so the OpenAI-shaped output line can carry it.
    request: dict[str, Any] = {"api": api, "include_raw": True}
    for name in _SHARED_FIELDS[api]:
        if name in rest:
            request[name] = rest.pop(name)
    if api == "chat":
        for name in _CHAT_MAX_TOKENS:
            if name in rest:
                request.setdefault("max_output_tokens", rest.pop(name))
    # What the relay derives from its own fields (stream, n, tools, response_format, ...) may not
    # ride in as a provider parameter: the same allow-list as extra_body, checked up front.
    clash = sorted(RESERVED_BODY_FIELDS.intersection(rest))
    if clash:
        raise InvalidRequest(f"body.{clash[0]}: not supported in a bulk line")
    if rest:
        request["extra_body"] = rest
    assert isinstance(url, str)
    return url, request


def output_line(custom_id: str, outcome: dict[str, Any]) -> bytes:
    """`{"custom_id", "result" | "error"}` and a newline: one line of results.jsonl."""
    if outcome.get("ok"):
        line: dict[str, Any] = {"custom_id": custom_id, "result": outcome}
    else:
        line = {"custom_id": custom_id, "error": outcome.get("error") or outcome}
    text = msgspec.json.encode(line)
    # JSONL readers split on \n only, but some split on Unicode breaks too: escape them.
    if not text.isascii():
        text = _UNICODE_BREAKS.sub(lambda m: f"\\u{ord(m[0]):04x}", text.decode()).encode()
    return text + b"\n"


def openai_line(line: dict[str, Any]) -> bytes:
    """A results.jsonl line in OpenAI Batch API output shape (`id`, `custom_id`, `response`,
    `error`), the upstream body given as the result's `raw` when it was kept."""
    custom_id = line.get("custom_id")
    result = line.get("result")
    out: dict[str, Any] = {"id": f"batch_req_{custom_id}", "custom_id": custom_id}
    if isinstance(result, dict):
        body = result.get("raw") or {
            key: result.get(key)
            for key in ("id", "model", "status", "output_text", "usage", "tool_calls")
        }
        out["response"] = {"status_code": 200, "request_id": result.get("request_id"), "body": body}
        out["error"] = None
    else:
        error = line.get("error") if isinstance(line.get("error"), dict) else {}
        assert isinstance(error, dict)
        out["response"] = None
        out["error"] = {"code": error.get("type"), "message": error.get("message")}
    return msgspec.json.encode(out) + b"\n"
