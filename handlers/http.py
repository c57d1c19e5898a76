"""HTTP adapter: a Starlette request (functions_framework.aio) onto Relay.answer."""

from __future__ import annotations

import os
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from relay import (
    Answer,
    ConfigError,
    Context,
    MethodNotAllowed,
    PayloadTooLarge,
    RelayError,
    TraceContext,
    UnsupportedMediaType,
    config_error_answer,
    trace_field,
)

from ._runtime import get_relay

__all__ = ["handle_http"]

_encoder = msgspec.json.Encoder()


async def handle_http(request: Request) -> Response:
    """Answer one HTTP call to `prompt`."""
    try:
        relay = get_relay()
    except ConfigError as exc:
        project = os.environ.get("GOOGLE_CLOUD_PROJECT")
        return _response(config_error_answer(exc, _context(request, project)))
    context = _context(request, relay.settings.project)
    try:
        body = await _read_body(request, relay.settings.max_body_bytes)
    except RelayError as exc:
        return _response(relay.reject(exc, context))
    return _response(await relay.answer(body, context))


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused before it is read whole when it is too large or not JSON."""
    if request.method != "POST":
        raise MethodNotAllowed(f"use POST, not {request.method}")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # A missing Content-Type is taken as JSON; anything else must say JSON.
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type must be application/json, not {media_type[:80]!r}"
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {limit} (MAX_BODY_BYTES)")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over the {limit} byte limit (MAX_BODY_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


def _context(request: Request, project: str | None) -> Context:
    headers = request.headers
    fields: dict[str, Any] = {}
    fields.update(trace_field(headers, project))
    job = headers.get("x-cloudscheduler-jobname")
    if job:
        fields["scheduler_job"] = job[:500]
        schedule_time = headers.get("x-cloudscheduler-scheduletime")
        if schedule_time:
            fields["scheduler_schedule_time"] = schedule_time[:100]
    # So gateway analytics can be filtered per job when the body sets no metadata of its own.
    default_metadata = {"scheduler_job": job[:500]} if job else None
    return Context(
        log_fields=fields,
        default_metadata=default_metadata,
        trace=TraceContext.from_headers(headers),
    )


def _response(answer: Answer) -> Response:
    if answer.events is not None:
        return StreamingResponse(
            answer.events,
            status_code=answer.status,
            headers=answer.headers,
            media_type="text/event-stream",
        )
    return Response(
        _encoder.encode(answer.body),
        status_code=answer.status,
        headers=answer.headers,
        media_type="application/json",
    )
