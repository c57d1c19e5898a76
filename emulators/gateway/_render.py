"""Turn a ``Plan`` into OpenAI's wire format: whole bodies and server-sent event streams.

Shapes follow the recorded bodies in ``tests/fixtures/openai`` (see its README): field order,
``null`` placeholders and the event sequence are copied from the recordings so that SDK parsers
and hand-written normalizers see what they would see from the real API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from emulators.gateway._errors import JsonObject
from emulators.gateway._plan import Plan, is_reasoning_model
from emulators.gateway._routes import served_tier

_encode = msgspec.json.Encoder().encode
_FINGERPRINT = "fp_emulator"
# Stream text word by word, keeping the whitespace in front of each word so the deltas
# concatenate back to the exact text.
_WORDS = re.compile(r"\s*\S+|\s+")
_ARGUMENT_FRAGMENT = 8  # characters per streamed tool-argument fragment


_Emit = Callable[..., None]  # emit(event_type, **fields)


def json_bytes(value: Any) -> bytes:
    return _encode(value)


def _pieces(text: str) -> list[str]:
    return _WORDS.findall(text)


def _fragments(text: str) -> list[str]:
    return [text[i : i + _ARGUMENT_FRAGMENT] for i in range(0, len(text), _ARGUMENT_FRAGMENT)]


# --- Chat Completions -------------------------------------------------------------------------


def _chat_finish_reason(plan: Plan) -> str:
    if plan.tool_call is not None:
        return "tool_calls"
    return "length" if plan.incomplete else "stop"


def _chat_usage(plan: Plan) -> JsonObject:
    return {
        "prompt_tokens": plan.input_tokens,
        "completion_tokens": plan.output_tokens,
        "total_tokens": plan.input_tokens + plan.output_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": plan.reasoning_tokens,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(plan: Plan, tier: str = "default") -> JsonObject:
    message: JsonObject = {
        "role": "assistant",
        "content": plan.text,
        "refusal": plan.refusal,
        "annotations": [],
    }
    if plan.tool_call is not None:
        message["tool_calls"] = [
            {
                "id": plan.ident("call_", 24),
                "type": "function",
                "function": {"name": plan.tool_call.name, "arguments": plan.tool_call.arguments},
            }
        ]
    return {
        "id": plan.ident("chatcmpl-", 29),
        "object": "chat.completion",
        "created": plan.created,
        "model": plan.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": _chat_finish_reason(plan),
            }
        ],
        "usage": _chat_usage(plan),
        "service_tier": tier,
        "system_fingerprint": _FINGERPRINT,
    }


def chat_stream(plan: Plan, body: JsonObject) -> list[bytes]:
    """Every SSE frame of a streamed chat completion, ``[DONE]`` included."""
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and options.get("include_usage") is True
    head: JsonObject = {
        "id": plan.ident("chatcmpl-", 29),
        "object": "chat.completion.chunk",
        "created": plan.created,
        "model": plan.model,
        "service_tier": served_tier(body),
        "system_fingerprint": _FINGERPRINT,
    }

    def chunk(delta: JsonObject, finish_reason: str | None = None) -> bytes:
        frame = {
            **head,
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if include_usage:
            # As in the 2026 recording: every chunk but the last carries "usage": null.
            frame["usage"] = None
        return b"data: " + _encode(frame) + b"\n\n"

    frames: list[bytes] = []
    if plan.tool_call is not None:
        frames.append(chunk({"role": "assistant", "content": None}))
        call_id = plan.ident("call_", 24)
        first = {"name": plan.tool_call.name, "arguments": ""}
        frames.append(
            chunk(
                {"tool_calls": [{"index": 0, "id": call_id, "type": "function", "function": first}]}
            )
        )
        for fragment in _fragments(plan.tool_call.arguments):
            frames.append(
                chunk({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
            )
    elif plan.refusal is not None:
        frames.append(chunk({"role": "assistant", "content": None, "refusal": ""}))
        frames.extend(chunk({"refusal": piece}) for piece in _pieces(plan.refusal))
    else:
        frames.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        frames.extend(chunk({"content": piece}) for piece in _pieces(plan.text or ""))
    frames.append(chunk({}, _chat_finish_reason(plan)))
    if include_usage:
        frames.append(
            b"data: " + _encode({**head, "choices": [], "usage": _chat_usage(plan)}) + b"\n\n"
        )
    frames.append(b"data: [DONE]\n\n")
    return frames


# --- Responses --------------------------------------------------------------------------------


def _output_items(plan: Plan) -> list[JsonObject]:
    items: list[JsonObject] = []
    if plan.reasoning_tokens:
        items.append({"id": plan.ident("rs_"), "type": "reasoning", "summary": []})
    if plan.tool_call is not None:
        items.append(
            {
                "id": plan.ident("fc_"),
                "type": "function_call",
                "status": "completed",
                "arguments": plan.tool_call.arguments,
                "call_id": plan.ident("call_", 24),
                "name": plan.tool_call.name,
            }
        )
        return items
    part: JsonObject
    if plan.refusal is not None:
        part = {"type": "refusal", "refusal": plan.refusal}
    else:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": plan.text}
    items.append(
        {
            "id": plan.ident("msg_"),
            "type": "message",
            "status": "incomplete" if plan.incomplete else "completed",
            "content": [part],
            "role": "assistant",
        }
    )
    return items


def _echo_tools(tools: Any) -> list[Any]:
    """The request's tools as the API echoes them: function tools get their optional keys."""
    if not isinstance(tools, list):
        return []
    echoed: list[Any] = []
    for tool in tools:
        if isinstance(tool, dict) and tool.get("type") == "function":
            tool = {"description": None, "parameters": None, "strict": True, **tool}
        echoed.append(tool)
    return echoed


