"""Shared pieces of the tool-loop tests: tool definitions, recordings, request and stream helpers,
and the message shapes each API expects upstream.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import yaml

from emulators.gateway import GatewayEmulator
from relay import Relay, Settings
from relay.streaming import SSEParser
from tests.support.paths import ROOT
from tests.support.servers import FunctionServer

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
