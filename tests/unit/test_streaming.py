"""Streaming: every recorded .sse body replayed through the parser, the folders and the Relay."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from relay import Relay, Settings, UpstreamError
from relay.streaming import ChatStream, ResponsesStream, SSEParser
from tests.support.paths import fixture_dirs

# Expected (text, finish_reason, refusal?, tool call names, usage totals) read off each recording.
EXPECTED: dict[str, tuple[str, str, bool, list[str], tuple[int, int, int]]] = {
    "chat_stream_finish_length__recorded_gpt-4o.sse": ('{"', "length", False, [], (79, 1, 80)),
    "chat_stream_refusal__recorded_gpt-4o.sse": ("", "stop", True, [], (79, 11, 90)),
    "chat_stream_text_recent__recorded_gpt-4o.sse": (
        "I'm sorry, I can't assist with that request.",
        "stop",
        False,
        [],
        (26, 10, 36),
    ),
    "chat_stream_text_with_usage__recorded_gpt-4o.sse": (
        "I'm unable to provide real-time weather updates.",
        "stop",
        False,
        [],
        (14, 30, 44),
    ),
    "chat_stream_tool_calls_parallel__recorded_gpt-4o.sse": (
        "",
        "tool_calls",
        False,
        ["GetWeatherArgs", "get_stock_price"],
        (149, 60, 209),
    ),
    "resp_stream_function_call__recorded_gpt-4o-mini.sse": (
        "",
        "tool_calls",
        False,
        ["get_weather_at_location"],
        (74, 20, 94),
    ),
    "resp_stream_text__recorded_gpt-4o-mini_dotnet.sse": (
        "Hello! How can I assist you today?",
        "stop",
        False,
        [],
        (11, 10, 21),
    ),
    "resp_stream_text__recorded_gpt-4o-mini_otel.sse": (
        "This is a test.",
        "stop",
        False,
        [],
        (22, 6, 28),
    ),
}


def _recordings() -> list[Path]:
    return sorted(p for root in fixture_dirs() for p in (root / "streaming").glob("*.sse"))


def _api(path: Path) -> str:
    return "chat" if path.name.startswith("chat_") else "responses"


def _chunks(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_every_recording_has_expectations() -> None:
    """A recording added without expected values is noticed."""
    assert {p.name for p in _recordings()} == set(EXPECTED)


@pytest.mark.parametrize("size", [1, 7, 4096])
@pytest.mark.parametrize("path", _recordings(), ids=lambda p: f"{p.parent.parent.name}-{p.name}")
def test_recording_folds_to_the_result(path: Path, size: int) -> None:
    """Whatever the chunking, deltas join to the text and the fold gives the recorded result."""
    text, finish_reason, refused, tools, usage = EXPECTED[path.name]
    parser = SSEParser()
    folder = ChatStream() if _api(path) == "chat" else ResponsesStream()
    deltas = []
    for chunk in _chunks(path.read_bytes(), size):
        for event in parser.feed(chunk):
            if (delta := folder.feed(event)) is not None:
                deltas.append(delta)
    for event in parser.close():
        folder.feed(event)
    result = folder.result()
    assert "".join(deltas) == result["output_text"]
    assert result["output_text"].startswith(text)
    assert result["finish_reason"] == finish_reason
    assert (result["refusal"] is not None) is refused
    assert [call["name"] for call in result["tool_calls"]] == tools
    assert all(json.loads(call["arguments"]) for call in result["tool_calls"])
    u = result["usage"]
    assert (u["input_tokens"], u["output_tokens"], u["total_tokens"]) == usage


def _spec_event(name: str) -> Any:
    spec = json.loads((fixture_dirs()[0] / "streaming" / "spec_event_examples.json").read_text())
    return spec[name]


def _feed_event(folder: ResponsesStream, name: str) -> None:
    entry = _spec_event(name)
    data = json.dumps(entry["example"])
    for event in SSEParser().feed(f"event: {entry['event']}\ndata: {data}\n\n".encode()):
        folder.feed(event)


def test_spec_incomplete_event() -> None:
    """response.incomplete ends the stream with status incomplete."""
    folder = ResponsesStream()
    _feed_event(folder, "ResponseIncompleteEvent")
    assert folder.done
    assert folder.result()["status"] == "incomplete"


@pytest.mark.parametrize("name", ["ResponseFailedEvent", "ResponseErrorEvent"])
def test_spec_failure_events(name: str) -> None:
    """response.failed and error events become upstream errors carrying the code."""
    folder = ResponsesStream()
    with pytest.raises(UpstreamError) as info:
        _feed_event(folder, name)
        folder.result()
    assert info.value.upstream_code in ("server_error", "ERR_SOMETHING")


def test_stream_cut_short_is_an_error() -> None:
    """A chat stream that ends without its finishing chunk is not a success."""
    folder = ChatStream()
    for event in SSEParser().feed(
        b'data: {"choices": [{"index": 0, "delta": {"content": "a"}}]}\n\n'
    ):
        folder.feed(event)
    with pytest.raises(UpstreamError):
        folder.result()


def _relay_events(path: Path, size: int) -> list[tuple[str, Any]]:
    """Replay a recording as the upstream body and collect the Relay's events."""
    body = path.read_bytes()

    async def stream_body() -> Any:
        for chunk in _chunks(body, size):
            yield chunk

    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["stream"] is True
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "cf-aig-log-id": "L"},
            content=stream_body(),
        )

    settings = Settings.from_env(
        {"AIG_BASE_URL": "http://gw.test/v1/a/g/openai", "AIG_TOKEN": "tok-12345678"}
    )
    relay = Relay(settings, transport=httpx.MockTransport(handler))

    async def run() -> list[tuple[str, Any]]:
        answer = await relay.answer(
            json.dumps({"prompt": "x", "stream": True, "api": _api(path)}).encode()
        )
        assert answer.events is not None
        parser = SSEParser()
        events: list[tuple[str, Any]] = []
        async for raw in answer.events:
            events.extend((e.name, json.loads(e.data)) for e in parser.feed(raw))
        return events

    return asyncio.run(run())


