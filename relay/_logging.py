"""Logs through the standard library: `log()` for the relay's own lines, secrets kept out.

Every line is one JSON object in the shape Cloud Logging reads (see `_logformat`, which also
configures the root, server and framework loggers). Secrets are kept out twice over: nothing here
is handed a secret on purpose, and every line is scrubbed of the secret values this process has
fetched before it is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from ._scrub import REDACTED, register_secret
from ._scrub import scrub as redact

__all__ = [
    "FIELDS_ATTR",
    "LOGGER_NAME",
    "REDACTED",
    "SPAN_FIELD",
    "TRACE_FIELD",
    "log",
    "redact",
    "register_secret",
    "trace_field",
]

TRACE_FIELD = "logging.googleapis.com/trace"
SPAN_FIELD = "logging.googleapis.com/spanId"
# The logger `log()` writes to; the level of its lines follows LOG_LEVEL.
LOGGER_NAME = "relay"
# A record's structured fields travel in this attribute (`extra={"json_fields": {...}}`), the
# name google-cloud-logging's own handlers read, so other code can add fields the same way.
FIELDS_ATTR = "json_fields"
# Cloud Logging severities (and the level names logging knows) onto logging levels.
_LEVELS = {
    "DEFAULT": logging.INFO,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "NOTICE": logging.INFO,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "CRITICAL": logging.CRITICAL,
    "ALERT": logging.CRITICAL,
    "EMERGENCY": logging.CRITICAL,
}
# A real trace header is under 100 characters; anything far longer is ignored unread.
_MAX_TRACE_HEADER_CHARS = 256
# TRACE_ID[/SPAN_ID][;o=OPTIONS], the span id a decimal 64-bit number (at most 20 digits).
_CLOUD_TRACE = re.compile(r"([0-9a-fA-F]{32})(?:/([0-9]{1,20}))?(?:;o=[0-9]{1,3})?")
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_ZERO_TRACE = "0" * 32

_logger = logging.getLogger(LOGGER_NAME)


def log(severity: str, message: str, /, *, exc: BaseException | None = None, **fields: Any) -> None:
    """One JSON log line: `severity`, `message`, then `fields` (None values dropped).

    `exc` adds its traceback, causes included, as the `stack_trace` field Error Reporting reads.
    """
    level = _LEVELS.get(severity) or _LEVELS.get(severity.upper(), logging.INFO)
    if not _logger.isEnabledFor(level):
        return
    kept = {key: value for key, value in fields.items() if value is not None}
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    # The record is made directly: Logger.log would walk the stack for a source file and line
    # that no line prints, a third of the cost of a request's line.
    record = _logger.makeRecord(
        LOGGER_NAME, level, "", 0, message, (), exc_info, extra={FIELDS_ATTR: kept}
    )
    _logger.handle(record)


def trace_field(headers: Mapping[str, str], project: str | None) -> dict[str, str]:
    """Cloud Logging's trace (and span) fields from X-Cloud-Trace-Context or traceparent.

    A malformed or oversized header is ignored: tracing never costs a request.
    """
    trace_id = span_id = None
    cloud = _bounded(headers.get("x-cloud-trace-context"))
    parent = _bounded(headers.get("traceparent"))
    if cloud and (match := _CLOUD_TRACE.fullmatch(cloud)):
        trace_id = match.group(1).lower()
        # X-Cloud-Trace-Context carries the span id in decimal; Cloud Logging wants 16 hex digits.
        span = match.group(2)
        span_id = f"{int(span):016x}" if span and int(span) < 2**64 else None
    elif parent and (match := _TRACEPARENT.fullmatch(parent.lower())):
        version, trace_id, span_id = match.groups()
        # W3C: version ff and all-zero ids are invalid.
        if version == "ff" or span_id == "0" * 16:
            trace_id = span_id = None
    if trace_id is None or trace_id == _ZERO_TRACE:
        return {}
    fields = {TRACE_FIELD: f"projects/{project or '-'}/traces/{trace_id}"}
    if span_id:
        fields[SPAN_FIELD] = span_id
    return fields


def _bounded(value: str | None) -> str | None:
    if value is None or len(value) > _MAX_TRACE_HEADER_CHARS:
        return None
    return value.strip()
