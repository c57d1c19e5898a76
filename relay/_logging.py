"""Structured logs: one JSON object per line on stdout, in the shape Cloud Logging reads.

Secrets are kept out twice over: nothing here is ever handed a secret on purpose, and every line
is scrubbed of the secret values this process has fetched before it is written.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

import msgspec

from ._scrub import REDACTED, register_secret
from ._scrub import scrub as redact

__all__ = [
    "REDACTED",
    "TRACE_FIELD",
    "log",
    "redact",
    "register_secret",
    "set_stream",
    "trace_field",
]

TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
_CLOUD_TRACE = re.compile(r"^([0-9a-fA-F]{32})(?:/([0-9]+))?")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")

_stream: TextIO | None = None
_encoder = msgspec.json.Encoder()


def set_stream(stream: TextIO | None) -> None:
    """Send log lines to `stream` (tests); None means stdout."""
    global _stream
    _stream = stream


def log(severity: str, message: str, **fields: Any) -> None:
    """Write one JSON log line: `severity`, `message`, then `fields` (None values dropped)."""
    record: dict[str, Any] = {"severity": severity, "message": message}
    record.update((key, value) for key, value in fields.items() if value is not None)
    record["time"] = _timestamp()
    try:
        line = redact(_encoder.encode(record).decode("utf-8", "replace"))
    except (TypeError, ValueError, RecursionError) as exc:
        # A field that cannot be encoded must not cost the line (nor the request) itself.
        line = redact(
            _encoder.encode(
                {"severity": severity, "message": message, "log_error": type(exc).__name__}
            ).decode()
        )
    stream = _stream or sys.stdout
    stream.write(line + "\n")
    stream.flush()


def trace_field(headers: Mapping[str, str], project: str | None) -> dict[str, str]:
    """Cloud Logging's trace (and span) fields from X-Cloud-Trace-Context or traceparent."""
    trace_id = span_id = None
    cloud = headers.get("x-cloud-trace-context")
    parent = headers.get("traceparent")
    if cloud and (match := _CLOUD_TRACE.match(cloud.strip())):
        trace_id = match.group(1).lower()
        # X-Cloud-Trace-Context carries the span id in decimal; Cloud Logging wants 16 hex digits.
        span = match.group(2)
        span_id = f"{int(span):016x}" if span and int(span) < 2**64 else None
    elif parent and (match := _TRACEPARENT.match(parent.strip().lower())):
        trace_id, span_id = match.group(1), match.group(2)
    if trace_id is None:
        return {}
    fields = {TRACE_FIELD: f"projects/{project or '-'}/traces/{trace_id}"}
    if span_id:
        fields[SPAN_FIELD] = span_id
    return fields


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
