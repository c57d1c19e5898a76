"""The gateway client's batches, raw answers, internal errors and failure log line, through
httpx.MockTransport (pure logic).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from relay import Relay, Settings
from relay.logs import FIELDS_ATTR
from tests.support.gateway_client import ENV, OK_CHAT, answer, make_relay, scripted


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
