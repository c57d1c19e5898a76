"""The tool loop through `messages`, for both APIs: ask with tools, get tool_calls, send the tools'
outputs back, get the answer.

Over real sockets: the function as functions-framework serves it, the gateway emulator behind it
(which checks the loop as OpenAI does and answers "Tool <name> returned: <output>"). Recorded
OpenAI answers are turned into results in-process (httpx.MockTransport) and pasted, unchanged, into
the next request.

Validation and the request model are in test_tool_loop_validation.py; helpers in
tests/support/tool_loop.py.
"""

from __future__ import annotations

import json

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.paths import FIXTURES
from tests.support.servers import ServerFactory
from tests.support.tool_loop import (
    APIS,
    RECORDED_TOOLS,
    RECORDINGS,
    WEATHER,
    assert_upstream_shape,
    expected_reply,
    follow_up,
    nonce,
    post,
    replay,
    stream,
    upstream_bodies,
)

# --- the whole loop, live against the emulator -----------------------------------------------


@pytest.mark.parametrize("api", APIS)
def test_loop_closes(serve: ServerFactory, gateway: GatewayEmulator, api: str) -> None:
    """Ask with tools, get a call, send its output back: the answer uses the output."""
    server = serve()
    question = "weather in Paris?"
    asked = post(server, {"prompt": question, "api": api, "tools": [WEATHER]}, nonce())
    assert asked["finish_reason"] == "tool_calls", asked
    calls = asked["tool_calls"]
    assert [c["name"] for c in calls] == ["get_weather"]
    assert set(calls[0]) == {"id", "name", "arguments"}

    tag = nonce()
    outputs = ["sunny, 21 C"]
    body = {"messages": follow_up(question, calls, outputs), "api": api, "tools": [WEATHER]}
    answered = post(server, body, tag)
    assert answered["ok"] is True, answered
    assert answered["output_text"] == "Tool get_weather returned: sunny, 21 C"
    assert (answered["finish_reason"], answered["tool_calls"]) == ("stop", [])
    [sent] = upstream_bodies(gateway, tag)
    assert_upstream_shape(sent, api, question, calls, outputs)


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("recording", sorted(RECORDINGS))
def test_recorded_calls_round_trip(
    serve: ServerFactory, gateway: GatewayEmulator, recording: str, api: str
) -> None:
    """A recorded tool-call answer (one call or two in parallel) becomes a result whose
    tool_calls go, unchanged, into the next request, for either API."""
    path, recorded_api = RECORDINGS[recording]
    result = replay(json.loads((FIXTURES / path).read_text()), recorded_api)
    calls = result["tool_calls"]
    assert result["finish_reason"] == "tool_calls" and calls
    assert len(calls) == (2 if "parallel" in recording else 1)

    tag = nonce()
    outputs = [f"output {index} of {call['name']}" for index, call in enumerate(calls)]
    question = "the question that led to these calls"
    body = {"messages": follow_up(question, calls, outputs), "api": api, "tools": RECORDED_TOOLS}
    answered = post(serve(), body, tag)
    assert answered["ok"] is True, answered
    assert answered["output_text"] == expected_reply(calls, outputs)
    [sent] = upstream_bodies(gateway, tag)
    assert_upstream_shape(sent, api, question, calls, outputs)


@pytest.mark.parametrize("api", APIS)
def test_streamed_loop(serve: ServerFactory, gateway: GatewayEmulator, api: str) -> None:
    """Both turns streamed: the call arrives in the result event, the answer as deltas."""
    server = serve()
    question = "weather in Oslo?"
    events = stream(server, {"prompt": question, "api": api, "tools": [WEATHER]}, nonce())
    assert events[-1][0] == "result"
    calls = events[-1][1]["tool_calls"]
    assert [c["name"] for c in calls] == ["get_weather"]

    tag = nonce()
    outputs = ["snow"]
    body = {"messages": follow_up(question, calls, outputs), "api": api, "tools": [WEATHER]}
    events = stream(server, body, tag)
    names = [name for name, _ in events]
    assert names[-1] == "result" and "error" not in names, events[-1]
    text = "".join(data["text"] for name, data in events if name == "delta")
    assert text == events[-1][1]["output_text"] == "Tool get_weather returned: snow"
    [sent] = upstream_bodies(gateway, tag)
    assert sent["stream"] is True
    assert_upstream_shape(sent, api, question, calls, outputs)


