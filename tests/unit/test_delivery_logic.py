"""Result delivery's pure logic: settings, the `deliver` field, retries, attributes, streams and
the Pub/Sub cache key. The sinks here are small fakes; test_delivery.py runs the real ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any

import httpx
import msgspec
import pytest
from google.api_core import exceptions as google_errors

from relay import ConfigError, Context, InvalidRequest, Settings, decode_request
from relay.delivery import Deliverer, deliver_stream
from relay.events import message_cache_key
from relay.request import BatchRequest, body_fields
from relay.streaming import sse
from tests.support.gateway_client import OK_CHAT, make_relay


# google-api-core's exception classes are untyped; build them through one typed door.
def google_error(name: str, message: str) -> Exception:
    error: Exception = getattr(google_errors, name)(message)
    return error


BASE = {"AIG_BASE_URL": "http://127.0.0.1:9/v1/a/g/openai", "AIG_TOKEN": "tok-abcdefgh"}


@pytest.mark.parametrize(
    ("raw", "project", "topic"),
    [
        ("results", "home-project", "projects/home-project/topics/results"),
        ("projects/other-project/topics/out.v1", None, "projects/other-project/topics/out.v1"),
    ],
)
def test_topic_forms(raw: str, project: str | None, topic: str) -> None:
    """A bare topic id takes GOOGLE_CLOUD_PROJECT; a full name is kept."""
    env = {**BASE, "RESULTS_TOPIC": raw} | ({"GOOGLE_CLOUD_PROJECT": project} if project else {})
    assert Settings.from_env(env).results_topic == topic


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RESULTS_TOPIC": "results"}, "GOOGLE_CLOUD_PROJECT"),
        ({"RESULTS_TOPIC": "ab", "GOOGLE_CLOUD_PROJECT": "home-project"}, "RESULTS_TOPIC"),
        ({"RESULTS_TOPIC": "goog-topic", "GOOGLE_CLOUD_PROJECT": "home-project"}, "RESULTS_TOPIC"),
        ({"RESULTS_TOPIC": "projects/p/topics/t x"}, "RESULTS_TOPIC"),
        ({"RESULTS_BUCKET": "Bad_Bucket"}, "RESULTS_BUCKET"),
        ({"RESULTS_BUCKET": "ab"}, "RESULTS_BUCKET"),
        ({"RESULTS_PREFIX": "a\nb"}, "RESULTS_PREFIX"),
        ({"DELIVERY_TIMEOUT_SECONDS": "0"}, "DELIVERY_TIMEOUT_SECONDS"),
    ],
)
def test_bad_sink_settings_are_named(env: dict[str, str], named: str) -> None:
    """A malformed sink setting is a ConfigError naming the variable."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, **env})
    assert named in caught.value.message


def test_sink_defaults() -> None:
    """No sink by default; the prefix defaults to results/ and may be set empty."""
    settings = Settings.from_env(BASE)
    assert (settings.results_topic, settings.results_bucket) == (None, None)
    assert settings.results_prefix == "results/"
    bucket = Settings.from_env({**BASE, "RESULTS_BUCKET": "gs://my-bucket", "RESULTS_PREFIX": ""})
    assert (bucket.results_bucket, bucket.results_prefix) == ("my-bucket", "")


def test_deliver_field_is_strict() -> None:
    """`deliver` is a boolean on a prompt and at the top of a batch; "yes" is refused."""
    assert decode_request(b'{"prompt": "x", "deliver": true}').deliver is True
    batch = decode_request(b'{"deliver": true, "requests": [{"prompt": "x"}]}')
    assert isinstance(batch, BatchRequest) and batch.deliver is True
    with pytest.raises(InvalidRequest) as caught:
        decode_request(b'{"prompt": "x", "deliver": "yes"}')
    assert caught.value.message.startswith("deliver:")


