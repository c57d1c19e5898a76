"""Streaming: upstream server-sent events in either API's format, into the contract's events.

`SSEParser` splits an upstream byte stream into events. `ChatStream` and `ResponsesStream` fold
those events into text deltas as they arrive and, at the end, the same normalized fields a
non-streaming call gives (the Chat stream is rebuilt into a completion body, a Responses stream
carries its full response in the terminal event), so one normalizer serves both paths.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec

from .deadline import within
from .errors import UpstreamError, UpstreamTimeout
from .gateway import MAX_UPSTREAM_BODY_BYTES
from .normalize import MAX_UPSTREAM_MESSAGE_CHARS, as_text, normalize
from .normalize import as_list as _list
from .request import Api
from .scrub import passed_on, passed_on_code

__all__ = [
    "MAX_SSE_LINE_BYTES",
    "ChatStream",
    "ResponsesStream",
    "SSEParser",
    "StreamEvent",
    "UpstreamStream",
    "sse",
]

# No event line of an LLM stream comes near this; a longer one is refused, not buffered.
MAX_SSE_LINE_BYTES = 1024 * 1024

_encoder = msgspec.json.Encoder()


def sse(event: str, data: Any) -> bytes:
    """One server-sent event, JSON data on a single line."""
    return b"event: " + event.encode() + b"\ndata: " + _encoder.encode(data) + b"\n\n"


@dataclass(slots=True)
class StreamEvent:
    """One upstream SSE event: its `event:` name (may be empty) and its `data:` text."""

    name: str
    data: str


class SSEParser:
    """Incremental SSE parser (the WHATWG rules that matter: LF/CRLF, multi-line data, comments).

    Linear in the bytes fed: a line is searched for once, from where the last search stopped.
    """

    def __init__(self, max_line: int = MAX_SSE_LINE_BYTES) -> None:
        self._buffer = bytearray()
        self._searched = 0
        self._name = ""
        self._data: list[str] = []
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Events completed by `chunk`."""
        self._buffer += chunk
        events: list[StreamEvent] = []
        start = 0
        while True:
            newline = self._buffer.find(b"\n", max(start, self._searched))
            if newline < 0:
                break
            line = bytes(self._buffer[start:newline]).rstrip(b"\r").decode("utf-8", "replace")
            start = newline + 1
            self._searched = start
            event = self._line(line)
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        self._searched = len(self._buffer)
        if len(self._buffer) > self._max_line:
            raise UpstreamError("upstream stream sent a line longer than we accept")
        return events

    def _line(self, line: str) -> StreamEvent | None:
        if not line:
            event = StreamEvent(self._name, "\n".join(self._data)) if self._data else None
            self._name, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            self._name = value
        elif key == "data":
            self._data.append(value)
        return None

    def close(self) -> list[StreamEvent]:
        """A final event left without its blank line (a stream that just ends)."""
        return self.feed(b"\n\n") if self._buffer.strip() or self._data else []


class ChatStream:
    """Folds Chat Completions chunks into deltas and a final normalized result."""

    def __init__(self) -> None:
        self.done = False
        self._id: str | None = None
        self._model: str | None = None
        self._tier: str | None = None
        self._text: list[str] = []
        self._refusal: list[str] = []
        self._tools: dict[int, dict[str, Any]] = {}
        self._finish_reason: str | None = None
        self._usage: dict[str, Any] | None = None

    def feed(self, event: StreamEvent) -> str | None:
        """Take one event; return text to pass on as a delta, if any."""
        if event.data.strip() == "[DONE]":
            self.done = True
            return None
        chunk = _decode(event.data)
        if isinstance(chunk.get("error"), dict):
            raise _stream_error(chunk["error"])
        self._id = self._id or (as_text(chunk.get("id")) or None)
        self._model = self._model or (as_text(chunk.get("model")) or None)
        self._tier = as_text(chunk.get("service_tier")) or self._tier
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        text: list[str] = []
        for choice in _list(chunk.get("choices")):
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # only the first choice is relayed, as in the non-streaming result
            delta = choice.get("delta")
            if not isinstance(delta, dict):
                raise UpstreamError("upstream stream sent a chunk of an unexpected shape")
            if isinstance(delta.get("content"), str) and delta["content"]:
                text.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self._refusal.append(delta["refusal"])
            for call in _list(delta.get("tool_calls")):
                self._tool_fragment(call)
            if isinstance(choice.get("finish_reason"), str):
                self._finish_reason = choice["finish_reason"]
        self._text.extend(text)
        return "".join(text) or None

    def _tool_fragment(self, call: Any) -> None:
        index = call.get("index", 0) if isinstance(call, dict) else None
        if not isinstance(index, int) or isinstance(index, bool):
            raise UpstreamError("upstream stream sent a tool call of an unexpected shape")
        slot = self._tools.setdefault(index, {"id": None, "name": None, "arguments": []})
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        slot["id"] = slot["id"] or (as_text(call.get("id")) or None)
        slot["name"] = slot["name"] or (as_text(function.get("name")) or None)
        if isinstance(function.get("arguments"), str):
            slot["arguments"].append(function["arguments"])

    def result(self) -> dict[str, Any]:
        """The normalized fields of the whole stream."""
        if self._finish_reason is None:
            raise UpstreamError("the upstream stream ended before its last chunk")
        tool_calls = [
            {
                "id": slot["id"],
                "type": "function",
                "function": {"name": slot["name"], "arguments": "".join(slot["arguments"])},
            }
            for _, slot in sorted(self._tools.items())
        ]
        message: dict[str, Any] = {
            "content": "".join(self._text) or None,
            "refusal": "".join(self._refusal) or None,
        }
        if tool_calls:
            message["tool_calls"] = tool_calls
        body = {
            "id": self._id,
            "model": self._model,
            "choices": [{"finish_reason": self._finish_reason, "message": message}],
            "usage": self._usage,
            "service_tier": self._tier,
        }
        return normalize("chat", body)


