"""The AI Gateway stand-in: streaming, headers, cache, keep-alive and delay.

Over real sockets with ``httpx``; every answer is checked against the ``openai`` package's own
types so the emulator keeps speaking the real wire format.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from typing import Any

import httpx

from emulators.gateway import GatewayEmulator
from tests.support.emulators import (
    CHAT,
    KEY,
    RESPONSES,
    TOKEN,
    WEATHER_ARGUMENTS,
    WEATHER_TOOL_PARAMETERS,
    chat_body,
    chat_chunks,
    response_events,
    responses_body,
)

# === AI Gateway: streaming ===================================================================


def test_gateway_chat_stream(client: httpx.Client) -> None:
    body = chat_body("stream me", stream=True, stream_options={"include_usage": True})
    answer = client.post(CHAT, json=body)
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "cf-aig-cache-status" not in answer.headers  # no caching asked for: no status
    chunks, done = chat_chunks(answer.text)
    assert done == "[DONE]"
    first, *middle, final, usage = chunks
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in middle) == "Echo: stream me"
    assert len(middle) == 3
    assert final.choices[0].finish_reason == "stop"
    assert usage.choices == []
    assert usage.usage is not None and usage.usage.total_tokens == 2 + 3

    chunks, done = chat_chunks(client.post(CHAT, json=chat_body("no usage", stream=True)).text)
    assert done == "[DONE]"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)


def test_gateway_chat_stream_tool_call_and_refusal(client: httpx.Client) -> None:
    tools = [
        {"type": "function", "function": {"name": "weather", "parameters": WEATHER_TOOL_PARAMETERS}}
    ]
    chunks, _ = chat_chunks(
        client.post(CHAT, json=chat_body("weather in Paris", tools=tools, stream=True)).text
    )
    calls = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    assert calls[0][0].id is not None and calls[0][0].function is not None
    assert calls[0][0].function.name == "weather"
    arguments = "".join(call[0].function.arguments or "" for call in calls if call[0].function)
    assert len(calls) > 2
    assert json.loads(arguments) == WEATHER_ARGUMENTS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    chunks, _ = chat_chunks(client.post(CHAT, json=chat_body("REFUSE", stream=True)).text)
    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks)
    assert refusal == "I'm sorry, I can't help with that."
    capped = chat_body("one two three", stream=True, max_tokens=1)
    chunks, _ = chat_chunks(client.post(CHAT, json=capped).text)
    assert chunks[-1].choices[0].finish_reason == "length"


def test_gateway_responses_stream(client: httpx.Client) -> None:
    answer = client.post(RESPONSES, json=responses_body("stream me", stream=True))
    events = response_events(answer.text)
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Echo: stream me"
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == "Echo: stream me"
    assert final.response.usage is not None and final.response.usage.total_tokens == 2 + 3
    assert "[DONE]" not in answer.text


def test_gateway_responses_stream_variants(client: httpx.Client) -> None:
    tools = [{"type": "function", "name": "weather", "parameters": WEATHER_TOOL_PARAMETERS}]
    body = responses_body("weather in Paris", model="o3", tools=tools, stream=True)
    events = response_events(client.post(RESPONSES, json=body).text)
    types = [event.type for event in events]
    assert types[2:4] == ["response.output_item.added", "response.output_item.done"]  # reasoning
    assert "response.function_call_arguments.done" in types
    arguments = "".join(
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    )
    assert json.loads(arguments) == WEATHER_ARGUMENTS
    final = events[-1]
    assert final.type == "response.completed"
    assert [item.type for item in final.response.output] == ["reasoning", "function_call"]

    events = response_events(
        client.post(RESPONSES, json=responses_body("REFUSE", stream=True)).text
    )
    assert "response.refusal.done" in [event.type for event in events]

    body = responses_body("one two three", stream=True, max_output_tokens=2)
    final = response_events(client.post(RESPONSES, json=body).text)[-1]
    assert final.type == "response.incomplete"
    assert final.response.output_text == "Echo: one"


def read_chunked(sock: socket.socket) -> tuple[bytes, list[bytes]]:
    """Headers and the chunks of a chunked HTTP/1.1 answer, as framed by the server."""
    reader = sock.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += reader.readline()
    chunks = []
    while size := int(reader.readline().strip(), 16):
        chunks.append(reader.read(size))
        reader.readline()
    reader.readline()
    return head, chunks


def test_gateway_stream_sends_one_chunk_per_event(gateway: GatewayEmulator) -> None:
    body = json.dumps(responses_body("one chunk each", stream=True)).encode()
    request = (
        b"POST /v1/a/g/openai/responses HTTP/1.1\r\nhost: x\r\n"
        + f"cf-aig-authorization: Bearer {TOKEN}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(request)
        head, chunks = read_chunked(sock)
    assert b"transfer-encoding: chunked" in head.lower()
    assert len(chunks) == 12
    assert all(chunk.startswith(b"event: ") and chunk.endswith(b"\n\n") for chunk in chunks)
    assert all(chunk.count(b"\n\n") == 1 for chunk in chunks)


# === AI Gateway: headers, cache, keep-alive, delay ===========================================


def test_gateway_log_ids_are_unique(client: httpx.Client) -> None:
    ids = {client.post(CHAT, json=chat_body()).headers["cf-aig-log-id"] for _ in range(10)}
    ids.add(client.post(CHAT, json={}).headers["cf-aig-log-id"])
    assert len(ids) == 11
    assert all(len(log_id) == 26 for log_id in ids)


def test_gateway_cache_by_ttl(gateway: GatewayEmulator, client: httpx.Client) -> None:
    ttl = {"cf-aig-cache-ttl": "60"}
    first = client.post(CHAT, json=chat_body(), headers=ttl)
    second = client.post(CHAT, json=chat_body(), headers=ttl)
    assert (first.headers["cf-aig-cache-status"], second.headers["cf-aig-cache-status"]) == (
        "MISS",
        "HIT",
    )
    assert second.content == first.content
    assert second.headers["cf-aig-log-id"] != first.headers["cf-aig-log-id"]
    other = client.post(CHAT, json=chat_body("different"), headers=ttl)
    assert other.headers["cf-aig-cache-status"] == "MISS"
    # The provider key is part of the default key: a BYOK call does not see the cached answer.
    byok = httpx.post(
        gateway.base_url() + CHAT,
        json=chat_body(),
        headers={"cf-aig-authorization": f"Bearer {TOKEN}", **ttl},
    )
    assert byok.headers["cf-aig-cache-status"] == "MISS"
    assert gateway.stats()["cache_hits"] == 1


def test_gateway_cache_key_skip_stream_and_expiry(client: httpx.Client) -> None:
    now = [1000.0]
    with GatewayEmulator(token=TOKEN, openai_key=KEY, clock=lambda: now[0]) as gateway:
        url = gateway.base_url() + RESPONSES
        headers = dict(client.headers)

        def status(body: dict[str, Any], **extra: str) -> str | None:
            answer = httpx.post(url, json=body, headers={**headers, **extra})
            assert answer.status_code == 200
            status: str | None = answer.headers.get("cf-aig-cache-status")
            return status

        assert status(responses_body("a"), **{"cf-aig-cache-key": "k1"}) == "MISS"
        # A custom key replaces the default one: another body still hits.
        assert status(responses_body("b"), **{"cf-aig-cache-key": "k1"}) == "HIT"
        skip = {"cf-aig-cache-key": "k2", "cf-aig-skip-cache": "true"}
        assert status(responses_body("c"), **skip) is None
        assert status(responses_body("c"), **{"cf-aig-cache-key": "k2"}) == "MISS"
        streamed = responses_body("a", stream=True)
        assert status(streamed, **{"cf-aig-cache-ttl": "60"}) is None
        assert status(streamed, **{"cf-aig-cache-ttl": "60"}) is None
        now[0] += 299  # key only: the TTL is 300 s
        assert status(responses_body("a"), **{"cf-aig-cache-key": "k1"}) == "HIT"
        now[0] += 2
        assert status(responses_body("a"), **{"cf-aig-cache-key": "k1"}) == "MISS"
        assert status(responses_body("a")) is None


def test_gateway_keep_alive(gateway: GatewayEmulator, client: httpx.Client) -> None:
    for _ in range(25):
        assert client.post(CHAT, json=chat_body()).status_code == 200
    assert gateway.stats() == {"requests": 25, "connections_opened": 1, "cache_hits": 0}


def test_gateway_delay_does_not_block_other_requests(gateway: GatewayEmulator) -> None:
    """Delayed requests wait side by side: three of 1 s take far less than the 3 s in a row
    (the margin is wide so that a loaded machine cannot blur the difference)."""
    gateway.delay_ms = 1000
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}"}

    async def timed(metadata: dict[str, Any]) -> float:
        async with httpx.AsyncClient(headers=headers, timeout=5) as http:
            started = time.monotonic()
            extra = {"cf-aig-metadata": json.dumps(metadata)} if metadata else {}
            answer = await http.post(gateway.base_url() + CHAT, json=chat_body(), headers=extra)
            assert answer.status_code == 200
            return time.monotonic() - started

    async def run() -> list[float]:
        started = time.monotonic()
        results = await asyncio.gather(
            timed({}), timed({}), timed({}), timed({"emulator_delay_ms": 0})
        )
        return [*results, time.monotonic() - started]

    first, second, third, override, total = asyncio.run(run())
    assert min(first, second, third) >= 1.0
    assert override < 0.9
    assert total < 2.0  # in a row they would take at least 3 s
