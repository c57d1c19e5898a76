"""The request model: a caller's JSON body decoded and validated in one strict pass.

msgspec does the decoding and the type checks (strict: "10" is not an integer, unknown fields are
rejected by name); the few rules that span fields live in `__post_init__`. Every failure becomes an
InvalidRequest whose message names the field. A valid body is decoded once (`deliver` rides on
the request); only a refused body is read again, loosely (`body_fields`), for what it echoes.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from .errors import InvalidRequest
from .json_depth import json_depth
from .messages import (
    Description,
    Message,
    NonEmpty,
    Strict,
    Tool,
    ToolChoiceFunction,
    ToolName,
    check_messages,
)
from .settings import MAX_MODEL_CHARS, Api

__all__ = [
    "BYOK_ALIAS_PATTERN",
    "REQUEST_ID",
    "REQUEST_ID_PATTERN",
    "Api",
    "BatchRequest",
    "BodyFields",
    "BulkBody",
    "CacheOptions",
    "JsonSchema",
    "LogOptions",
    "PromptRequest",
    "ServiceTier",
    "body_fields",
    "decode_body",
    "decode_prompt",
    "decode_request",
]

# Patterns end in \Z, not $: msgspec searches with `re`, where $ also matches before a final
# newline, and a trailing "\n" must not slip into a header or an echoed id.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}\Z"
REQUEST_ID = re.compile(REQUEST_ID_PATTERN)

ModelName = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_MODEL_CHARS)]
# Header-bound text: visible ASCII only, so no CR/LF (or anything else) can reach a header.
# Visible ASCII, inner spaces allowed: HTTP refuses a header value with white space at its ends.
HEADER_TEXT_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?\Z"
HeaderText = Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=HEADER_TEXT_PATTERN)]
RequestId = Annotated[str, msgspec.Meta(pattern=REQUEST_ID_PATTERN)]
# The name of a key stored in the gateway (cf-aig-byok-alias); settings check it the same way.
BYOK_ALIAS_PATTERN = r"^[A-Za-z0-9._-]{1,64}\Z"
ByokAlias = Annotated[str, msgspec.Meta(pattern=BYOK_ALIAS_PATTERN)]
# OpenAI's processing tiers, for both APIs: flex costs about half and may be unavailable (429).
ServiceTier = Literal["auto", "default", "flex", "priority"]
MetadataKey = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# Values travel in one header (cf-aig-metadata): keep each short.
MetadataValue = Annotated[str, msgspec.Meta(max_length=512)] | int | float | bool

# Free-form JSON (input, extra_body, schemas, parameters) may nest this deep and no deeper: the
# decoder's own limit depends on the stack it runs on, so a body that barely decodes could fail
# to encode later. An explicit cap answers the same way every time.
MAX_NESTING = 64
# A message quoting the caller's text (an unknown field's name) is cut to this.
MAX_MESSAGE_CHARS = 300

# Cloudflare's documented bounds for cf-aig-cache-ttl and cf-aig-metadata.
CACHE_TTL_MIN_SECONDS = 60
CACHE_TTL_MAX_SECONDS = 2_592_000
METADATA_MAX_ENTRIES = 5
MAX_FALLBACK_MODELS = 3


class JsonSchema(Strict):
    """Structured output: the answer must match `schema`."""

    name: ToolName
    schema: dict[str, Any]
    strict: bool | None = None
    description: Description | None = None


class CacheOptions(Strict):
    """AI Gateway caching for this request."""

    ttl: Annotated[int, msgspec.Meta(ge=CACHE_TTL_MIN_SECONDS, le=CACHE_TTL_MAX_SECONDS)] | None = (
        None
    )
    skip: bool | None = None
    key: HeaderText | None = None


class LogOptions(Strict):
    """The gateway's own logging of this request (cf-aig-collect-log, -payload)."""

    collect: bool | None = None
    payload: bool | None = None


