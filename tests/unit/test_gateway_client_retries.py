"""The gateway client's attempts, retries, errors and deadline, through httpx.MockTransport
(pure logic).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from relay import Relay, Settings
from tests.support.gateway_client import ENV, OK_CHAT, answer, make_relay, scripted


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
