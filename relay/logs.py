"""Logs: `log()` for the relay's own lines, and the standard library's logging made to write one
JSON object per line, secrets scrubbed.

`configure_logging` puts one handler (`JsonFormatter` + `SecretFilter`) on the root logger and on
the server's own loggers, so the relay's lines, the libraries', gunicorn's, uvicorn's and
functions-framework's (tracebacks included) all come out in Cloud Logging's shape:
`severity`, `message`, the record's fields, `time`, and a traceback as `stack_trace`, the field
Error Reporting reads first. Uncaught exceptions (`sys.excepthook`, `threading.excepthook`) and
warnings go the same way. Logger names only: no server or framework is imported here.

Secrets are kept out twice over: nothing here is handed a secret on purpose, and every line is
scrubbed of the secret values this process has fetched before it is written.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TextIO

import msgspec

from .scrub import REDACTED, register_secret
from .scrub import scrub as redact
from .tracing import SPAN_FIELD, TRACE_FIELD, TraceContext

__all__ = [
    "ACCESS_LOGGERS",
    "FIELDS_ATTR",
    "LOGGER_NAME",
    "OWN_LOGGERS",
    "REDACTED",
    "SERVER_LOGGERS",
    "SPAN_FIELD",
    "TRACE_FIELD",
    "JsonFormatter",
    "JsonHandler",
    "SecretFilter",
    "configure_logging",
    "log",
    "reapply",
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


# The server's loggers print plain text through handlers of their own. They get the JSON handler
# directly (not by propagation): gunicorn's uvicorn worker copies gunicorn.error's handler list
# onto uvicorn.error and turns that logger's propagation off.
SERVER_LOGGERS = ("gunicorn.error", "uvicorn", "uvicorn.error", "uvicorn.asgi")
# One line per request; the platform already writes its own request log, so only at DEBUG.
ACCESS_LOGGERS = ("gunicorn.access", "uvicorn.access")
# Loggers of this project: they log at LOG_LEVEL; libraries log WARNING and above unless DEBUG.
OWN_LOGGERS = (LOGGER_NAME, "functions_framework")

_SEVERITIES = (
    (logging.CRITICAL, "CRITICAL"),
    (logging.ERROR, "ERROR"),
    (logging.WARNING, "WARNING"),
    (logging.INFO, "INFO"),
)
_SEVERITY_OF_LEVEL = {level: name for level, name in _SEVERITIES} | {logging.DEBUG: "DEBUG"}
_STACK_START = "Traceback (most recent call last):"
# JSON allows these raw inside strings, but they end a line for str.splitlines() and for
# JavaScript: escaped, so a line is one line for every reader.
_LINE_BREAKS = (("\x85", "\\u0085"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


class SecretFilter(logging.Filter):
    """Scrubs known secret values from a record's message and traceback (it never drops one).

    The pattern of openai-python's SensitiveHeadersFilter; `JsonFormatter` scrubs the finished
    line once more, which covers the structured fields.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _format_exception(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One record as one line of JSON: severity, message, fields, logger, time, stack_trace."""

    def __init__(self) -> None:
        super().__init__()
        self._encoder = msgspec.json.Encoder(enc_hook=str)

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.endswith("\n"):
            message = message.rstrip()  # uvicorn's "Exception in ASGI application\n"
        stack: str | None = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _format_exception(record.exc_info)
        if record.exc_text:
            stack = record.exc_text
        elif record.name == "root" and _STACK_START in message:
            # functions-framework logs an exception as text: "Exception on / [POST]\nTraceback..."
            # (only there: a caller's text in the relay's own lines must not pose as a traceback)
            head, _, tail = message.partition(_STACK_START)
            stack = _STACK_START + tail
            message = head.rstrip() or tail.rstrip().rpartition("\n")[2]
        severity = _severity(record.levelno)
        data: dict[str, Any] = {"severity": severity, "message": message}
        fields = getattr(record, FIELDS_ATTR, None)
        if fields:
            data.update(fields)
            data["severity"], data["message"] = severity, message  # fields cannot replace these
        if record.name != LOGGER_NAME:
            data["logger"] = record.name
            if record.name in ACCESS_LOGGERS:
                data.update(_access_fields(record))
        data["time"] = _timestamp(record.created, record.msecs)
        if stack:
            data["stack_trace"] = stack
        if record.stack_info:
            data["stack_info"] = record.stack_info
        try:
            line = self._encoder.encode(data)
        except (TypeError, ValueError, RecursionError, OverflowError) as exc:
            # A field that cannot be encoded must not cost the line (nor the request) itself.
            fallback = {"severity": severity, "message": message, "log_error": type(exc).__name__}
            line = self._encoder.encode(fallback)
        text = line.decode("utf-8", "replace")
        if not text.isascii():  # searched as str: bytes.find is ~15 times slower for these
            for raw, escaped in _LINE_BREAKS:
                if raw in text:
                    text = text.replace(raw, escaped)
        return redact(text)


class JsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler with the JSON formatter and the secret filter built in."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream if stream is not None else sys.stdout)
        self.setFormatter(JsonFormatter())
        self.addFilter(SecretFilter())

    def emit(self, record: logging.LogRecord) -> None:
        # StreamHandler.emit, less a second lock round trip in flush(): handle() holds the lock.
        try:
            stream = self.stream
            stream.write(self.format(record) + "\n")
            stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        # The standard handler prints a plain-text traceback here; one JSON line says as much.
        error = sys.exc_info()[0]
        line = {"severity": "ERROR", "message": "a log line could not be written"}
        line["log_error"] = error.__name__ if error else "unknown"
        with contextlib.suppress(Exception):  # nowhere left to report it
            sys.stderr.write(msgspec.json.encode(line).decode() + "\n")


_handler: JsonHandler | None = None
_level = logging.INFO


def configure_logging(level: int = logging.INFO, stream: TextIO | None = None) -> JsonHandler:
    """Send every logger's lines through one JSON handler on `stream` (default stdout).

    `level` (LOG_LEVEL) applies to this project's loggers and the server's; other libraries log
    WARNING and above unless `level` is DEBUG. Returns the handler.
    """
    global _handler, _level
    _handler, _level = JsonHandler(stream), level
    # No line prints the thread or process (the logging docs' own list of savings).
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    reapply()
    logging.captureWarnings(True)
    # A logger left with no handler prints WARNING and above through this one: JSON too.
    logging.lastResort = JsonHandler(stream)
    logging.lastResort.setLevel(logging.WARNING)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    return _handler


def reapply() -> None:
    """Put the JSON handler back where a server's own logging set-up replaced it."""
    handler = _handler
    if handler is None:
        return
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(_level if _level <= logging.DEBUG else max(_level, logging.WARNING))
    for name in OWN_LOGGERS:
        _point(name, [], _level, propagate=True)
    for name in SERVER_LOGGERS:
        _point(name, [handler], _level, propagate=False)
    access_level = logging.INFO if _level <= logging.DEBUG else logging.WARNING
    for name in ACCESS_LOGGERS:
        _point(name, [handler], access_level, propagate=False)


def _point(name: str, handlers: list[logging.Handler], level: int, *, propagate: bool) -> None:
    logger = logging.getLogger(name)
    logger.handlers = handlers  # a new list: gunicorn's worker shares one between two loggers
    logger.setLevel(level)
    logger.propagate = propagate
    # A framework's dictConfig (LOG_EXECUTION_ID) disables loggers that existed before it.
    logger.disabled = False


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, value, tb)
        return
    logging.getLogger(LOGGER_NAME).critical("uncaught exception", exc_info=(kind, value, tb))


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread else "?"
    logging.getLogger(LOGGER_NAME).critical(
        f"uncaught exception in thread {name}",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def _format_exception(
    exc_info: tuple[type[BaseException], BaseException, TracebackType | None]
    | tuple[None, None, None],
) -> str:
    # The standard format, causes and contexts included: what Error Reporting parses for Python.
    return logging.Formatter().formatException(exc_info)


def _severity(levelno: int) -> str:
    severity = _SEVERITY_OF_LEVEL.get(levelno)
    if severity is not None:
        return severity
    for threshold, name in _SEVERITIES:
        if levelno >= threshold:
            return name
    return "DEBUG"  # uvicorn's TRACE (5) too


def _access_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Cloud Logging's httpRequest from uvicorn's access record (client, method, path, version,
    status)."""
    args = record.args
    if not (isinstance(args, tuple) and len(args) == 5):
        return {}
    client, method, path, version, status = args
    return {
        "httpRequest": {
            "requestMethod": str(method),
            "requestUrl": str(path),
            "protocol": f"HTTP/{version}",
            "status": status if isinstance(status, int) else None,
            "remoteIp": str(client).rpartition(":")[0] or str(client),
        }
    }


# (second, its formatted text): one tuple, so threads never see a second with another's text.
_clock: tuple[int, str] = (-1, "")


def _timestamp(created: float, msecs: float) -> str:
    """RFC 3339 in UTC with milliseconds; the seconds part is formatted once per second."""
    global _clock
    second, prefix = _clock
    if int(created) != second:
        second = int(created)
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        _clock = (second, prefix)
    return f"{prefix}.{int(msecs):03d}Z"