class PromptRequest(Strict):
    """One prompt, as the contract's request table defines it."""

    prompt: NonEmpty | None = None
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)] | None = None
    input: NonEmpty | Annotated[list[Any], msgspec.Meta(min_length=1)] | None = None
    instructions: NonEmpty | None = None
    api: Api | None = None
    model: ModelName | None = None
    max_output_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    temperature: float | None = None
    top_p: float | None = None
    json_schema: JsonSchema | None = None
    tools: Annotated[list[Tool], msgspec.Meta(min_length=1, max_length=128)] | None = None
    tool_choice: Literal["auto", "none", "required"] | ToolChoiceFunction | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    metadata: (
        Annotated[dict[MetadataKey, MetadataValue], msgspec.Meta(max_length=METADATA_MAX_ENTRIES)]
        | None
    ) = None
    cache: CacheOptions | None = None
    stream: bool | None = None
    request_id: RequestId | None = None
    include_raw: bool | None = None
    extra_body: dict[str, Any] | None = None
    # Send the outcome to the result sinks (docs/delivery.md); read by the handlers, not the core.
    deliver: bool | None = None
    log: LogOptions | None = None
    zdr: bool | None = None
    byok_alias: ByokAlias | None = None
    service_tier: ServiceTier | None = None
    # Tried in order when the model before ends in a failure another model may not share.
    fallback_models: (
        Annotated[list[ModelName], msgspec.Meta(min_length=1, max_length=MAX_FALLBACK_MODELS)]
        | None
    ) = None

    def __post_init__(self) -> None:
        if self.messages is not None:
            check_messages(self.messages)
        given = [n for n in ("prompt", "messages", "input") if getattr(self, n) is not None]
        if len(given) != 1:
            found = " and ".join(given) if given else "none"
            raise ValueError(
                f"exactly one of prompt, messages or input is required (found {found})"
            )
        if isinstance(self.tool_choice, ToolChoiceFunction):
            names = {tool.name for tool in self.tools or ()}
            if self.tool_choice.name not in names:
                raise ValueError(f"tool_choice names {self.tool_choice.name!r}, not in tools")
        elif self.tool_choice is not None and not self.tools:
            raise ValueError("tool_choice needs tools")

    def free_form(self) -> dict[str, Any]:
        """The parts whose shape the caller chooses, by field name (None when absent)."""
        return {
            "input": self.input,
            "extra_body": self.extra_body,
            "json_schema": self.json_schema.schema if self.json_schema else None,
            "tools": [tool.parameters for tool in self.tools] if self.tools else None,
            "messages": [m.content for m in self.messages] if self.messages else None,
        }


class BatchRequest(Strict):
    """`{"requests": [...]}`: several prompts answered together, in order."""

    requests: Annotated[list[msgspec.Raw], msgspec.Meta(min_length=1)]
    # Send the whole batch answer to the result sinks (docs/delivery.md).
    deliver: bool | None = None


_request_decoder = msgspec.json.Decoder(PromptRequest)
_batch_decoder = msgspec.json.Decoder(BatchRequest)
_BATCH_PREFIX = re.compile(rb'^\s*\{\s*"requests"\s*:')
_DELIVER_BATCH_PREFIX = re.compile(
    rb'^\s*\{\s*"deliver"\s*:\s*(?:true|false|null)\s*,\s*"requests"\s*:'
)
_BULK_PREFIX = re.compile(rb'^\s*\{\s*"bulk(?:_status)?"\s*:')


@dataclass(frozen=True, slots=True)
class BulkBody:
    """A `bulk` or `bulk_status` body: `relay.bulk` decodes and answers it, never as a prompt."""

    body: bytes


def decode_body(body: bytes) -> PromptRequest | BatchRequest | BulkBody:
    """Decode an HTTP body once: a prompt, a batch, or a bulk body left to `relay.bulk`."""
    if _BULK_PREFIX.match(body):
        return BulkBody(body)
    try:
        return decode_request(body)
    except InvalidRequest:
        # Neither a prompt nor a batch has a `bulk` key, so a body with one always lands here
        # (`{"deliver": true, "bulk": ...}`, say); only then are its keys looked at.
        data = _loose(body) if b"bulk" in body else None
        if isinstance(data, dict) and {"bulk", "bulk_status"} & data.keys():
            return BulkBody(body)
        raise


