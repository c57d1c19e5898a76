"""Shared pieces of the gateway-client tests: a fake secret store, and a Relay over
httpx.MockTransport.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from relay import ConfigError, Relay, Settings

OK_CHAT = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


ENV = {"AIG_BASE_URL": "http://gw.test/v1/a/g/openai", "DEFAULT_API": "chat"}


class FakeStore:
    """A secret store with scripted values and failures, counting calls."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: dict[str, int] = {}
        self.fail: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def access(self, name: str, *, timeout: float) -> str:
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        if name not in self.values:
            raise ConfigError(f"secret {name} does not exist")
        return self.values[name]


def make_relay(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    store: FakeStore | None = None,
    clock: Callable[[], float] | None = None,
    **env: str,
) -> Relay:
    settings = Settings.from_env({**ENV, "AIG_TOKEN": "env-token-123", **env})
    kwargs: dict[str, Any] = {}
    if clock is not None:
        kwargs["clock"] = clock
    return Relay(
        settings,
        transport=httpx.MockTransport(handler),
        secret_store=(lambda: store) if store else None,
        **kwargs,
    )


def scripted(
    *responses: httpx.Response,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen) - 1, len(responses) - 1)]

    return handler, seen


def answer(relay: Relay, body: dict[str, Any]) -> Any:
    return asyncio.run(relay.answer(json.dumps(body).encode()))
