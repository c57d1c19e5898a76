"""The gateway client's secret cache: rotation, refetch, expiry and outages, through
httpx.MockTransport (pure logic).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest

from relay import SecretUnavailable, Settings, UpstreamTimeout
from relay.logs import FIELDS_ATTR
from relay.secrets import CredentialSource, Secrets
from tests.support.gateway_client import ENV, OK_CHAT, FakeStore, answer, make_relay, scripted


def test_rotation_refetches_secrets_once() -> None:
    """A 401 drops cached secrets, fetches them again and retries once."""
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "old-token-1234"})
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["cf-aig-authorization"])
        store.values["projects/p/secrets/tok/versions/latest"] = "new-token-5678"
        if request.headers["cf-aig-authorization"] == "Bearer new-token-5678":
            return httpx.Response(200, json=OK_CHAT)
        return httpx.Response(
            401,
            json={
                "name": "AiGatewayError",
                "internalCode": 2009,
                "error": [{"code": 2009, "message": "Unauthorized"}],
            },
        )

    relay = make_relay(handler, store=store, AIG_TOKEN_SECRET="projects/p/secrets/tok")
    result = answer(relay, {"prompt": "hi"})
    assert result.status == 200
    assert result.body["attempts"] == 2
    assert seen == ["Bearer old-token-1234", "Bearer new-token-5678"]


def test_second_401_is_upstream_auth() -> None:
    """When the refetched secret is refused too, the answer is upstream_auth."""
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "bad-token-1234"})
    handler, seen = scripted(
        httpx.Response(401, json={"error": {"code": "invalid_api_key", "message": "sk-...1234"}})
    )
    relay = make_relay(handler, store=store, AIG_TOKEN_SECRET="projects/p/secrets/tok")
    result = answer(relay, {"prompt": "hi"})
    assert (result.status, result.body["error"]["type"]) == (502, "upstream_auth")
    assert len(seen) == 2
    assert store.calls["projects/p/secrets/tok/versions/latest"] == 2
    # The store confirmed that value moments ago: the next 401 does not refetch it.
    again = answer(relay, {"prompt": "hi"})
    assert again.body["error"]["type"] == "upstream_auth"
    assert store.calls["projects/p/secrets/tok/versions/latest"] == 2
    assert len(seen) == 3


def test_env_secret_401_is_not_retried() -> None:
    """A token from the environment cannot rotate: one attempt."""
    handler, seen = scripted(httpx.Response(401, json={"error": {"code": "invalid_api_key"}}))
    result = answer(make_relay(handler), {"prompt": "hi"})
    assert result.body["error"]["type"] == "upstream_auth"
    assert len(seen) == 1


def test_concurrent_first_requests_share_one_fetch() -> None:
    """Many requests arriving at once cause one fetch per secret."""
    store = FakeStore(
        {
            "projects/p/secrets/tok/versions/latest": "token-abcdefgh",
            "projects/p/secrets/key/versions/latest": "sk-abcdefgh",
        }
    )
    handler, _ = scripted(httpx.Response(200, json=OK_CHAT))
    relay = make_relay(
        handler,
        store=store,
        AIG_TOKEN_SECRET="projects/p/secrets/tok",
        OPENAI_API_KEY_SECRET="projects/p/secrets/key",
    )

    async def run() -> list[Any]:
        store.gate = asyncio.Event()
        tasks = [asyncio.create_task(relay.answer(b'{"prompt": "hi"}')) for _ in range(50)]
        await asyncio.sleep(0)
        store.gate.set()
        return await asyncio.gather(*tasks)

    results = asyncio.run(run())
    assert all(r.status == 200 for r in results)
    assert store.calls == {
        "projects/p/secrets/tok/versions/latest": 1,
        "projects/p/secrets/key/versions/latest": 1,
    }


def test_secret_cache_expires_and_serves_stale_on_outage() -> None:
    """After the TTL a refresh happens; if it fails, the earlier value is served."""
    now = [1000.0]
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "token-abcdefgh"})
    handler, _ = scripted(httpx.Response(200, json=OK_CHAT))
    relay = make_relay(
        handler,
        store=store,
        clock=lambda: now[0],
        AIG_TOKEN_SECRET="projects/p/secrets/tok",
        SECRET_CACHE_TTL_SECONDS="60",
    )

    async def run() -> list[Any]:
        first = await relay.answer(b'{"prompt": "hi"}')
        now[0] += 30
        cached = await relay.answer(b'{"prompt": "hi"}')
        now[0] += 61
        store.fail = SecretUnavailable("store down")
        stale = await relay.answer(b'{"prompt": "hi"}')
        now[0] += 100_000
        gone = await relay.answer(b'{"prompt": "hi"}')
        return [first, cached, stale, gone]

    first, cached, stale, gone = asyncio.run(run())
    assert [first.status, cached.status, stale.status] == [200, 200, 200]
    # One fetch, then the refresh(es) that failed: the stale answer did not wait for them.
    assert store.calls["projects/p/secrets/tok/versions/latest"] in (2, 3)
    assert (gone.status, gone.body["error"]["type"]) == (503, "secret_unavailable")


def test_missing_secret_is_config_error() -> None:
    """A secret that does not exist answers config_error, naming the secret, not a value."""
    store = FakeStore({})
    handler, seen = scripted(httpx.Response(200, json=OK_CHAT))
    relay = make_relay(handler, store=store, AIG_TOKEN_SECRET="projects/p/secrets/nope")
    result = answer(relay, {"prompt": "hi"})
    assert (result.status, result.body["error"]["type"]) == (500, "config_error")
    assert "projects/p/secrets/nope" in result.body["error"]["message"]
    assert seen == []


def test_403_is_final_even_with_rotatable_secrets() -> None:
    """Only a 401 triggers the secret refetch; a 403 is upstream_auth after one attempt."""
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "token-abcdefgh"})
    handler, seen = scripted(httpx.Response(403, json={"error": {"code": "forbidden"}}))
    relay = make_relay(handler, store=store, AIG_TOKEN_SECRET="projects/p/secrets/tok")
    result = answer(relay, {"prompt": "hi"})
    assert result.body["error"]["type"] == "upstream_auth"
    assert len(seen) == 1


def test_attempts_counted_when_refetch_finds_the_secret_gone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 401, then the secret is gone at refetch: config_error, and the log line says 1 attempt."""
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "token-abcdefgh"})

    def handler(request: httpx.Request) -> httpx.Response:
        store.values.clear()
        return httpx.Response(401, json={"error": {"code": "invalid_api_key"}})

    relay = make_relay(handler, store=store, AIG_TOKEN_SECRET="projects/p/secrets/tok")
    with caplog.at_level(logging.INFO, logger="relay"):
        result = answer(relay, {"prompt": "hi"})
    assert result.body["error"]["type"] == "config_error"
    line = getattr(caplog.records[-1], FIELDS_ATTR)
    assert (line["outcome"], line["attempts"]) == ("config_error", 1)