@pytest.mark.parametrize(
    ("body", "flag"),
    [
        (b'{"prompt": "x"}', None),
        (b'{"prompt": "x", "deliver": true}', True),
        (b'{"prompt": "x", "deliver": false}', False),
        (b'{"requests": [{"prompt": "x", "deliver": false}], "deliver": true}', True),
        (b'{"prompt": "x", "\\u0064eliver": true}', True),
        (b'{"prompt": "deliver", "deliver": "yes"}', None),
        (b"{not json deliver", None),
    ],
)
def test_requested_delivery(body: bytes, flag: bool | None) -> None:
    """Only the body's own top-level boolean counts (read loosely when the body is refused)."""
    assert body_fields(body).deliver is flag


class FakeSink:
    """Fails with each of `failures` in turn, then succeeds."""

    def __init__(self, name: str, failures: list[BaseException] | None = None) -> None:
        self.name = name
        self.failures = list(failures or [])
        self.calls: list[tuple[bytes, dict[str, str], str]] = []

    async def send(
        self, data: bytes, attributes: dict[str, str], request_id: str, timeout: float
    ) -> str:
        self.calls.append((data, attributes, request_id))
        if self.failures:
            raise self.failures.pop(0)
        return f"{self.name}-id"


async def _no_wait(seconds: float) -> None:
    return None


def run(deliverer: Deliverer, outcome: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    return asyncio.run(deliverer.deliver(outcome, "http", **kwargs))


RESULT = {"ok": True, "request_id": "r-1", "api": "chat", "model": "gpt-4o-mini", "x": "é"}


def test_transient_failures_are_retried() -> None:
    """Unavailable, then 429: the third attempt delivers; the data is the outcome's JSON."""
    sink = FakeSink(
        "pubsub",
        [google_error("ServiceUnavailable", "down"), google_error("TooManyRequests", "slow")],
    )
    reports = run(Deliverer([sink], timeout=5, sleep=_no_wait), RESULT)
    assert reports == [{"sink": "pubsub", "ok": True, "id": "pubsub-id", "error": None}]
    assert len(sink.calls) == 3
    data, attributes, request_id = sink.calls[-1]
    assert msgspec.json.decode(data) == RESULT
    assert request_id == "r-1"
    assert attributes == {
        "request_id": "r-1",
        "ok": "true",
        "source": "http",
        "api": "chat",
        "model": "gpt-4o-mini",
    }


def test_permanent_failure_is_not_retried() -> None:
    """NotFound (a deleted topic) fails at once, with the reason; other sinks still deliver."""
    lost = FakeSink("pubsub", [google_error("NotFound", "Resource not found (resource=results).")])
    kept = FakeSink("gcs")
    reports = run(Deliverer([lost, kept], timeout=5, sleep=_no_wait), RESULT)
    assert len(lost.calls) == 1
    assert reports[0]["ok"] is False and reports[0]["id"] is None
    assert reports[0]["error"].startswith("NotFound: 404 Resource not found")
    assert reports[1]["ok"] is True


def test_attempts_are_bounded() -> None:
    """A sink that keeps failing is tried DELIVERY_ATTEMPTS times, then reported."""
    sink = FakeSink("gcs", [ConnectionError("refused")] * 10)
    (report,) = run(Deliverer([sink], timeout=5, sleep=_no_wait), RESULT)
    assert len(sink.calls) == 3
    assert report["error"] == "ConnectionError: refused"


def test_deadline_bounds_a_hanging_sink() -> None:
    """A sink that never answers is cut off at the delivery deadline."""

    class Hanging(FakeSink):
        async def send(self, *args: Any) -> str:
            await asyncio.sleep(60)
            return "never"

    (report,) = run(Deliverer([Hanging("pubsub")], timeout=0.05), RESULT)
    assert report["ok"] is False and "DELIVERY_TIMEOUT_SECONDS" in report["error"]


def test_error_and_batch_attributes() -> None:
    """An error names its type; a batch without request_id gets a generated one."""
    sink = FakeSink("pubsub")
    deliverer = Deliverer([sink], timeout=5)
    error = {"ok": False, "request_id": "e-1", "error": {"type": "upstream_rejected"}}
    asyncio.run(deliverer.deliver(error, "scheduler", scheduler_job="jobs/n"))
    asyncio.run(deliverer.deliver({"ok": True, "results": []}, "pubsub"))
    first, second = (call[1] for call in sink.calls)
    assert first == {
        "request_id": "e-1",
        "ok": "false",
        "source": "scheduler",
        "error_type": "upstream_rejected",
        "scheduler_job": "jobs/n",
    }
    assert second["request_id"].startswith("batch-") and second["source"] == "pubsub"


def test_only_named_sinks_are_retried() -> None:
    """A redelivery retries only the sinks that failed before."""
    pubsub, gcs = FakeSink("pubsub"), FakeSink("gcs")
    run(Deliverer([pubsub, gcs], timeout=5), RESULT, only={"gcs"})
    assert (len(pubsub.calls), len(gcs.calls)) == (0, 1)


def test_stream_final_event_is_delivered() -> None:
    """Deltas pass through; the final result is delivered without, and sent with, its reports."""
    delivered: list[dict[str, Any]] = []

    async def deliver(outcome: dict[str, Any]) -> list[dict[str, Any]]:
        delivered.append(outcome)
        return [{"sink": "gcs", "ok": True, "id": "gs://b/o", "error": None}]

    async def events() -> AsyncGenerator[bytes, None]:
        yield sse("delta", {"text": "hi"})
        yield sse("result", RESULT)

    async def collect() -> list[bytes]:
        return [chunk async for chunk in deliver_stream(events(), deliver)]

    chunks = asyncio.run(collect())
    assert chunks[0] == sse("delta", {"text": "hi"})
    assert delivered == [RESULT]
    final = json.loads(chunks[1].split(b"data: ", 1)[1])
    assert final == {
        **RESULT,
        "delivery": [{"sink": "gcs", "ok": True, "id": "gs://b/o", "error": None}],
    }


def _keys_sent(body: bytes, message_id: str, header: str = "cf-aig-cache-key") -> list[str | None]:
    """`header` of each call a message's payload makes (a batch: one per item)."""
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get(header))
        return httpx.Response(200, json=OK_CHAT)

    context = Context(default_cache_key=message_cache_key(body, message_id))
    answer = asyncio.run(make_relay(handler).answer(body, context))
    assert answer.status == 200, answer.body
    return sent


