"""Structured output, tools, reasoning effort, extra_body and streaming, over real sockets
against the gateway emulator, for both APIs."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import stream
from tests.support.servers import ServerFactory
from tests.support.tool_loop import WEATHER

APIS = ["responses", "chat"]
SCHEMA = {
    "name": "city",
    "schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["city", "population"],
        "additionalProperties": False,
    },
    "strict": True,
}
TOOLS = [
    WEATHER,
    {"name": "get_time", "parameters": {"type": "object", "properties": {}}},
]


def marker() -> str:
    return uuid.uuid4().hex[:12]


def upstream_body(gateway: GatewayEmulator, nonce: str) -> Any:
    for recorded in reversed(gateway.requests):
        if nonce in recorded.headers.get("cf-aig-metadata", ""):
            return recorded.json
    raise AssertionError("request not seen upstream")


@pytest.mark.parametrize("api", APIS)
def test_json_schema(serve: ServerFactory, gateway: GatewayEmulator, api: str) -> None:
    """json_schema reaches each API in its own shape; output_json is the parsed answer."""
    nonce = marker()
    response = serve().post(
        {"prompt": "a city please", "api": api, "json_schema": SCHEMA, "metadata": {"nonce": nonce}}
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["output_json"] == json.loads(body["output_text"])
    assert set(body["output_json"]) == {"city", "population"}
    sent = upstream_body(gateway, nonce)
    if api == "responses":
        assert sent["text"]["format"] == {"type": "json_schema", **SCHEMA}
    else:
        assert sent["response_format"] == {"type": "json_schema", "json_schema": SCHEMA}


@pytest.mark.parametrize("api", APIS)
def test_json_schema_cut_short(serve: ServerFactory, api: str) -> None:
    """An answer cut by the token cap keeps its text and says why output_json is null."""
    body = (
        serve()
        .post(
            {"prompt": "a city please", "api": api, "json_schema": SCHEMA, "max_output_tokens": 1}
        )
        .json()
    )
    assert body["finish_reason"] == "length"
    assert body["output_json"] is None
    assert "not valid JSON" in body["output_json_error"]


@pytest.mark.parametrize("api", APIS)
def test_refusal(serve: ServerFactory, api: str) -> None:
    """A refusal comes back in `refusal`, with output_json null."""
    body = serve().post({"prompt": "REFUSE this", "api": api, "json_schema": SCHEMA}).json()
    assert body["refusal"]
    assert body["output_json"] is None and body["output_text"] == ""


@pytest.mark.parametrize("api", APIS)
def test_tools(serve: ServerFactory, gateway: GatewayEmulator, api: str) -> None:
    """Flat tools are translated per API; calls come back in tool_calls for both."""
    nonce = marker()
    response = serve().post(
        {
            "prompt": "weather?",
            "api": api,
            "tools": TOOLS,
            "tool_choice": {"name": "get_weather"},
            "metadata": {"nonce": nonce},
        }
    )
    body = response.json()
    assert (body["finish_reason"], body["status"]) == ("tool_calls", "completed")
    [call] = body["tool_calls"]
    assert call["name"] == "get_weather"
    assert call["id"].startswith("call_")
    assert "city" in json.loads(call["arguments"])
    sent = upstream_body(gateway, nonce)
    if api == "responses":
        assert sent["tools"][0] == {"type": "function", **TOOLS[0]}
        assert sent["tool_choice"] == {"type": "function", "name": "get_weather"}
    else:
        assert sent["tools"][0] == {"type": "function", "function": TOOLS[0]}
        assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


@pytest.mark.parametrize("api", APIS)
def test_reasoning_effort_and_extra_body(
    serve: ServerFactory, gateway: GatewayEmulator, api: str
) -> None:
    """reasoning_effort maps per API, extra_body is merged, reasoning tokens are reported."""
    nonce = marker()
    body = (
        serve()
        .post(
            {
                "prompt": "think",
                "api": api,
                "model": "o3-mini",
                "reasoning_effort": "low",
                "extra_body": {"user": "u-1"},
                "metadata": {"nonce": nonce},
            }
        )
        .json()
    )
    assert body["usage"]["reasoning_tokens"] > 0
    sent = upstream_body(gateway, nonce)
    assert sent["user"] == "u-1"
    if api == "responses":
        assert sent["reasoning"] == {"effort": "low"}
    else:
        assert sent["reasoning_effort"] == "low"


@pytest.mark.parametrize("api", APIS)
def test_stream_text(serve: ServerFactory, gateway: GatewayEmulator, api: str) -> None:
    """stream: true answers text/event-stream: deltas as text arrives, then one result."""
    nonce = marker()
    response, events, _ = stream(
        serve(),
        {
            "prompt": "stream these five words",
            "api": api,
            "stream": True,
            "metadata": {"nonce": nonce},
        },
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [name for name, _ in events]
    assert names.count("delta") >= 2, names  # the text arrived in pieces
    assert names[-1] == "result" and names.count("result") == 1
    result = events[-1][1]
    assert result["output_text"] == "Echo: stream these five words"
    assert "".join(d["text"] for n, d in events if n == "delta") == result["output_text"]
    assert result["usage"]["output_tokens"] > 0  # chat asked upstream for stream usage
    sent = upstream_body(gateway, nonce)
    assert sent["stream"] is True
    if api == "chat":
        assert sent["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("api", APIS)
def test_stream_tools(serve: ServerFactory, api: str) -> None:
    """Tool calls stream too; they arrive whole in the result event."""
    _, events, _ = stream(
        serve(), {"prompt": "weather?", "api": api, "stream": True, "tools": TOOLS}
    )
    result = events[-1][1]
    assert events[-1][0] == "result"
    assert result["finish_reason"] == "tool_calls"
    assert json.loads(result["tool_calls"][0]["arguments"])


def test_stream_error_before_first_byte_is_plain(serve: ServerFactory) -> None:
    """A failure before the stream starts is an ordinary JSON error answer."""
    response = serve().post({"prompt": "x", "stream": True, "model": "unknown-model"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"]["type"] == "upstream_rejected"


@pytest.mark.parametrize("api", APIS)
def test_stream_broken_midway_ends_with_error_event(serve: ServerFactory, api: str) -> None:
    """A connection lost mid-stream ends the stream with one error event."""
    _, events, _ = stream(
        serve(),
        {
            "prompt": "one two three four five six",
            "api": api,
            "stream": True,
            "metadata": {"emulator_fault": "midstream", "nonce": marker()},
        },
    )
    names = [name for name, _ in events]
    assert names[-1] == "error" and "result" not in names
    assert events[-1][1]["error"]["type"] == "upstream_error"


def test_stream_retries_before_first_byte(serve: ServerFactory) -> None:
    """A 503 before the stream starts is retried like any call."""
    _, events, _ = stream(
        serve(),
        {
            "prompt": "hi",
            "stream": True,
            "metadata": {"emulator_fault": "503,ok", "nonce": marker()},
        },
    )
    assert events[-1][0] == "result"
    assert events[-1][1]["attempts"] == 2


def test_stream_flag_in_batch_item_is_refused(serve: ServerFactory) -> None:
    """Batch items cannot stream: the item fails alone, naming the field."""
    results = (
        serve()
        .post({"requests": [{"prompt": "a", "stream": True}, {"prompt": "b"}]})
        .json()["results"]
    )
    assert [r["ok"] for r in results] == [False, True]
    assert "stream" in results[0]["error"]["message"]