@pytest.mark.parametrize("path", _recordings(), ids=lambda p: f"{p.parent.parent.name}-{p.name}")
def test_relay_replays_recording(path: Path) -> None:
    """Through the Relay: delta events, then exactly one result event matching the deltas."""
    events = _relay_events(path, 13)
    names = [name for name, _ in events]
    assert names[-1] == "result" and names.count("result") == 1
    assert set(names[:-1]) <= {"delta"}
    result = events[-1][1]
    assert result["ok"] is True
    assert (
        "".join(data["text"] for name, data in events if name == "delta") == (result["output_text"])
    )
    assert result["usage"]["total_tokens"] == EXPECTED[path.name][4][2]
    assert result["gateway"]["log_id"] == "L"


def test_overlong_line_is_refused() -> None:
    """A line longer than the parser accepts is an upstream error, not unbounded buffering."""
    parser = SSEParser(max_line=1024)
    with pytest.raises(UpstreamError):
        for _ in range(10):
            parser.feed(b"x" * 200)


def test_parser_handles_crlf_comments_and_multiline_data() -> None:
    """CRLF endings, comment lines and multi-line data follow the SSE rules."""
    events = SSEParser().feed(b": keep-alive\r\nevent: e\r\ndata: a\r\ndata: b\r\n\r\n")
    assert [(e.name, e.data) for e in events] == [("e", "a\nb")]


@pytest.mark.parametrize(
    "chunk",
    [
        b'data: {"choices": [{"index": 0, "delta": "oops"}]}\n\n',
        b'data: {"choices": [{"index": 0, "delta": {"tool_calls": ["x"]}}]}\n\n',
        b'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": "a"}]}}]}\n\n',
        b"data: [1, 2]\n\n",
        b"data: {nope\n\n",
    ],
)
def test_malformed_chat_chunks_are_upstream_errors(chunk: bytes) -> None:
    """A chunk of the wrong shape is an upstream error (never an internal one)."""
    folder = ChatStream()
    with pytest.raises(UpstreamError):
        for event in SSEParser().feed(chunk):
            folder.feed(event)


def test_slow_reader_gets_a_final_event() -> None:
    """The deadline applies to upstream reads, not to the caller's pace: a slow reader still
    gets a final event (result or error), never a cancelled stream."""
    body = b"".join(
        b'data: {"choices": [{"index": 0, "delta": {"content": "w "}}]}\n\n' for _ in range(5)
    ) + (
        b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
        b"data: [DONE]\n\n"
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)

    settings = Settings.from_env(
        {
            "AIG_BASE_URL": "http://gw.test/v1/a/g/openai",
            "AIG_TOKEN": "tok-12345678",
            "UPSTREAM_TIMEOUT_SECONDS": "0.3",
        }
    )
    relay = Relay(settings, transport=httpx.MockTransport(handler))

    async def run() -> list[str]:
        answer = await relay.answer(b'{"prompt": "x", "api": "chat", "stream": true}')
        assert answer.events is not None
        names: list[str] = []
        async for raw in answer.events:
            names.extend(e.name for e in SSEParser().feed(raw))
            await asyncio.sleep(0.1)  # a slow client
        return names

    names = asyncio.run(run())
    assert names[-1] in ("result", "error")