def test_refused_value_is_not_reused_when_the_store_is_down() -> None:
    """After a 401, a failing refetch does not retry with the value just refused."""
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "token-abcdefgh"})

    def handler(request: httpx.Request) -> httpx.Response:
        store.fail = SecretUnavailable("down")
        return httpx.Response(401, json={"error": {"code": "invalid_api_key"}})

    handler_calls: list[httpx.Request] = []

    def counting(request: httpx.Request) -> httpx.Response:
        handler_calls.append(request)
        return handler(request)

    relay = make_relay(counting, store=store, AIG_TOKEN_SECRET="projects/p/secrets/tok")
    result = answer(relay, {"prompt": "hi"})
    assert result.body["error"]["type"] == "upstream_auth"
    assert len(handler_calls) == 1


def _runs_without_suspending(work: Coroutine[Any, Any, Any]) -> Any:
    """The value of `work` if it finished at its first step (never waited on the loop)."""
    try:
        work.send(None)
    except StopIteration as done:
        return done.value
    work.close()
    raise AssertionError("suspended")


def test_credentials_at_hand_are_read_without_suspending() -> None:
    """Secrets from the environment or a fresh cache are read without yielding to the loop, so a
    request whose deadline is nearly spent is not cut off while reading them."""
    env_only = Secrets(Settings.from_env({**ENV, "AIG_TOKEN": "env-token-123"}))
    from_env = _runs_without_suspending(env_only.credentials())
    assert from_env.gateway_token.reveal() == "env-token-123"

    store = FakeStore({"projects/p/secrets/tok/versions/latest": "token-abcdefgh"})
    settings = Settings.from_env({**ENV, "AIG_TOKEN_SECRET": "projects/p/secrets/tok"})
    cached = Secrets(settings, store_factory=lambda: store)

    async def read_twice() -> Any:
        await cached.credentials()  # the first read waits for the store
        return _runs_without_suspending(cached.credentials())

    assert asyncio.run(read_twice()).gateway_token.reveal() == "token-abcdefgh"


def test_time_spent_before_the_store_is_asked_is_a_timeout() -> None:
    """A request whose deadline passed before reading secrets (a batch item that waited for its
    slot) is upstream_timeout: the secret store was not what failed it."""
    store = FakeStore({"projects/p/secrets/tok/versions/latest": "token-abcdefgh"})
    settings = Settings.from_env({**ENV, "AIG_TOKEN_SECRET": "projects/p/secrets/tok"})
    secrets = Secrets(settings, store_factory=lambda: store)
    source = CredentialSource(settings, secrets, time.monotonic, lambda: None)
    with pytest.raises(UpstreamTimeout):
        asyncio.run(source.current(deadline=time.monotonic() - 1))
    assert store.calls == {}

    async def store_hangs() -> None:
        store.gate = asyncio.Event()  # never set
        await source.current(deadline=time.monotonic() + 0.05)

    # A store that does not answer in time is still the store's failure.
    with pytest.raises(SecretUnavailable):
        asyncio.run(store_hangs())
