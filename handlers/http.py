"""HTTP adapter: a Starlette request (functions_framework.aio) onto Relay.answer."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Send

from relay import (
    Answer,
    BodyTimeout,
    BulkBody,
    ConfigError,
    Context,
    InternalError,
    RelayError,
    TraceContext,
    UnsupportedMediaType,
    config_error_answer,
    log,
    new_request_id,
)
from relay.deadline import timer
from relay.identity import Identity, caller_email

from ._body import read_limited, require_post
from .runtime import get_relay

__all__ = ["handle_http"]

_encoder = msgspec.json.Encoder()
# Every write of a stream may take at least this long, even past the stream's deadline.
SEND_GRACE_SECONDS = 5.0


async def handle_http(request: Request) -> Response:
    """Answer one HTTP call to `prompt`: always a contract answer, even when a bug escapes."""
    try:
        return await _handle(request)
    except Exception as exc:
        # Not the framework's text/plain 500 with a traceback: one JSON line, one JSON answer.
        request_id = new_request_id()
        log("ERROR", "unexpected failure", event="internal_error", request_id=request_id, exc=exc)
        error = InternalError(f"internal error; the logs hold details under {request_id}")
        body = {"ok": False, "request_id": request_id, "error": error.to_dict()}
        return _response(Answer(error.status, body, {}, error))


async def _handle(request: Request) -> Response:
    try:
        relay = get_relay()
    except ConfigError as exc:
        project = os.environ.get("GOOGLE_CLOUD_PROJECT")
        return _response(config_error_answer(exc, _context(request, project)))
    context = _context(request, relay.settings.project, relay.settings.identity_metadata)
    try:
        async with asyncio.timeout(relay.settings.body_timeout):
            body = await _read_body(request, relay.settings.max_body_bytes)
    except TimeoutError:
        error = BodyTimeout(
            f"the body did not arrive within {relay.settings.body_timeout:g} s "
            "(BODY_TIMEOUT_SECONDS)"
        )
        answer = relay.reject(error, context)
    except RelayError as exc:
        answer = relay.reject(exc, context)
    else:
        started = relay.clock()
        decoded = relay.read(body, context, started=started)
        if isinstance(decoded, BulkBody):
            # The bulk modules (storage, Pub/Sub fan-out) load on the first bulk body, not on
            # the cold start of a plain prompt.
            from ._bulk import answer_bulk

            bulk = await answer_bulk(relay, decoded.body, context)
            assert bulk is not None  # relay.read and relay.bulk agree on what a bulk body is
            return _response(bulk)  # a bulk run's items are its delivery
        if isinstance(decoded, Answer):
            answer = decoded  # refused
        else:
            work = relay.answer_decoded(decoded, context, started=started)
            answered = await _unless_caller_leaves(request, work)
            if answered is None:
                # The caller is gone; nobody reads this. The relay logged client_disconnected.
                return Response(status_code=499)
            answer = answered
    if relay.settings.results_topic or relay.settings.results_bucket:
        # Loaded with a sink configured only: without one nothing is delivered (docs/delivery.md).
        from ._delivery import deliver_http

        answer = await deliver_http(answer, request.headers, relay.settings)
    return _response(answer)


async def _unless_caller_leaves(request: Request, work: Awaitable[Answer]) -> Answer | None:
    """`work`'s answer; or, when the caller hangs up first, None with `work` cancelled, so the
    upstream call ends with it and nothing is retried for a caller who left."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_hang_up(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if task.done():
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return None


async def _hang_up(request: Request) -> None:
    """Returns when the caller disconnects (the body has been read, so that is all that comes)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused before it is read whole when it is too large or not JSON."""
    require_post(request)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # A missing Content-Type is taken as JSON; anything else must say JSON.
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {media_type[:80]!r}"
        )
    return await read_limited(request, limit, what="body", setting=" (MAX_BODY_BYTES)")


def _context(request: Request, project: str | None, identity_keys: tuple[str, ...] = ()) -> Context:
    headers = request.headers
    # Parsed once: the log line's trace fields and the trace passed on to the gateway.
    trace = TraceContext.from_headers(headers)
    fields: dict[str, Any] = trace.log_fields(project) if trace is not None else {}
    job = headers.get("x-cloudscheduler-jobname")
    if job:
        fields["scheduler_job"] = job[:500]
        schedule_time = headers.get("x-cloudscheduler-scheduletime")
        if schedule_time:
            fields["scheduler_schedule_time"] = schedule_time[:100]
    # So gateway analytics can be filtered per job when the body sets no metadata of its own.
    default_metadata = {"scheduler_job": job[:500]} if job else None
    # The ID token Cloud Run's IAM checked: X-Serverless-Authorization when the caller used
    # Authorization for something else, else Authorization (relay/identity.py). Decoded only
    # when IDENTITY_METADATA asks for it (about 9 µs a call).
    caller = None
    if "caller" in identity_keys:
        serverless = headers.get("x-serverless-authorization")
        caller = caller_email(serverless, headers.get("authorization"))
    return Context(
        log_fields=fields,
        default_metadata=default_metadata,
        trace=trace,
        identity=Identity(caller, "scheduler" if job else "http", job[:500] if job else None),
    )


class _BoundedStream(StreamingResponse):
    """A stream whose every send must finish by a deadline: a caller that stops reading cannot
    hold the request, nor its upstream connection, past it. The events are always closed, so
    the relay's own cleanup (and its log line) runs at once."""

    def __init__(self, answer: Answer) -> None:
        assert answer.events is not None
        super().__init__(
            answer.events,
            status_code=answer.status,
            headers=answer.headers,
            media_type="text/event-stream",
        )
        self.events = answer.events
        self.deadline = answer.events_deadline or time.monotonic()

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.events:
                if not await self._send_by_deadline(send, chunk, more=True):
                    return  # the caller stopped reading: the connection is dropped
            await self._send_by_deadline(send, b"", more=False)
        finally:
            await self.events.aclose()

    async def _send_by_deadline(self, send: Send, chunk: bytes, *, more: bool) -> bool:
        try:
            # Until the deadline, or at least the grace: a reader that is reading, only slowly
            # (a loaded machine), still gets each event; one that stopped is cut off.
            async with timer(self.deadline, time.monotonic, floor=SEND_GRACE_SECONDS):
                await send({"type": "http.response.body", "body": chunk, "more_body": more})
        except TimeoutError:
            return False
        return True


def _response(answer: Answer) -> Response:
    if answer.events is not None:
        return _BoundedStream(answer)
    return Response(
        _encoder.encode(answer.body),
        status_code=answer.status,
        headers=answer.headers,
        media_type="application/json",
    )
