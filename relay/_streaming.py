"""Streaming: upstream server-sent events in either API's format, into the contract's events.

`SSEParser` splits an upstream byte stream into events. `ChatStream` and `ResponsesStream` fold
those events into text deltas as they arrive and, at the end, the same normalized fields a
non-streaming call gives (the Chat stream is rebuilt into a completion body, a Responses stream
carries its full response in the terminal event), so one normalizer serves both paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from ._errors import UpstreamError
from ._normalize import normalize

__all__ = ["ChatStream", "ResponsesStream", "SSEParser", "StreamEvent", "sse"]

_encoder = msgspec.json.Encoder()


def sse(event: str, data: Any) -> bytes:
    """One server-sent event, JSON data on a single line."""
    return b"event: " + event.encode() + b"\ndata: " + _encoder.encode(data) + b"\n\n"


@dataclass(slots=True)
class StreamEvent:
    """One upstream SSE event: its `event:` name (may be empty) and its `data:` text."""

    name: str
    data: str


@dataclass(slots=True)
class SSEParser:
    """Incremental SSE parser (the WHATWG rules that matter: LF/CRLF, multi-line data, comments)."""

    _buffer: bytes = b""
    _name: str = ""
    _data: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[StreamEvent]:
        """Events completed by `chunk`."""
        self._buffer += chunk
        events: list[StreamEvent] = []
        while True:
            newline = self._buffer.find(b"\n")
            if newline < 0:
                return events
            line = self._buffer[:newline].rstrip(b"\r").decode("utf-8", "replace")
            self._buffer = self._buffer[newline + 1 :]
            if not line:
                if self._data:
                    events.append(StreamEvent(self._name, "\n".join(self._data)))
                self._name, self._data = "", []
            elif line.startswith(":"):
                continue
            else:
                key, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if key == "event":
                    self._name = value
                elif key == "data":
                    self._data.append(value)

    def close(self) -> list[StreamEvent]:
        """A final event left without its blank line (a stream that just ends)."""
        events = self.feed(b"\n\n") if self._buffer.strip() or self._data else []
        return events


class ChatStream:
    """Folds Chat Completions chunks into deltas and a final normalized result."""

    def __init__(self) -> None:
        self.done = False
        self._id: str | None = None
        self._model: str | None = None
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
        self._id = self._id or chunk.get("id")
        self._model = self._model or chunk.get("model")
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        text: list[str] = []
        for choice in chunk.get("choices") or ():
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue  # only the first choice is relayed, as in the non-streaming result
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                text.append(delta["content"])
            if isinstance(delta.get("refusal"), str):
                self._refusal.append(delta["refusal"])
            for call in delta.get("tool_calls") or ():
                self._tool_fragment(call)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
        self._text.extend(text)
        return "".join(text) or None

    def _tool_fragment(self, call: dict[str, Any]) -> None:
        slot = self._tools.setdefault(
            int(call.get("index", 0)), {"id": None, "name": None, "arguments": []}
        )
        function = call.get("function") or {}
        slot["id"] = slot["id"] or call.get("id")
        slot["name"] = slot["name"] or function.get("name")
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


def _decode(data: str) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(data)
    except (msgspec.DecodeError, RecursionError):
        raise UpstreamError("upstream stream carried an event that is not JSON") from None
    if not isinstance(value, dict):
        raise UpstreamError("upstream stream carried an event that is not a JSON object")
    return value


def _stream_error(error: dict[str, Any]) -> UpstreamError:
    message = error.get("message")
    code = error.get("code")
    return UpstreamError(
        f"upstream stream failed: {message if isinstance(message, str) else 'no reason given'}",
        upstream_code=code if isinstance(code, str | int) else None,
    )
