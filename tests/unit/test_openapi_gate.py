"""The openapi.yaml gate every HTTP test goes through (tests/support/openapi.py): it passes the
documented exchanges and refuses what the spec does not say."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.openapi import check_exchange

RESULT: dict[str, Any] = {
    "ok": True,
    "request_id": "r1",
    "api": "chat",
    "model": "gpt-4o-mini",
    "id": "chatcmpl-1",
    "status": "completed",
    "finish_reason": "stop",
    "output_text": "hi",
    "output_json": None,
    "refusal": None,
    "tool_calls": [],
    "usage": {
        "input_tokens": 1,
        "output_tokens": 1,
        "total_tokens": 2,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
    },
    "gateway": {
        "log_id": None,
        "cache_status": None,
        "step": None,
        "model": None,
        "provider": None,
        "dlp": None,
    },
    "cost_usd": 0.0000012,
    "latency_ms": 3,
    "attempts": 1,
    "models_tried": ["gpt-4o-mini"],
    "service_tier": "default",
}
ERROR: dict[str, Any] = {
    "ok": False,
    "request_id": "r1",
    "error": {
        "type": "invalid_request",
        "message": "unknown field `promt`",
        "retryable": False,
        "upstream_status": None,
        "upstream_code": None,
    },
}


def _exchange(
    body: Any, status: int, answer: Any, *, method: str = "POST", **headers: str
) -> httpx.Response:
    request = httpx.Request(method, "http://127.0.0.1:9/", json=body)
    if isinstance(answer, bytes):
        headers.setdefault("content-type", "text/event-stream")
        return httpx.Response(status, content=answer, headers=headers, request=request)
    return httpx.Response(status, json=answer, headers=headers, request=request)


def _sse(*events: tuple[str, Any]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


@pytest.mark.parametrize(
    ("body", "status", "answer", "headers"),
    [
        ({"prompt": "hi"}, 200, RESULT, {}),
        ({"prompt": "hi"}, 200, {**RESULT, "cost_usd": 0.25, "delivery": []}, {}),
        ({"prompt": "hi", "messages": None, "cache": None, "api": None}, 200, RESULT, {}),
        ({"promt": "hi"}, 400, ERROR, {}),
        (
            {"requests": [{"prompt": "a"}, {"bad": 1}]},
            200,
            {"ok": False, "results": [RESULT, ERROR]},
            {},
        ),
        (
            {"prompt": "hi", "stream": True},
            200,
            _sse(("delta", {"text": "h"}), ("result", RESULT)),
            {},
        ),
        ({"prompt": "hi", "stream": True}, 200, _sse(("error", ERROR)), {}),
    ],
)
def test_gate_passes_documented_exchanges(
    body: Any, status: int, answer: Any, headers: dict[str, str]
) -> None:
    """Documented answers pass, including successes and refusals of invalid requests."""
    check_exchange(_exchange(body, status, answer, **headers))


def test_gate_passes_a_request_its_checker_cannot_parse() -> None:
    """`application/json;` (an empty media-type parameter) trips openapi-core's own parser; the
    function takes it as JSON, and the gate does not count the checker's limit as a refusal."""
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:9/",
        content=json.dumps({"prompt": "hi"}).encode(),
        headers={"content-type": "application/json;"},
    )
    check_exchange(httpx.Response(200, json=RESULT, request=request))


@pytest.mark.parametrize(
    ("body", "status", "answer", "headers", "why"),
    [
        ({"prompt": "hi"}, 200, {**RESULT, "surprise": 1}, {}, "undocumented field"),
        ({"prompt": "hi"}, 418, ERROR, {}, "undocumented status"),
        ({"prompt": "hi"}, 200, {**RESULT, "usage": {}}, {}, "missing usage fields"),
        ({"prompt": "hi"}, 200, RESULT, {"content-type": "text/plain"}, "content type"),
        ({"prompt": "hi"}, 405, ERROR, {}, "405 without Allow"),
        ({"prompt": "hi"}, 400, {**ERROR, "error": {"type": "oops"}}, {}, "error shape"),
        ({"promt": "hi"}, 200, RESULT, {}, "unknown field accepted"),
        ({"prompt": "hi", "model": "m" * 257}, 200, RESULT, {}, "over-long model accepted"),
        ({"prompt": "a", "input": "b"}, 200, RESULT, {}, "two prompts accepted"),
        ({"prompt": None, "input": None}, 200, RESULT, {}, "no prompt accepted"),
        ({"messages": [{"role": "user"}]}, 200, RESULT, {}, "message without content"),
        (
            {"requests": [{"promt": "a"}]},
            200,
            {"ok": True, "results": [RESULT]},
            {},
            "bad item ran",
        ),
        ({"prompt": "hi"}, 200, _sse(("delta", {"txt": "h"}), ("result", RESULT)), {}, "delta"),
        ({"prompt": "hi"}, 200, _sse(("result", {**RESULT, "x": 1})), {}, "result event"),
        ({"prompt": "hi"}, 200, _sse(("result", RESULT), ("delta", {"text": "h"})), {}, "order"),
        ({"prompt": "hi"}, 200, _sse(("progress", {})), {}, "undocumented event"),
    ],
)
def test_gate_refuses_what_the_spec_does_not_say(
    body: Any, status: int, answer: Any, headers: dict[str, str], why: str
) -> None:
    """An answer off the spec, or a success for a request the spec refuses, fails the test."""
    with pytest.raises(AssertionError):
        check_exchange(_exchange(body, status, answer, **headers))


def test_gate_checks_get_answers_against_the_operation() -> None:
    """A GET is not in the spec, but its 405 answer still has to be the documented one."""
    check_exchange(_exchange(None, 405, ERROR, method="GET", allow="POST"))
    with pytest.raises(AssertionError):
        check_exchange(_exchange(None, 200, RESULT, method="GET"))
