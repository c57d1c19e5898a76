"""The gateway client and the secret cache, driven through httpx.MockTransport (pure logic)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from relay import ConfigError, Relay, SecretUnavailable, Settings
from relay._logging import FIELDS_ATTR

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


def test_success_reports_one_attempt_and_headers() -> None:
    """A plain success: attempts 1, gateway headers surfaced, credentials sent."""
    handler, seen = scripted(
        httpx.Response(
            200, json=OK_CHAT, headers={"cf-aig-log-id": "L1", "cf-aig-cache-status": "MISS"}
        )
    )
    result = answer(make_relay(handler), {"prompt": "hi"})
    assert result.status == 200
    assert result.body["attempts"] == 1
    assert result.body["gateway"] == {
        "log_id": "L1",
        "cache_status": "MISS",
        "step": None,
        "model": None,
        "provider": None,
        "dlp": None,
    }
    assert seen[0].headers["cf-aig-authorization"] == "Bearer env-token-123"
    assert "authorization" not in seen[0].headers  # BYOK: no OpenAI key configured


def test_openai_key_goes_in_authorization() -> None:
    """With an OpenAI key configured, Authorization carries it."""
    handler, seen = scripted(httpx.Response(200, json=OK_CHAT))
    answer(make_relay(handler, OPENAI_API_KEY="sk-test-000000"), {"prompt": "hi"})
    assert seen[0].headers["authorization"] == "Bearer sk-test-000000"


def test_retries_then_succeeds() -> None:
    """A 500 then a 200: success with attempts 2."""
    handler, seen = scripted(
        httpx.Response(
            500, json={"error": {"message": "x", "code": None}}, headers={"retry-after-ms": "10"}
        ),
        httpx.Response(200, json=OK_CHAT),
    )
    result = answer(make_relay(handler), {"prompt": "hi"})
    assert result.status == 200
    assert result.body["attempts"] == 2
    assert len(seen) == 2


def test_retries_stop_at_max_retries() -> None:
    """MAX_RETRIES bounds the attempts; the last error is answered."""
    handler, seen = scripted(
        httpx.Response(503, json={"error": {"message": "busy"}}, headers={"retry-after-ms": "1"})
    )
    result = answer(make_relay(handler, MAX_RETRIES="2"), {"prompt": "hi"})
    assert result.status == 502
    assert result.body["error"]["type"] == "upstream_error"
    assert result.body["error"]["upstream_status"] == 503
    assert len(seen) == 3


def test_insufficient_quota_is_not_retried() -> None:
    """Waiting does not fix billing: one attempt, answered 429."""
    handler, seen = scripted(
        httpx.Response(
            429,
            json={
                "error": {
                    "message": "quota",
                    "type": "insufficient_quota",
                    "code": "insufficient_quota",
                }
            },
        )
    )
    result = answer(make_relay(handler), {"prompt": "hi"})
    assert result.status == 429
    assert result.body["error"]["upstream_code"] == "insufficient_quota"
    assert len(seen) == 1


def test_rate_limit_beyond_budget_answers_retry_after() -> None:
    """A Retry-After longer than the budget is not waited for: 429 with Retry-After."""
    handler, seen = scripted(
        httpx.Response(
            429,
            json={"error": {"message": "slow", "code": "rate_limit_exceeded"}},
            headers={"retry-after": "30"},
        )
    )
    result = answer(make_relay(handler, UPSTREAM_TIMEOUT_SECONDS="5"), {"prompt": "hi"})
    assert result.status == 429
    assert result.headers["retry-after"] == "30"
    assert result.body["error"]["retryable"] is True
    assert len(seen) == 1


def test_client_errors_are_not_retried() -> None:
    """A 400 is upstream_rejected after one attempt, with the provider's code."""
    handler, seen = scripted(
        httpx.Response(
            400,
            json={
                "error": {
                    "message": "bad temperature",
                    "type": "x",
                    "param": "temperature",
                    "code": "decimal_below_min_value",
                }
            },
        )
    )
    result = answer(make_relay(handler), {"prompt": "hi"})
    assert (result.status, result.body["error"]["type"]) == (400, "upstream_rejected")
    assert result.body["error"]["upstream_code"] == "decimal_below_min_value"
    assert "bad temperature" in result.body["error"]["message"]
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"<html>oops</html>", "not JSON"),
        (b'{"choices": [', "not JSON"),  # cut short
        (b'{"object": "list"}', "not a Chat Completions object"),
    ],
)
def test_unusable_2xx_is_not_retried(body: bytes, words: str) -> None:
    """A 200 we cannot use (HTML, cut short, the wrong shape) is upstream_error at once: the
    provider may have billed it, so another attempt could bill it again."""
    handler, seen = scripted(httpx.Response(200, content=body))
    result = answer(make_relay(handler, MAX_RETRIES="2"), {"prompt": "hi"})
    assert (result.status, result.body["error"]["type"]) == (502, "upstream_error")
    assert words in result.body["error"]["message"]
    assert result.body["error"]["upstream_status"] == 200
    assert len(seen) == 1


def test_connection_error_is_upstream_error() -> None:
    """A refused connection is retried, then answered 502 upstream_error."""
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("refused", request=request)

    result = answer(make_relay(handler, MAX_RETRIES="1"), {"prompt": "hi"})
    assert result.body["error"]["type"] == "upstream_error"
    assert result.body["error"]["retryable"] is True
    assert len(calls) == 2


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


