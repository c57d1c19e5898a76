"""Read an OpenAI request body and decide, deterministically, what the answer says.

Both APIs go through the same decision (``_decide``); only the way the prompt, tools, output
format and output cap are found differs. The outcome is a ``Plan``; ``_render`` turns it into
the wire format of either API, whole or streamed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from emulators.gateway import _toolloop
from emulators.gateway._errors import JsonObject, model_not_found, openai_error
from emulators.gateway._json import content_text as _content_text
from emulators.gateway._json import json_type as _json_type
from emulators.gateway._schema_fill import fill_schema

REFUSAL_TEXT = "I'm sorry, I can't help with that."
# Reasoning models report this many hidden reasoning tokens, counted into the output tokens.
REASONING_TOKENS = 8
# The real API answers with the resolved snapshot of the requested alias.
SNAPSHOT_SUFFIX = "-2024-07-18"

_REFUSE = re.compile(r"\bREFUSE\b")
# A tuple, not a set: a part's `type` may be any JSON value, and a list cannot be hashed.
_encoder = msgspec.json.Encoder()


class RequestError(Exception):
    """A request the real API would reject; carries the status and OpenAI error body."""

    def __init__(self, body: JsonObject, status: int = 400) -> None:
        super().__init__(body["error"]["message"])
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str  # a JSON string, as on the wire


@dataclass(frozen=True, slots=True)
class Plan:
    """What to answer; exactly one of text / refusal / tool_call is set."""

    model: str
    text: str | None
    refusal: str | None
    tool_call: ToolCall | None
    incomplete: bool  # cut at the output cap
    input_tokens: int
    output_tokens: int  # includes reasoning tokens, as in the real usage objects
    reasoning_tokens: int
    digest: str  # hex digest of the request bytes; every id is derived from it
    created: int

    def ident(self, prefix: str, length: int = 48) -> str:
        """An id like the real ones: a shared stem per answer, then a tail unique to the kind."""
        tail = hashlib.blake2b((prefix + self.digest).encode(), digest_size=16).hexdigest()
        return prefix + (self.digest[:16] + tail)[:length]


def compact_json(value: Any) -> str:
    return _encoder.encode(value).decode()


def decode_body(raw: bytes) -> JsonObject:
    """Parse the request body as OpenAI does: it must be one JSON object."""
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise RequestError(
            openai_error(
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
                "but what was sent was not valid JSON.)",
                "invalid_request_error",
                None,
                None,
            )
        ) from None
    if not isinstance(body, dict):
        raise RequestError(
            openai_error(
                f"Invalid body: expected an object, but got {_json_type(body)} instead.",
                "invalid_request_error",
                None,
                "invalid_type",
            )
        )
    return body


def plan_chat(body: JsonObject, raw: bytes) -> Plan:
    model = _require_model(body)
    messages = body.get("messages")
    if messages is None:
        raise _invalid(
            "messages", "missing_required_parameter", "Missing required parameter: 'messages'."
        )
    if not isinstance(messages, list):
        raise _invalid(
            "messages",
            "invalid_type",
            "Invalid type for 'messages': expected an array of objects, "
            f"but got {_json_type(messages)} instead.",
        )
    if not messages:
        raise _invalid(
            "messages",
            "empty_array",
            "Invalid 'messages': empty array. Expected an array with minimum length 1, "
            "but got an empty array instead.",
        )
    _check_known_model(model)
    tool_reply = _tool_reply(_toolloop.chat_tool_outputs, messages)
    dicts = [m for m in messages if isinstance(m, dict)]
    users = [m for m in dicts if m.get("role") == "user"]
    user_text = _content_text(users[-1].get("content")) if users else ""
    all_text = " ".join(_content_text(m.get("content")) for m in dicts)
    tools: dict[str, Any] = {}  # name -> parameters schema
    for tool in _dicts(body.get("tools")):
        function = tool.get("function")
        if tool.get("type") == "function" and isinstance(function, dict):
            name = function.get("name")
            if isinstance(name, str) and name:
                tools[name] = function.get("parameters")
    forced = None
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        forced = choice["function"].get("name")
    fmt = body.get("response_format")
    schema_format = None
    if isinstance(fmt, dict):
        json_schema = fmt.get("json_schema")
        if fmt.get("type") == "json_schema" and isinstance(json_schema, dict):
            schema_format = {"type": "json_schema", "schema": json_schema.get("schema")}
        elif fmt.get("type") == "json_object":
            schema_format = {"type": "json_object"}
    limit = body.get("max_completion_tokens")
    if limit is None:
        limit = body.get("max_tokens")
    last = messages[-1]
    return _decide(
        raw,
        model=model,
        user_text=user_text,
        all_text=all_text,
        tools=tools,
        tool_choice=choice,
        forced=forced,
        after_tool_result=isinstance(last, dict) and last.get("role") in ("tool", "function"),
        output_format=schema_format,
        limit=limit,
        tool_reply=tool_reply,
    )


def plan_responses(body: JsonObject, raw: bytes) -> Plan:
    model = _require_model(body)
    inp = body.get("input")
    if inp is None:
        raise _invalid(
            "input", "missing_required_parameter", "Missing required parameter: 'input'."
        )
    if not isinstance(inp, str | list):
        raise _invalid(
            "input",
            "invalid_type",
            f"Invalid type for 'input': expected a string or an array, "
            f"but got {_json_type(inp)} instead.",
        )
    _check_known_model(model)
    instructions = body.get("instructions")
    texts = [instructions] if isinstance(instructions, str) else []
    after_tool_result = False
    tool_reply = None
    if isinstance(inp, str):
        user_text = inp
        texts.append(inp)
    else:
        items = [i for i in inp if isinstance(i, dict)]
        messages = [i for i in items if i.get("type", "message") == "message"]
        users = [m for m in messages if m.get("role") == "user"]
        user_text = _content_text(users[-1].get("content")) if users else ""
        texts.extend(_content_text(m.get("content")) for m in messages)
        after_tool_result = bool(items) and items[-1].get("type") == "function_call_output"
        tool_reply = _tool_reply(_toolloop.responses_tool_outputs, inp)
    tools: dict[str, Any] = {}  # name -> parameters schema
    for tool in _dicts(body.get("tools")):
        name = tool.get("name")
        if tool.get("type") == "function" and isinstance(name, str) and name:
            tools[name] = tool.get("parameters")
    choice = body.get("tool_choice")
    forced = choice.get("name") if isinstance(choice, dict) else None
    text_config = body.get("text")
    fmt = text_config.get("format") if isinstance(text_config, dict) else None
    output_format = fmt if isinstance(fmt, dict) else None
    return _decide(
        raw,
        model=model,
        user_text=user_text,
        all_text=" ".join(texts),
        tools=tools,
        tool_choice=choice,
        forced=forced,
        after_tool_result=after_tool_result,
        output_format=output_format,
        limit=body.get("max_output_tokens"),
        tool_reply=tool_reply,
    )


def _tool_reply(
    check: Callable[[list[Any]], list[_toolloop.ToolOutput]], entries: list[Any]
) -> str | None:
    """Check the request's tool loop (a refusal is the API's 400); say what its outputs were."""
    try:
        return _toolloop.reply(check(entries))
    except _toolloop.ToolLoopError as exc:
        raise RequestError(exc.body) from None


def is_reasoning_model(model: str) -> bool:
    return model.startswith(("o", "gpt-5"))


def _decide(
    raw: bytes,
    *,
    model: str,
    user_text: str,
    all_text: str,
    tools: dict[str, Any],
    tool_choice: Any,
    forced: Any,
    after_tool_result: bool,
    output_format: JsonObject | None,
    limit: Any,
    tool_reply: str | None = None,
) -> Plan:
    """The one place that fixes what the emulated model says."""
    digest = hashlib.blake2b(raw, digest_size=24).hexdigest()
    echo = "Echo: " + user_text
    user_words = len(user_text.split())
    text: str | None = None
    refusal: str | None = None
    call: ToolCall | None = None
    incomplete = False
    if forced is not None and forced not in tools:
        raise _invalid(
            "tool_choice",
            "invalid_value",
            f"Invalid value for 'tool_choice': function '{forced}' not found in 'tools'.",
        )
    if _REFUSE.search(user_text):
        refusal = answer = REFUSAL_TEXT
    elif tools and tool_choice != "none" and not after_tool_result:
        name = forced if isinstance(forced, str) else next(iter(tools))
        arguments = fill_schema(tools[name], echo, user_words)
        answer = compact_json(arguments if isinstance(arguments, dict) else {})
        call = ToolCall(name, answer)
    else:
        if output_format is not None and output_format.get("type") == "json_schema":
            answer = compact_json(fill_schema(output_format.get("schema"), echo, user_words))
        elif output_format is not None and output_format.get("type") == "json_object":
            answer = compact_json({"text": echo})
        else:
            # After tool outputs the model talks about them; otherwise it echoes the user.
            answer = tool_reply if tool_reply is not None else echo
        words = answer.split()
        if isinstance(limit, int) and not isinstance(limit, bool) and 0 <= limit < len(words):
            answer = " ".join(words[:limit])
            incomplete = True
        text = answer
    reasoning = REASONING_TOKENS if is_reasoning_model(model) else 0
    return Plan(
        model=model + SNAPSHOT_SUFFIX,
        text=text,
        refusal=refusal,
        tool_call=call,
        incomplete=incomplete,
        input_tokens=max(1, len(all_text.split())),
        output_tokens=len(answer.split()) + reasoning,
        reasoning_tokens=reasoning,
        digest=digest,
        # A stable, plausible unix time (late 2023 onwards) rather than the clock.
        created=1_700_000_000 + int(digest[:8], 16) % 100_000_000,
    )


def _dicts(value: Any) -> list[JsonObject]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _require_model(body: JsonObject) -> str:
    model = body.get("model")
    if model is None:
        raise RequestError(
            openai_error("you must provide a model parameter", "invalid_request_error", None, None)
        )
    if not isinstance(model, str) or not model:
        raise _invalid(
            "model",
            "invalid_value",
            f"Invalid value for 'model': expected a non-empty string, got {_json_type(model)}.",
        )
    return model


def _check_known_model(model: str) -> None:
    if model.startswith("unknown-"):
        raise RequestError(model_not_found(model))


def _invalid(param: str, code: str, message: str) -> RequestError:
    return RequestError(openai_error(message, "invalid_request_error", param, code))