def _echo_text(text: Any) -> JsonObject:
    config: JsonObject = {"format": {"type": "text"}, "verbosity": "medium"}
    if isinstance(text, dict):
        config.update(text)
        fmt = config["format"]
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            config["format"] = {"description": None, **fmt}
    return config


def response_object(plan: Plan, body: JsonObject, *, final: bool) -> JsonObject:
    """The ``response`` object: the finished one, or the in-progress snapshot streams start with."""
    reasoning = body.get("reasoning")
    if not isinstance(reasoning, dict):
        reasoning = {}
    default_effort = "medium" if is_reasoning_model(plan.model) else None
    status = ("incomplete" if plan.incomplete else "completed") if final else "in_progress"
    return {
        "id": plan.ident("resp_"),
        "object": "response",
        "created_at": plan.created,
        "status": status,
        "background": False,
        "completed_at": plan.created + 1 if final and not plan.incomplete else None,
        "error": None,
        "incomplete_details": (
            {"reason": "max_output_tokens"} if final and plan.incomplete else None
        ),
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": plan.model,
        "output": _output_items(plan) if final else [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {
            "effort": reasoning.get("effort", default_effort),
            "summary": reasoning.get("summary"),
        },
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": served_tier(body),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": _echo_text(body.get("text")),
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _echo_tools(body.get("tools")),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": _responses_usage(plan) if final else None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }


def _responses_usage(plan: Plan) -> JsonObject:
    return {
        "input_tokens": plan.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": plan.output_tokens,
        "output_tokens_details": {"reasoning_tokens": plan.reasoning_tokens},
        "total_tokens": plan.input_tokens + plan.output_tokens,
    }


def responses_stream(plan: Plan, body: JsonObject) -> list[bytes]:
    """Every SSE frame of a streamed response, in the recorded order; no ``[DONE]``."""
    frames: list[bytes] = []

    def emit(type_: str, **fields: Any) -> None:
        event = {"type": type_, **fields, "sequence_number": len(frames)}
        frames.append(b"event: " + type_.encode() + b"\ndata: " + _encode(event) + b"\n\n")

    emit("response.created", response=response_object(plan, body, final=False))
    emit("response.in_progress", response=response_object(plan, body, final=False))
    for index, item in enumerate(_output_items(plan)):
        if item["type"] == "reasoning":
            emit("response.output_item.added", output_index=index, item=item)
            emit("response.output_item.done", output_index=index, item=item)
        elif item["type"] == "function_call":
            _stream_function_call(emit, index, item)
        else:
            _stream_message(emit, index, item)
    final = response_object(plan, body, final=True)
    emit("response.incomplete" if plan.incomplete else "response.completed", response=final)
    return frames


def _stream_function_call(emit: _Emit, index: int, item: JsonObject) -> None:
    arguments = item["arguments"]
    where = {"item_id": item["id"], "output_index": index}
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "arguments": ""},
    )
    for fragment in _fragments(arguments):
        emit("response.function_call_arguments.delta", **where, delta=fragment)
    emit("response.function_call_arguments.done", **where, arguments=arguments, name=item["name"])
    emit("response.output_item.done", output_index=index, item=item)


def _stream_message(emit: _Emit, index: int, item: JsonObject) -> None:
    part = item["content"][0]
    where = {"item_id": item["id"], "output_index": index, "content_index": 0}
    emit(
        "response.output_item.added",
        output_index=index,
        item={**item, "status": "in_progress", "content": []},
    )
    if part["type"] == "refusal":
        emit("response.content_part.added", **where, part={**part, "refusal": ""})
        for piece in _pieces(part["refusal"]):
            emit("response.refusal.delta", **where, delta=piece)
        emit("response.refusal.done", **where, refusal=part["refusal"])
    else:
        emit("response.content_part.added", **where, part={**part, "text": ""})
        for piece in _pieces(part["text"]):
            emit("response.output_text.delta", **where, delta=piece, logprobs=[])
        emit("response.output_text.done", **where, text=part["text"], logprobs=[])
    emit("response.content_part.done", **where, part=part)
    emit("response.output_item.done", output_index=index, item=item)
