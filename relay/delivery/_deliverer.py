"""Delivery: a finished outcome (result, error or batch answer) written to the result sinks.

What is delivered is the JSON an HTTP caller gets, byte for byte as encoded here; each sink
gets a few bounded retries inside one deadline (DELIVERY_TIMEOUT_SECONDS). The caller learns
the outcome per sink as `delivery` reports: `{"sink", "ok", "id", "error"}`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Collection, Sequence
from typing import Any, Literal

import msgspec

from ..logs import log, redact
from ..settings import Settings
from ..streaming import sse
from ._sinks import GcsSink, PubSubSink, Sink, is_permanent

__all__ = [
    "DELIVERY_ATTEMPTS",
    "Deliverer",
    "Source",
    "deliver_stream",
]

Source = Literal["http", "scheduler", "pubsub"]

# Attempts per sink, and the waits between them (doubling, capped); all inside the deadline.
DELIVERY_ATTEMPTS = 3
DELIVERY_FIRST_WAIT_SECONDS = 0.25
DELIVERY_MAX_WAIT_SECONDS = 2.0
# Pub/Sub caps an attribute value at 1024 bytes.
_MAX_ATTRIBUTE_CHARS = 256
_MAX_ERROR_CHARS = 300

_encoder = msgspec.json.Encoder()


class Deliverer:
    """Writes outcomes to every configured sink, concurrently, with bounded retries."""

    def __init__(
        self,
        sinks: Sequence[Sink],
        *,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.sinks = tuple(sinks)
        self.timeout = timeout
        self._clock = clock
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: Settings) -> Deliverer:
        """The sinks the settings name (possibly none)."""
        sinks: list[Sink] = []
        if settings.results_topic:
            sinks.append(PubSubSink(settings.results_topic))
        if settings.results_bucket:
            sinks.append(
                GcsSink(settings.results_bucket, settings.results_prefix, settings.project)
            )
        return cls(sinks, timeout=settings.delivery_timeout)

    async def deliver(
        self,
        outcome: dict[str, Any],
        source: Source,
        *,
        request_id: str | None = None,
        scheduler_job: str | None = None,
        only: Collection[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Write `outcome` to each sink (or those named in `only`); one report per sink."""
        rid = outcome.get("request_id") or request_id or f"batch-{uuid.uuid4().hex}"
        data = _encoder.encode(outcome)
        attributes = _attributes(outcome, rid, source, scheduler_job)
        deadline = self._clock() + self.timeout
        sinks = [s for s in self.sinks if only is None or s.name in only]
        reports = await asyncio.gather(
            *(self._one(sink, data, attributes, rid, deadline) for sink in sinks)
        )
        for report in reports:
            if report["ok"]:
                continue
            log(
                "ERROR",
                f"result not delivered to {report['sink']}",
                event="delivery_failed",
                request_id=rid,
                source=source,
                sink=report["sink"],
                error=report["error"],
            )
        if reports and all(r["ok"] for r in reports):
            ids = {r["sink"]: r["id"] for r in reports}
            log("INFO", "result delivered", request_id=rid, source=source, delivered=ids)
        return list(reports)

    async def _one(
        self,
        sink: Sink,
        data: bytes,
        attributes: dict[str, str],
        request_id: str,
        deadline: float,
    ) -> dict[str, Any]:
        error = "not attempted: no time left"
        for attempt in range(DELIVERY_ATTEMPTS):
            left = deadline - self._clock()
            if left <= 0:
                break
            try:
                async with asyncio.timeout(left):
                    sink_id = await sink.send(data, attributes, request_id, left)
                return {"sink": sink.name, "ok": True, "id": sink_id, "error": None}
            except TimeoutError:
                error = f"timed out after {self.timeout:g} s (DELIVERY_TIMEOUT_SECONDS)"
                break
            except Exception as exc:
                error = _describe(exc)
                if is_permanent(exc):
                    break
            wait = min(DELIVERY_FIRST_WAIT_SECONDS * 2**attempt, DELIVERY_MAX_WAIT_SECONDS)
            if attempt + 1 < DELIVERY_ATTEMPTS and self._clock() + wait < deadline:
                await self._sleep(wait)
        return {"sink": sink.name, "ok": False, "id": None, "error": error}


async def deliver_stream(
    events: AsyncGenerator[bytes, None],
    deliver: Callable[[dict[str, Any]], Awaitable[list[dict[str, Any]]]],
) -> AsyncGenerator[bytes, None]:
    """Pass a stream's events on; the final `result`/`error` is delivered, then sent with
    its `delivery` reports. Closing this closes `events` at once (their cleanup logs)."""
    try:
        async for chunk in events:
            for name in (b"result", b"error"):
                head = b"event: " + name + b"\ndata: "
                if chunk.startswith(head):
                    outcome = msgspec.json.decode(chunk[len(head) :])
                    outcome["delivery"] = await deliver(dict(outcome))
                    chunk = sse(name.decode(), outcome)
                    break
            yield chunk
    finally:
        await events.aclose()


def _attributes(
    outcome: dict[str, Any], request_id: str, source: Source, scheduler_job: str | None
) -> dict[str, str]:
    attributes = {
        "request_id": request_id,
        "ok": "true" if outcome.get("ok") else "false",
        "source": source,
    }
    error = outcome.get("error")
    known = {
        "api": outcome.get("api"),
        "model": outcome.get("model"),
        "error_type": error.get("type") if isinstance(error, dict) else None,
        "scheduler_job": scheduler_job,
    }
    for key, value in known.items():
        if isinstance(value, str) and value:
            attributes[key] = value[:_MAX_ATTRIBUTE_CHARS]
    return attributes


def _describe(exc: BaseException) -> str:
    text = redact(f"{type(exc).__name__}: {exc}".strip())
    return text if len(text) <= _MAX_ERROR_CHARS else text[:_MAX_ERROR_CHARS] + "…"