def test_deadline_bounds_a_slow_upstream() -> None:
    """A stalled upstream ends at UPSTREAM_TIMEOUT_SECONDS with upstream_timeout."""

    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200, json=OK_CHAT)

    settings = Settings.from_env(
        {**ENV, "AIG_TOKEN": "tok-12345678", "UPSTREAM_TIMEOUT_SECONDS": "0.3"}
    )
    relay = Relay(settings, transport=httpx.MockTransport(stall))
    loop_time: list[float] = []

    async def run() -> Any:
        start = asyncio.get_running_loop().time()
        result = await relay.answer(b'{"prompt": "hi"}')
        loop_time.append(asyncio.get_running_loop().time() - start)
        return result

    result = asyncio.run(run())
    assert (result.status, result.body["error"]["type"]) == (504, "upstream_timeout")
    assert loop_time[0] < 5  # ended by the deadline, not by the 30 s upstream


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


def test_batch_answers_in_order_and_fails_items_alone() -> None:
    """A batch runs items concurrently, answers in order, one bad item failing alone."""
    handler, seen = scripted(httpx.Response(200, json=OK_CHAT))
    result = answer(
        make_relay(handler),
        {
            "requests": [
                {"prompt": "a", "request_id": "one"},
                {"promt": "typo", "request_id": "two"},
                {"prompt": "c", "request_id": "three"},
            ]
        },
    )
    assert result.status == 200
    body = result.body
    assert body["ok"] is False
    assert [r["request_id"] for r in body["results"]] == ["one", "two", "three"]
    assert [r["ok"] for r in body["results"]] == [True, False, True]
    assert "requests[1]" in body["results"][1]["error"]["message"]
    assert len(seen) == 2


def test_batch_limit() -> None:
    """More items than BATCH_MAX_ITEMS is refused whole."""
    handler, seen = scripted(httpx.Response(200, json=OK_CHAT))
    result = answer(make_relay(handler, BATCH_MAX_ITEMS="2"), {"requests": [{"prompt": "a"}] * 3})
    assert (result.status, result.body["error"]["type"]) == (400, "invalid_request")
    assert seen == []


def test_unexpected_exception_is_internal_without_details() -> None:
    """A bug answers `internal` with no traceback or exception text for the caller."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("secret detail: do not show")

    result = answer(make_relay(handler), {"prompt": "hi"})
    assert (result.status, result.body["error"]["type"]) == (500, "internal")
    assert "secret detail" not in json.dumps(result.body)


@pytest.mark.parametrize("include_raw", [True, False])
def test_include_raw(include_raw: bool) -> None:
    """include_raw adds the upstream JSON as `raw`."""
    handler, _ = scripted(httpx.Response(200, json=OK_CHAT))
    result = answer(make_relay(handler), {"prompt": "hi", "include_raw": include_raw})
    assert ("raw" in result.body) is include_raw
    if include_raw:
        assert result.body["raw"] == OK_CHAT


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


def test_background_run_status_is_not_retried() -> None:
    """A well-formed Responses body that failed is answered once, not retried into a new bill."""
    handler, seen = scripted(
        httpx.Response(
            200,
            json={
                "id": "resp_1",
                "object": "response",
                "status": "failed",
                "output": [],
                "error": {"code": "server_error", "message": "boom"},
            },
        )
    )
    result = answer(make_relay(handler, DEFAULT_API="responses"), {"prompt": "hi"})
    assert result.body["error"]["type"] == "upstream_error"
    assert result.body["error"]["upstream_code"] == "server_error"
    assert len(seen) == 1


def test_batch_shares_one_deadline() -> None:
    """Items waiting for a slot spend the batch's budget: the batch ends by the deadline."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.25)
        return httpx.Response(200, json=OK_CHAT)

    settings = Settings.from_env(
        {
            **ENV,
            "AIG_TOKEN": "tok-12345678",
            "BATCH_CONCURRENCY": "1",
            "UPSTREAM_TIMEOUT_SECONDS": "0.6",
            "MAX_RETRIES": "0",
        }
    )
    relay = Relay(settings, transport=httpx.MockTransport(slow))

    async def run() -> tuple[Any, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        result = await relay.answer(json.dumps({"requests": [{"prompt": "x"}] * 6}).encode())
        return result, loop.time() - start

    result, elapsed = asyncio.run(run())
    outcomes = [r["ok"] or r["error"]["type"] for r in result.body["results"]]
    assert outcomes[0] is True
    assert outcomes[-1] == "upstream_timeout"
    assert elapsed < 1.2  # six items one at a time would take 1.5 s without the shared deadline


def test_failure_log_line_carries_the_gateway_log_id(caplog: pytest.LogCaptureFixture) -> None:
    """When the gateway answered an error, its log id is on the request's log line."""
    handler, _ = scripted(
        httpx.Response(
            400,
            json={"error": {"message": "bad", "code": "x"}},
            headers={"cf-aig-log-id": "LOG-400"},
        )
    )
    with caplog.at_level(logging.INFO, logger="relay"):
        answer(make_relay(handler), {"prompt": "hi"})
    line = getattr(caplog.records[-1], FIELDS_ATTR)
    assert (line["outcome"], line["gateway_log_id"]) == ("upstream_rejected", "LOG-400")