def test_cache_key_from_message_id() -> None:
    """A prompt without a cache key gets one from the message id and payload; the caller's own
    key and `skip` are kept; batch items get one each."""
    body = b'{"prompt": "x"}'
    key = message_cache_key(body, "123")
    assert key is not None
    assert key.startswith("pubsub:123:") and len(key) == len("pubsub:123:") + 16
    assert _keys_sent(body, "123") == [key]
    with_ttl = b'{"prompt": "x", "cache": {"ttl": 60}}'
    assert _keys_sent(with_ttl, "1")[0] is not None
    assert _keys_sent(with_ttl, "1", "cf-aig-cache-ttl") == ["60"]
    own = b'{"prompt": "x", "cache": {"key": "mine"}}'
    skip = b'{"prompt": "x", "cache": {"skip": true}}'
    assert _keys_sent(own, "1") == ["mine"] and _keys_sent(skip, "1") == [None]
    keys = _keys_sent(b'{"requests": [{"prompt": "a"}, {"prompt": "b"}]}', "9")
    assert keys[0] and keys[1] and keys[0] != keys[1]
    assert keys[0].endswith(":0") and keys[1].endswith(":1")
    assert message_cache_key(b"not json", "1") is not None  # refused later, as invalid_request
    assert message_cache_key(body, "bad id\r\n") is None  # never an unsafe header value
