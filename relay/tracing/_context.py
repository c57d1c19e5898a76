"""The caller's trace context, read from its headers (or a Pub/Sub message's attributes).

Two spellings arrive: W3C `traceparent` (`00-<32 hex trace>-<16 hex span>-<2 hex flags>`) and
Google's `X-Cloud-Trace-Context` (`<32 hex trace>/<decimal span>;o=1`). Anything malformed or
oversized is ignored, never an error: tracing must not cost a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "SPAN_FIELD",
    "TRACE_FIELD",
    "TraceContext",
]

TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
# Real values are 55 characters (traceparent) or under 80 (X-Cloud-Trace-Context); longer ones are
# not parsed at all.
MAX_HEADER_CHARS = 256
# Pub/Sub attributes that may carry a traceparent: a publisher's own, or the one the Google client
# libraries' OpenTelemetry propagation writes (`googclient_` + the W3C key).
TRACEPARENT_ATTRIBUTES = ("traceparent", "googclient_traceparent")

_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=[0-9]+)?")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


@dataclass(frozen=True, slots=True)
class TraceContext:
    """A trace id (32 lowercase hex) and, when known, the caller's span id (16 lowercase hex)."""

    trace_id: str
    span_id: str | None = None

    def log_fields(self, project: str | None) -> dict[str, str]:
        """Cloud Logging's trace (and span) fields, so the log line joins the trace."""
        fields = {TRACE_FIELD: f"projects/{project or '-'}/traces/{self.trace_id}"}
        if self.span_id:
            fields[SPAN_FIELD] = self.span_id
        return fields

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> TraceContext | None:
        """An incoming HTTP call's trace; X-Cloud-Trace-Context first, as in the logs."""
        return _cloud_trace(headers.get("x-cloud-trace-context")) or _traceparent(
            headers.get("traceparent")
        )

    @classmethod
    def from_attributes(cls, attributes: Any) -> TraceContext | None:
        """The trace a Pub/Sub message carries in its attributes, if any."""
        if not isinstance(attributes, Mapping):
            return None
        for name in TRACEPARENT_ATTRIBUTES:
            value = attributes.get(name)
            context = _traceparent(value if isinstance(value, str) else None)
            if context is not None:
                return context
        return None


def _traceparent(value: str | None) -> TraceContext | None:
    if not value or len(value) > MAX_HEADER_CHARS:
        return None
    match = _TRACEPARENT.fullmatch(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, _flags, rest = match.groups()
    # Version ff is forbidden; version 00 has nothing after the flags; later ones may add fields.
    if version == "ff" or (version == "00" and rest):
        return None
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
        return None
    return TraceContext(trace_id, span_id)


def _cloud_trace(value: str | None) -> TraceContext | None:
    if not value or len(value) > MAX_HEADER_CHARS:
        return None
    match = _CLOUD_TRACE.fullmatch(value.strip())
    if match is None:
        return None
    trace_id = match.group(1).lower()
    if trace_id == _ZERO_TRACE:
        return None
    span = match.group(2)
    # The span id is decimal here; OpenTelemetry wants it as 16 hex digits (0 means none).
    span_id = f"{int(span):016x}" if span and 0 < int(span) < 2**64 else None
    return TraceContext(trace_id, span_id)
