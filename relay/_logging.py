"""Logs through the standard library: `log()` for the relay's own lines, secrets kept out.

Every line is one JSON object in the shape Cloud Logging reads (see `_logformat`, which also
configures the root, server and framework loggers). Secrets are kept out twice over: nothing here
is handed a secret on purpose, and every line is scrubbed of the secret values this process has
fetched before it is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._scrub import REDACTED, register_secret
from ._scrub import scrub as redact
from ._trace_context import SPAN_FIELD, TRACE_FIELD, TraceContext

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

    One parser for both uses (these fields, and the trace passed on to the gateway): see
    `TraceContext`. A malformed or oversized header is ignored: tracing never costs a request.
    """
    trace = TraceContext.from_headers(headers)
    return trace.log_fields(project) if trace is not None else {}
