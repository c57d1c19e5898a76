"""Normalization: an upstream answer (either API, success or error) into the contract's shapes.

Bodies are read defensively: optional objects (`*_details`, `refusal`, `logprobs`) may be absent
or null, key order is not stable, and a body of the wrong shape is an UpstreamError rather than a
crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from .errors import (
    BLOCKED_CODES,
    RateLimited,
    RelayError,
    UpstreamAuth,
    UpstreamError,
    upstream_error_type,
)
from .request import Api
from .scrub import passed_on, passed_on_code

__all__ = [
    "BLOCKED_CODES",
    "MAX_UPSTREAM_MESSAGE_CHARS",
    "FailedResponse",
    "as_count",
    "as_dict",
    "as_list",
    "as_text",
    "classify_error",
    "normalize",
    "parse_output_json",
]

# An upstream message is shown to the caller, but only this much of it.
MAX_UPSTREAM_MESSAGE_CHARS = 500
_FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter"})


class FailedResponse(UpstreamError):
    """A well-formed answer saying the run failed (or is not finished): not worth a retry,
    since the provider ran it and another run would be billed again."""


def normalize(api: Api, body: Any) -> dict[str, Any]:
    """The result fields that come from the upstream body (no request id, timing or gateway)."""
    if not isinstance(body, dict):
        raise UpstreamError("upstream answered with JSON that is not an object")
    return _normalize_responses(body) if api == "responses" else _normalize_chat(body)


def parse_output_json(result: dict[str, Any]) -> None:
    """Fill `output_json` from `output_text`; say clearly why when it does not parse."""
    if result["refusal"] is not None or result["tool_calls"]:
        return
    try:
        result["output_json"] = msgspec.json.decode(result["output_text"])
    except (msgspec.DecodeError, RecursionError) as exc:
        reason = "the answer was cut short" if result["finish_reason"] == "length" else str(exc)
        result["output_json_error"] = f"output_text is not valid JSON: {reason}"


def _normalize_responses(body: dict[str, Any]) -> dict[str, Any]:
    output = body.get("output")
    status = body.get("status")
    if not isinstance(output, list) or not isinstance(status, str):
        raise UpstreamError("upstream answered with a body that is not a Responses object")
    if status in ("failed", "cancelled"):
        error = as_dict(body.get("error"))
        raise FailedResponse(
            f"the response {status}: {_short(error.get('message')) or 'no reason given'}",
            upstream_code=_code(error.get("code")),
        )
    if status not in ("completed", "incomplete"):
        raise FailedResponse(f"upstream answered with unexpected status {passed_on(status, 40)!r}")

    texts: list[str] = []
    refusals: list[str] = []
    tool_calls: list[dict[str, Any]] = []
    for item in output:
        item = as_dict(item)
        kind = item.get("type")
        if kind == "message":
            for part in as_list(item.get("content")):
                part = as_dict(part)
                if part.get("type") == "output_text":
                    texts.append(as_text(part.get("text")))
                elif part.get("type") == "refusal":
                    refusals.append(as_text(part.get("refusal")))
        elif kind == "function_call":
            tool_calls.append(
                {
                    "id": item.get("call_id") or item.get("id"),
                    "name": item.get("name"),
                    "arguments": as_text(item.get("arguments")),
                }
            )

    if status == "incomplete":
        reason = as_dict(body.get("incomplete_details")).get("reason")
        finish_reason = "content_filter" if reason == "content_filter" else "length"
    elif tool_calls:
        finish_reason = "tool_calls"
    else:
        finish_reason = "stop"

    return _result(
        body,
        status=status,
        finish_reason=finish_reason,
        output_text="".join(texts),
        refusal="".join(refusals) if refusals else None,
        tool_calls=tool_calls,
        usage=_usage(body.get("usage"), "input_tokens", "output_tokens"),
    )


def _normalize_chat(body: dict[str, Any]) -> dict[str, Any]:
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise UpstreamError("upstream answered with a body that is not a Chat Completions object")
    choice = choices[0]
    message = as_dict(choice.get("message"))

    tool_calls = [
        {
            "id": call.get("id"),
            "name": as_dict(call.get("function")).get("name"),
            "arguments": as_text(as_dict(call.get("function")).get("arguments")),
        }
        for call in map(as_dict, as_list(message.get("tool_calls")))
    ]
    legacy_call = message.get("function_call")
    if isinstance(legacy_call, dict):
        tool_calls.append(
            {
                "id": None,
                "name": legacy_call.get("name"),
                "arguments": as_text(legacy_call.get("arguments")),
            }
        )

    finish_reason = choice.get("finish_reason")
    if finish_reason == "function_call":
        finish_reason = "tool_calls"
    elif finish_reason not in _FINISH_REASONS:
        finish_reason = "stop"  # the contract's four values only; a provider's own means "ended"
    status = "incomplete" if finish_reason in ("length", "content_filter") else "completed"

    refusal = message.get("refusal")
    return _result(
        body,
        status=status,
        finish_reason=finish_reason,
        output_text=_content_text(message.get("content")),
        refusal=refusal if isinstance(refusal, str) else None,
        tool_calls=tool_calls,
        usage=_usage(body.get("usage"), "prompt_tokens", "completion_tokens"),
    )


def _usage(raw: Any, input_key: str, output_key: str) -> dict[str, int]:
    """The contract's usage from either API's: Responses input/output_tokens, Chat
    prompt/completion_tokens, each with its `*_details` object (absent details count 0)."""
    usage = as_dict(raw)
    return {
        "input_tokens": as_count(usage.get(input_key)),
        "output_tokens": as_count(usage.get(output_key)),
        "total_tokens": as_count(usage.get("total_tokens")),
        "cached_input_tokens": as_count(
            as_dict(usage.get(f"{input_key}_details")).get("cached_tokens")
        ),
        "reasoning_tokens": as_count(
            as_dict(usage.get(f"{output_key}_details")).get("reasoning_tokens")
        ),
    }


def _result(body: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "model": as_text(body.get("model")) or None,
        "id": as_text(body.get("id")) or None,
        "status": fields["status"],
        "finish_reason": fields["finish_reason"],
        "output_text": fields["output_text"],
        "output_json": None,
        "refusal": fields["refusal"],
        "tool_calls": fields["tool_calls"],
        "usage": fields["usage"],
        # The tier that served the call, as the provider reports it (`default`, `flex`, ...).
        "service_tier": passed_on(as_text(body.get("service_tier")), 40) or None,
    }


def classify_error(status: int, body: bytes, *, retry_after: float | None = None) -> RelayError:
    """The contract error for an upstream HTTP error, from its status and body."""
    code, message, source = _error_details(body)
    where = f"{source} answered {status}"
    text = f"{where}: {message}" if message else where
    kind = upstream_error_type(status, code, from_gateway=source == "gateway", message=message)
    if kind is UpstreamAuth:
        # Provider messages about keys quote part of the key: never pass them on.
        who = "gateway token" if source == "gateway" else "provider credentials"
        text = f"{where}: the {who} were refused"
    return kind(
        text,
        upstream_status=status,
        upstream_code=code,
        retry_after=retry_after if kind is RateLimited else None,
    )


def _error_details(body: bytes) -> tuple[str | int | None, str, str]:
    """(code, message, who answered) from an AiGatewayError or an OpenAI error body."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None, "", "upstream"
    if not isinstance(data, dict):
        return None, "", "upstream"
    # Cloudflare's envelope (`success: false`, `error: [{code, message}]`) marks the gateway too.
    envelope = data.get("success") is False and isinstance(data.get("error"), list)
    if data.get("name") == "AiGatewayError" or "internalCode" in data or envelope:
        errors = as_list(data.get("error"))
        first = as_dict(errors[0]) if errors else {}
        code = _code(data.get("internalCode")) or _code(first.get("code"))
        return code, _short(first.get("message")), "gateway"
    error = data.get("error")
    if data.get("success") is False and isinstance(error, dict):
        # The gateway's spend-limit and policy answers: `{"success": false, "error": {...}}`.
        return _code(error.get("code")), _short(_budget_message(error)), "gateway"
    if isinstance(error, dict):
        return _code(error.get("code")), _short(error.get("message")), "provider"
    if isinstance(error, str):
        return None, _short(error), "upstream"
    return None, "", "upstream"


def _budget_message(error: Mapping[str, Any]) -> str:
    """The gateway's message, with what a spend limit says about itself (bucket, spent, limit)."""
    message = as_text(error.get("message"))
    facts = [
        f"{key} {value}"
        for key in ("bucket", "spent", "limit")
        if isinstance(value := error.get(key), str | int | float) and not isinstance(value, bool)
    ]
    return f"{message} ({', '.join(facts)})" if facts and message else message


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    # Some providers answer with a list of text parts.
    return "".join(
        as_text(as_dict(part).get("text")) for part in as_list(content) if as_dict(part).get("text")
    )


def _short(value: Any) -> str:
    return passed_on(as_text(value), MAX_UPSTREAM_MESSAGE_CHARS)


_code = passed_on_code


# Reading JSON of unknown shape: each helper answers the expected type or an empty value, so a
# body of the wrong shape is handled where it is read, never a crash.
def as_count(value: Any) -> int:
    """A non-negative integer (not a bool), else 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def as_dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
