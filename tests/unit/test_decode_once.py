"""An HTTP body is decoded once: the request, its `deliver` flag and the bulk check all come out
of one pass (driven through the HTTP handler, the gateway behind httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from starlette.requests import Request
from starlette.types import Message

import handlers.runtime
from handlers.http import handle_http
from relay import BulkBody, PromptRequest, Relay, Settings
from relay.request import BatchRequest, decode_body

CHAT = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}
ENV = {
    "AIG_BASE_URL": "http://gw.test/v1/a/g/openai",
    "AIG_TOKEN": "tok-abcdefgh",
    "DEFAULT_API": "chat",
    "RESULTS_TOPIC": "projects/my-project/topics/results",
}


class _Counting:
    """A msgspec decoder that counts how often it is handed `body`."""

    def __init__(self, decoder: Any, body: bytes, seen: list[str], name: str) -> None:
        self._decoder, self._body, self._seen, self._name = decoder, body, seen, name

    def decode(self, buf: Any) -> Any:
        if bytes(buf) == self._body:
            self._seen.append(self._name)
        return self._decoder.decode(buf)


class _Sink:
    """Stands in for the Deliverer: takes every outcome."""

    def __init__(self) -> None:
        self.outcomes: list[dict[str, Any]] = []

    async def deliver(self, outcome: dict[str, Any], source: str, **_: Any) -> list[Any]:
        self.outcomes.append(outcome)
        return [{"sink": "pubsub", "ok": True}]


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Sink]:
    def gateway(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=CHAT)

    relay = Relay(Settings.from_env(ENV), transport=httpx.MockTransport(gateway))
    sink = _Sink()
    monkeypatch.setattr(handlers.runtime, "_relay", relay)
    monkeypatch.setattr(handlers.runtime, "_deliverer", sink)
    yield sink


def _count_decodes(monkeypatch: pytest.MonkeyPatch, body: bytes) -> list[str]:
    """Every decode of `body`: msgspec.json.decode and every module-level Decoder in relay."""
    seen: list[str] = []
    for name, module in list(sys.modules.items()):
        if name != "relay" and not name.startswith("relay."):
            continue
        for attr, value in list(vars(module).items()):
            if isinstance(value, msgspec.json.Decoder):
                counting = _Counting(value, body, seen, f"{name}.{attr}")
                monkeypatch.setattr(module, attr, counting)
    plain = msgspec.json.decode

    def decode(buf: Any, *args: Any, **kwargs: Any) -> Any:
        if bytes(buf) == body:
            seen.append("msgspec.json.decode")
        return plain(buf, *args, **kwargs)

    monkeypatch.setattr(msgspec.json, "decode", decode)
    return seen


def _post(body: bytes) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        messages: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> Message:
            if messages:
                return messages.pop(0)
            await asyncio.Event().wait()  # the caller stays connected
            raise AssertionError("unreachable")

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/",
            "query_string": b"",
            "headers": [(b"content-type", b"application/json")],
        }
        response = await handle_http(Request(scope, receive))
        return dict(json.loads(bytes(response.body)))

    return asyncio.run(run())


@pytest.mark.parametrize(
    "body",
    [
        # Says both "bulk" and "deliver": once each needed a decode of its own.
        b'{"prompt": "a bulk order", "deliver": true}',
        b'{"deliver": true, "requests": [{"prompt": "bulk"}]}',
    ],
)
def test_a_body_is_decoded_once(body: bytes, sink: _Sink, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _count_decodes(monkeypatch, body)
    answer = _post(body)
    assert answer["ok"] is True
    assert answer["delivery"] == [{"sink": "pubsub", "ok": True}]  # `deliver` reached delivery
    assert len(sink.outcomes) == 1
    assert len(seen) == 1, seen


def test_a_refused_body_keeps_its_deliver_flag(sink: _Sink) -> None:
    """An invalid body's error is delivered when it asked, read loosely once refused."""
    answer = _post(b'{"prompt": 5, "deliver": true, "request_id": "r-1"}')
    assert answer["error"]["type"] == "invalid_request"
    assert answer["request_id"] == "r-1"
    assert answer["delivery"] == [{"sink": "pubsub", "ok": True}]


def test_no_deliver_flag_no_delivery(sink: _Sink) -> None:
    answer = _post(b'{"prompt": "x", "deliver": false}')
    assert answer["ok"] is True and "delivery" not in answer
    assert sink.outcomes == []


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b'{"bulk": {"input": "gs://b/i", "output": "gs://b/o/"}}', BulkBody),
        (b' {"bulk_status": {"output": "gs://b/o/"}}', BulkBody),
        (b'{"deliver": true, "bulk": {"input": "gs://b/i", "output": "gs://b/o/"}}', BulkBody),
        (b'{"prompt": "x", "bulk": 1}', BulkBody),  # relay.bulk says what is wrong with it
        (b'{"prompt": "bulk \\"bulk\\": x"}', PromptRequest),
        (b'{"requests": [{"prompt": "bulk"}]}', BatchRequest),
    ],
)
def test_bulk_bodies_are_told_apart(body: bytes, kind: type) -> None:
    assert isinstance(decode_body(body), kind)
