"""The tool loop through `messages`, for both APIs: ask with tools, get tool_calls, send the tools'
outputs back, get the answer.

Over real sockets: the function as functions-framework serves it, the gateway emulator behind it
(which checks the loop as OpenAI does and answers "Tool <name> returned: <output>"). Recorded
OpenAI answers are turned into results in-process (httpx.MockTransport) and pasted, unchanged, into
the next request.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest
import yaml

from emulators.gateway import GatewayEmulator
from relay import InvalidRequest, Relay, Settings
from relay._request import MAX_ARGUMENTS_CHARS, MessageToolCall, decode_request
from relay._streaming import SSEParser
from tests._paths import FIXTURES, ROOT
from tests._servers import FunctionServer
from tests.conftest import ServerFactory

APIS = ["responses", "chat"]
WEATHER = {
    "name": "get_weather",
    "description": "Weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
# Tools named as in the recorded answers, so a replayed request offers what was called.
RECORDED_TOOLS = [
    {"name": name, "parameters": {"type": "object"}}
    for name in ("get_weather_for_city", "GetWeatherArgs", "get_stock_price")
]
RECORDINGS = {
    "chat_single": ("chat/chat_tool_calls__recorded_gpt-4o-mini.json", "chat"),
    "chat_parallel": ("chat/chat_tool_calls_parallel__recorded_gpt-4o.json", "chat"),
    "responses_single": ("responses/resp_function_call__recorded_gpt-4o-mini.json", "responses"),
}
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def upstream_bodies(gateway: GatewayEmulator, tag: str) -> list[Any]:
    """Every body that reached the gateway for the request tagged `tag` (in cf-aig-metadata)."""
    return [r.json for r in gateway.requests if tag in r.headers.get("cf-aig-metadata", "")]


def post(server: FunctionServer, body: dict[str, Any], tag: str) -> dict[str, Any]:
    answer: dict[str, Any] = server.post({**body, "metadata": {"tag": tag}}).json()
    return answer


def stream(server: FunctionServer, body: dict[str, Any], tag: str) -> list[tuple[str, Any]]:
    """POST with stream: true; every (event, data) pair, in order."""
    parser = SSEParser()
    events: list[tuple[str, Any]] = []
    payload = {**body, "stream": True, "metadata": {"tag": tag}}
    with httpx.stream("POST", server.url, json=payload, timeout=30) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for chunk in response.iter_bytes():
            events.extend((e.name, json.loads(e.data)) for e in parser.feed(chunk))
    return events


def follow_up(question: str, calls: list[dict[str, Any]], outputs: list[str]) -> list[Any]:
    """The next turn's messages: the question, the result's tool_calls as they came, the outputs."""
    return [
        {"role": "user", "content": question},
        {"role": "assistant", "tool_calls": calls},
        *(
            {"role": "tool", "tool_call_id": call["id"], "content": output}
            for call, output in zip(calls, outputs, strict=True)
        ),
    ]


def chat_shape(question: str, calls: list[dict[str, Any]], outputs: list[str]) -> list[Any]:
    """OpenAI's documented Chat history for that turn."""
    return [
        {"role": "user", "content": question},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in calls
            ],
        },
        *(
            {"role": "tool", "tool_call_id": c["id"], "content": output}
            for c, output in zip(calls, outputs, strict=True)
        ),
    ]


def responses_shape(question: str, calls: list[dict[str, Any]], outputs: list[str]) -> list[Any]:
    """OpenAI's documented Responses input for that turn."""
    return [
        {"role": "user", "content": question},
        *(
            {
                "type": "function_call",
                "call_id": c["id"],
                "name": c["name"],
                "arguments": c["arguments"],
            }
            for c in calls
        ),
        *(
            {"type": "function_call_output", "call_id": c["id"], "output": output}
            for c, output in zip(calls, outputs, strict=True)
        ),
    ]


def expected_reply(calls: list[dict[str, Any]], outputs: list[str]) -> str:
    return " ".join(
        f"Tool {c['name']} returned: {out}" for c, out in zip(calls, outputs, strict=True)
    )


def assert_upstream_shape(
    sent: dict[str, Any], api: str, question: str, calls: list[Any], outputs: list[str]
) -> None:
    if api == "chat":
        assert sent["messages"] == chat_shape(question, calls, outputs)
        assert "input" not in sent
    else:
        assert sent["input"] == responses_shape(question, calls, outputs)
        assert "messages" not in sent


def replay(upstream: Any, api: str, *, sse: bytes | None = None) -> dict[str, Any]:
    """The result the function makes of a recorded upstream answer (in-process, no network)."""
    settings = Settings.from_env(
        {"AIG_BASE_URL": "http://gw.test/v1/a/g/openai", "AIG_TOKEN": "tok-12345678"}
    )

    def answer(request: httpx.Request) -> httpx.Response:
        if sse is not None:
            return httpx.Response(200, content=sse, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json=upstream)

    relay = Relay(settings, transport=httpx.MockTransport(answer))
    body = {"prompt": "x", "api": api, "tools": RECORDED_TOOLS, "stream": sse is not None}

    async def run() -> dict[str, Any]:
        reply = await relay.answer(json.dumps(body).encode())
        if reply.events is None:
            return reply.body
        parser = SSEParser()
        events = [e async for chunk in reply.events for e in parser.feed(chunk)]
        assert events[-1].name == "result", events[-1]
        result: dict[str, Any] = json.loads(events[-1].data)
        return result

    return asyncio.run(run())


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


