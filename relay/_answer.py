"""What a handler knows about a request beyond its body (`Context`), and what the core answers
(`Answer`): the two types every entry point, the core and the tests share."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from ._errors import RelayError
from ._request import REQUEST_ID
from ._trace_context import TraceContext

__all__ = ["Answer", "Context", "new_request_id", "request_id_from_raw"]


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler knows about a request beyond its body."""

    # Extra fields for the request's log line (trace, scheduler job, Pub/Sub message id).
    log_fields: Mapping[str, Any] = field(default_factory=dict)
    # Used when the body carries no request_id (a Pub/Sub attribute or message id).
    request_id: str | None = None
    # cf-aig-metadata when the body sets none (a scheduler job's name).
    default_metadata: Mapping[str, str] | None = None
    # Whether `stream: true` is honoured (HTTP); elsewhere the prompt runs without streaming.
    allow_stream: bool = True
    # The caller's trace (traceparent / X-Cloud-Trace-Context), passed on to the gateway.
    trace: TraceContext | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP-shaped outcome: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    error: RelayError | None = None
    # For a streaming answer: the server-sent events to send (body is then empty), and the
    # `time.monotonic()` by which the caller must have taken them.
    events: AsyncGenerator[bytes, None] | None = None
    events_deadline: float | None = None


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from_raw(body: bytes) -> str | None:
    """Echo the caller's request_id even when the rest of the body is invalid."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and REQUEST_ID.match(value) else None