@pytest.mark.parametrize("api", APIS)
def test_recorded_parallel_stream_round_trip(
    serve: ServerFactory, gateway: GatewayEmulator, api: str
) -> None:
    """Two calls streamed by the real API (recorded) come out whole and go back in a stream."""
    sse = (FIXTURES / "streaming/chat_stream_tool_calls_parallel__recorded_gpt-4o.sse").read_bytes()
    calls = replay(None, "chat", sse=sse)["tool_calls"]
    assert [c["name"] for c in calls] == ["GetWeatherArgs", "get_stock_price"]
    assert all(json.loads(c["arguments"]) for c in calls)

    tag = nonce()
    outputs = ["11 C and windy", "231.4 USD"]
    question = "weather in Edinburgh, and AAPL?"
    body = {"messages": follow_up(question, calls, outputs), "api": api, "tools": RECORDED_TOOLS}
    events = stream(serve(), body, tag)
    assert events[-1][0] == "result", events[-1]
    assert events[-1][1]["output_text"] == expected_reply(calls, outputs)
    [sent] = upstream_bodies(gateway, tag)
    assert_upstream_shape(sent, api, question, calls, outputs)


@pytest.mark.parametrize("api", APIS)
def test_text_beside_calls_and_text_parts(
    serve: ServerFactory, gateway: GatewayEmulator, api: str
) -> None:
    """Assistant text next to its calls comes first; a tool's output may be text parts."""
    calls = [{"id": "call_a", "name": "get_weather", "arguments": '{"city":"Rome"}'}]
    tag = nonce()
    messages = [
        {"role": "user", "content": "weather in Rome?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_a", "content": [{"type": "text", "text": "hot"}]},
    ]
    answered = post(serve(), {"messages": messages, "api": api, "tools": [WEATHER]}, tag)
    assert answered["output_text"] == "Tool get_weather returned: hot", answered
    [sent] = upstream_bodies(gateway, tag)
    if api == "chat":
        assert sent["messages"][1] == {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'},
                }
            ],
        }
        assert sent["messages"][2] == {
            "role": "tool",
            "tool_call_id": "call_a",
            "content": [{"type": "text", "text": "hot"}],
        }
    else:
        assert sent["input"][1:] == [
            {"role": "assistant", "content": "Let me look."},
            {
                "type": "function_call",
                "call_id": "call_a",
                "name": "get_weather",
                "arguments": '{"city":"Rome"}',
            },
            {
                "type": "function_call_output",
                "call_id": "call_a",
                "output": [{"type": "input_text", "text": "hot"}],
            },
        ]


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ("chat", "An assistant message with 'tool_calls' must be followed by tool messages"),
        ("responses", "No tool output found for function call call_b."),
    ],
)
def test_unanswered_call_is_the_providers_to_refuse(
    serve: ServerFactory, gateway: GatewayEmulator, api: str, message: str
) -> None:
    """A call left without output passes the function's checks; the provider refuses it."""
    calls = [
        {"id": "call_a", "name": "get_weather", "arguments": "{}"},
        {"id": "call_b", "name": "get_weather", "arguments": "{}"},
    ]
    messages = [*follow_up("q", calls, ["one", "two"])[:3], {"role": "user", "content": "and?"}]
    tag = nonce()
    answered = post(serve(), {"messages": messages, "api": api, "tools": [WEATHER]}, tag)
    assert answered["error"]["type"] == "upstream_rejected", answered
    assert answered["error"]["upstream_status"] == 400
    assert message in answered["error"]["message"]
    assert len(upstream_bodies(gateway, tag)) == 1  # refused, not retried