# --- validation up front ----------------------------------------------------------------------

CALL = {"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
ASKED = {"role": "assistant", "tool_calls": [CALL]}
USER = {"role": "user", "content": "weather?"}
CALLS_2 = {"tool_calls": [{**CALL, "id": "call_2"}]}


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([USER, ASKED, {"role": "tool", "content": "x"}], "messages[2].tool_call_id: required"),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_9", "content": "x"}],
            "messages[2].tool_call_id: 'call_9' names no call",
        ),
        (
            # The call comes after the output that names it: not an earlier call.
            [USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}, ASKED],
            "messages[1].tool_call_id: 'call_1' names no call",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"name": "f", "arguments": "{}"}]}],
            "messages[1].tool_calls[0].id: required",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"id": "c", "arguments": "{}"}]}],
            "messages[1].tool_calls[0].name: required",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"id": "c", "name": "f"}]}],
            "messages[1].tool_calls[0].arguments: required",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "arguments": {"city": "P"}}]}],
            "messages[1].tool_calls[0].arguments: expected `str`, got `object`",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "name": "has space"}]}],
            "messages[1].tool_calls[0].name: expected `str` of 1 to 64",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "id": "x" * 257}]}],
            "messages[1].tool_calls[0].id: expected `str` of length <= 256",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "type": "function"}]}],
            "unknown field `type` in messages[1].tool_calls[0]",
        ),
        ([USER, {"role": "assistant", "tool_calls": []}], "messages[1].tool_calls"),
        (
            [USER, {"role": "assistant", "tool_calls": [CALL, CALL]}],
            "messages[1].tool_calls[1].id: 'call_1' is used by an earlier call",
        ),
        (
            [{**USER, "tool_calls": [CALL]}],
            "messages[0].tool_calls: only an assistant message may carry tool_calls",
        ),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_1", "content": "x", **CALLS_2}],
            "messages[2].tool_calls: only an assistant message may carry tool_calls",
        ),
        (
            [{**USER, "tool_call_id": "call_1"}],
            "messages[0].tool_call_id: only a tool message carries tool_call_id",
        ),
        ([USER, {"role": "assistant", "content": None}], "messages[1].content: required"),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_1"}],
            "messages[2].content: required",
        ),
        (
            [
                USER,
                ASKED,
                {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "image_url"}]},
            ],
            "messages[2].content[0]: a tool message's content is a string or text parts",
        ),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_1", "content": "x", "name": "f"}],
            "unknown field `name` in messages[2]",
        ),
    ],
)
@pytest.mark.parametrize("api", APIS)
def test_bad_tool_messages_are_refused_by_place(
    serve: ServerFactory, gateway: GatewayEmulator, api: str, messages: list[Any], fragment: str
) -> None:
    """Each malformed loop is a 400 invalid_request naming the place; nothing goes upstream."""
    tag = nonce()
    response = serve().post({"messages": messages, "api": api, "metadata": {"tag": tag}})
    body = response.json()
    assert response.status_code == 400, body
    assert body["error"]["type"] == "invalid_request"
    assert fragment in body["error"]["message"], body["error"]["message"]
    assert upstream_bodies(gateway, tag) == []


def test_arguments_are_bounded(serve: ServerFactory) -> None:
    """A call's arguments may be long, but not without end (1 MiB characters)."""
    big = {**CALL, "arguments": "x" * (MAX_ARGUMENTS_CHARS + 1)}
    answer = serve().post({"messages": [USER, {"role": "assistant", "tool_calls": [big]}]}).json()
    assert answer["error"]["type"] == "invalid_request"
    assert (
        "messages[1].tool_calls[0].arguments: expected `str` of length <= 1048576"
        in (answer["error"]["message"])
    )


def test_batch_item_names_its_place(serve: ServerFactory) -> None:
    """In a batch, the refused item's message starts with requests[i] and keeps the place."""
    bad = {"messages": [USER, ASKED, {"role": "tool", "tool_call_id": "nope", "content": "x"}]}
    answer = serve().post({"requests": [{"prompt": "fine"}, bad]}).json()
    first, second = answer["results"]
    assert first["ok"] is True
    assert second["error"]["message"].startswith("requests[1]")
    assert "messages[2].tool_call_id" in second["error"]["message"]


# --- the request model and the spec, in-process -----------------------------------------------


def test_spec_describes_the_new_shapes() -> None:
    """openapi.yaml's Message takes a tool loop, and ToolCallInput is MessageToolCall's twin."""
    schema = SPEC["components"]["schemas"]["ToolCallInput"]
    fields = msgspec.structs.fields(MessageToolCall)
    assert set(schema["properties"]) == {f.name for f in fields}
    assert set(schema["required"]) == {f.name for f in fields if f.required}
    assert schema["additionalProperties"] is False
    request = {"messages": follow_up("q", [CALL], ["out"]), "tools": [WEATHER]}
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/PromptRequest", "components": SPEC["components"]}
    )
    validator.validate(request)
    decode_request(json.dumps(request).encode())  # and the function takes it too
    bad = {"messages": [USER, {"role": "tool", "content": "x"}]}
    assert not validator.is_valid(bad)
    with pytest.raises(InvalidRequest):
        decode_request(json.dumps(bad).encode())