class ResponsesStream:
    """Folds Responses events into deltas and the terminal event's normalized response."""

    _TERMINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self) -> None:
        self.done = False
        self._final: dict[str, Any] | None = None

    def feed(self, event: StreamEvent) -> str | None:
        """Take one event; return text to pass on as a delta, if any."""
        if event.data.strip() == "[DONE]":
            self.done = True
            return None
        data = _decode(event.data)
        kind = data.get("type") or event.name
        if kind == "response.output_text.delta":
            delta = data.get("delta")
            return delta if isinstance(delta, str) and delta else None
        if kind == "error":
            raise _stream_error(data)
        if kind in self._TERMINAL:
            response = data.get("response")
            if not isinstance(response, dict):
                raise UpstreamError(f"upstream {kind} event carries no response")
            self._final = response
            self.done = True
        return None

    def result(self) -> dict[str, Any]:
        """The normalized fields of the terminal response."""
        if self._final is None:
            raise UpstreamError("the upstream stream ended before response.completed")
        return normalize("responses", self._final)


class UpstreamStream:
    """An open upstream answer, read as text deltas, then folded into the normalized fields."""

    def __init__(self, response: httpx.Response, api: Api) -> None:
        self._response = response
        self._api = api
        self.fields: dict[str, Any] | None = None

    async def texts(self, deadline: float, clock: Callable[[], float]) -> AsyncIterator[str]:
        """Yield text as it arrives; set `fields` at the end. Each read waits only until
        `deadline`, and no timer stays armed across a yield (the reader's time is its own)."""
        if "json" in self._response.headers.get("content-type", ""):
            # An answer that is not a stream (a cached one, say) still streams, as one delta.
            body = await within(_read_capped(self._response), deadline, clock, _timed_out)
            self.fields = normalize(self._api, _decode(body.decode("utf-8", "replace")))
            if self.fields["output_text"]:
                yield self.fields["output_text"]
            return
        folder = ChatStream() if self._api == "chat" else ResponsesStream()
        parser = SSEParser()
        chunks = self._response.aiter_bytes()
        while not folder.done:
            chunk = await within(anext(chunks, None), deadline, clock, _timed_out)
            if chunk is None:
                break
            for event in parser.feed(chunk):
                text = folder.feed(event)
                if text:
                    yield text
        for event in parser.close():
            folder.feed(event)
        self.fields = folder.result()


async def _read_capped(response: httpx.Response) -> bytes:
    """A whole answer (JSON in place of a stream), capped as the non-streaming path caps it."""
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > MAX_UPSTREAM_BODY_BYTES:
            raise UpstreamError("gateway answered with a body too large to relay")
    return bytes(body)


def _timed_out() -> UpstreamTimeout:
    return UpstreamTimeout("UPSTREAM_TIMEOUT_SECONDS ran out during the stream")


def _decode(data: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise UpstreamError("upstream stream carried an event that is not JSON") from exc
    if not isinstance(value, dict):
        raise UpstreamError("upstream stream carried an event that is not a JSON object")
    return value


def _stream_error(error: dict[str, Any]) -> UpstreamError:
    message = error.get("message")
    text = passed_on(message, MAX_UPSTREAM_MESSAGE_CHARS) if isinstance(message, str) else ""
    return UpstreamError(
        f"upstream stream failed: {text or 'no reason given'}",
        upstream_code=passed_on_code(error.get("code")),
    )