_AT_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def decode_request(body: bytes) -> PromptRequest | BatchRequest:
    """Decode a caller's body; raise InvalidRequest naming what is wrong."""
    if _BATCH_PREFIX.match(body):
        return _decode(_batch_decoder, body)
    if _DELIVER_BATCH_PREFIX.match(body):
        # A scheduler job's batch, `deliver` first: one pass when valid; when not, the error
        # is the one the path below gives.
        with contextlib.suppress(InvalidRequest):
            return _decode(_batch_decoder, body)
    try:
        return _checked(_decode(_request_decoder, body), body)
    except InvalidRequest as exc:
        # The fast test above misses a batch key spelled with escapes ("\u0072equests"). A body
        # that is no batch either (`{"prompt": "x", "requests": null}`) keeps the first error.
        if exc.message.startswith("unknown field `requests`"):
            try:
                return _decode(_batch_decoder, body)
            except InvalidRequest:
                raise exc from None
        raise


@dataclass(frozen=True, slots=True)
class BodyFields:
    """What a refused body's answer still uses: its request_id and `deliver`, when well formed."""

    request_id: str | None = None
    deliver: bool | None = None


def body_fields(body: bytes) -> BodyFields:
    """The top-level `request_id` and `deliver` of any JSON object, however invalid the rest."""
    data = _loose(body)
    if not isinstance(data, dict):
        return BodyFields()
    request_id, deliver = data.get("request_id"), data.get("deliver")
    return BodyFields(
        request_id if isinstance(request_id, str) and REQUEST_ID.match(request_id) else None,
        deliver if isinstance(deliver, bool) else None,
    )


def _loose(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None


def decode_prompt(body: bytes) -> PromptRequest:
    """Decode one prompt (a batch item, a Pub/Sub payload)."""
    return _checked(_decode(_request_decoder, body), body)


def _checked(request: PromptRequest, body: bytes) -> PromptRequest:
    """`request`, once no free-form part of it nests deeper than MAX_NESTING.

    Measured on JSON text, not by walking objects: a walk costs a Python step per item (an
    8 MiB body of empty objects took seconds), the text passes below run at C speed. A part can
    nest no deeper than the body holding it, so most bodies are done after the first measure.
    """
    if json_depth(body, MAX_NESTING) <= MAX_NESTING:
        return request
    for name, value in request.free_form().items():
        if value is not None and json_depth(msgspec.json.encode(value), MAX_NESTING) > MAX_NESTING:
            raise InvalidRequest(f"{name} is nested too deeply (more than {MAX_NESTING} levels)")
    return request


T = TypeVar("T")


def _decode(decoder: msgspec.json.Decoder[T], body: bytes) -> T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(_describe(str(exc))) from exc
    except msgspec.DecodeError as exc:
        raise InvalidRequest(f"body is not valid JSON ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise InvalidRequest("body is not valid UTF-8") from exc
    except RecursionError as exc:
        raise InvalidRequest("body is nested too deeply") from exc


# What each pattern means, for people (msgspec would quote the regex).
_PATTERN_WORDS = {
    REQUEST_ID_PATTERN: "at most 128 of A-Z a-z 0-9 . _ : -",
    HEADER_TEXT_PATTERN: "visible ASCII characters, no space at either end",
    r"^[A-Za-z0-9_-]{1,64}\Z": "1 to 64 of A-Z a-z 0-9 _ -",
    BYOK_ALIAS_PATTERN: "1 to 64 of A-Z a-z 0-9 . _ -",
}


def _describe(message: str) -> str:
    """Turn msgspec's wording into `field: what is wrong`, cut to MAX_MESSAGE_CHARS."""
    text = _explain(message)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS] + "…"


def _explain(message: str) -> str:
    message = message.replace(" | null", "").replace("`null | ", "`")
    for pattern, words in _PATTERN_WORDS.items():
        message = message.replace(f"`str` matching regex {pattern!r}", f"`str` of {words}")
    path = ""
    match = _AT_PATH.search(message)
    if match:
        path = match["path"]
        message = message[: match.start()]
    if message.startswith("Object contains unknown field "):
        field = message.removeprefix("Object contains unknown field ")
        where = f" in {path}" if path else ""
        return f"unknown field {field}{where}"
    if message.startswith("Object missing required field "):
        field = message.removeprefix("Object missing required field ").strip("`")
        return f"{path + '.' if path else ''}{field}: required"
    if message == "Expected `object`, got `array`" and not path:
        return "body must be a JSON object"
    if not path and message.startswith("Expected `object`"):
        return "body must be a JSON object"
    return f"{path}: {message[0].lower()}{message[1:]}" if path else message
