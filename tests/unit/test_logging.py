"""Logging in this process: the JSON line, secret scrubbing, levels, the set-up and its hooks.
(The trace header parser: test_logging_trace.py; what real function processes write:
tests/process/test_logging_process.py.)"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from handlers import run_after
from relay import ConfigError, Settings
from relay import logs as logformat
from relay.logs import (
    ACCESS_LOGGERS,
    OWN_LOGGERS,
    SERVER_LOGGERS,
    JsonHandler,
    log,
    redact,
    register_secret,
)
from relay.scrub import MIN_PIECE_CHARS, scrub_tree
from relay.settings import log_level_from_env

SECRET = "log-test-secret-5e4d3c2b1a"
QUOTED_SECRET = 'log-"quoted"\\secret-99'
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def lines() -> Iterator[Lines]:
    """The JSON lines the `relay` logger writes during the test, through a handler of its own."""
    stream = io.StringIO()
    handler = JsonHandler(stream)
    logger = logging.getLogger("relay")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put back everything configure_logging changes process-wide."""
    names = ["", *OWN_LOGGERS, *SERVER_LOGGERS, *ACCESS_LOGGERS]
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.handlers[:], lg.level, lg.propagate, lg.disabled) for lg in loggers]
    hooks = (sys.excepthook, threading.excepthook, logging.lastResort)
    flags = (logging.logThreads, logging.logProcesses, logging.logMultiprocessing)
    yield
    for logger, (handlers, level, propagate, disabled) in zip(loggers, saved, strict=True):
        logger.handlers, logger.propagate, logger.disabled = handlers, propagate, disabled
        logger.setLevel(level)
    sys.excepthook, threading.excepthook, logging.lastResort = hooks
    logging.logThreads, logging.logProcesses, logging.logMultiprocessing = flags
    logging.captureWarnings(False)
    logformat._handler = None


def test_line_shape(lines: Lines) -> None:
    """severity, message, the fields (None dropped), time; the relay's lines name no logger."""
    log("INFO", "prompt completed", request_id="r1", usage={"total_tokens": 3}, model=None)
    (line,) = lines()
    assert list(line) == ["severity", "message", "request_id", "usage", "time"]
    assert (line["severity"], line["message"], line["usage"]) == (
        "INFO",
        "prompt completed",
        {"total_tokens": 3},
    )
    assert TIME.match(line["time"]), line["time"]


def test_fields_cannot_replace_severity_or_message(lines: Lines) -> None:
    """A field named like a reserved key does not change what the line is."""
    log("ERROR", "real message", severity="DEBUG", message="fake")
    (line,) = lines()
    assert (line["severity"], line["message"]) == ("ERROR", "real message")


@pytest.mark.parametrize(
    ("severity", "expected"),
    [("debug", "DEBUG"), ("NOTICE", "INFO"), ("warning", "WARNING"), ("ALERT", "CRITICAL")],
)
def test_cloud_severities_map_to_levels(lines: Lines, severity: str, expected: str) -> None:
    """Cloud Logging's severity names (any case) are accepted; unknown ones log at INFO."""
    log(severity, "m")
    log("LOUD", "unknown")
    assert [line["severity"] for line in lines()] == [expected, "INFO"]


def test_debug_lines_follow_the_level(lines: Lines) -> None:
    """DEBUG lines (retries) are silenced above DEBUG: the logger's level decides."""
    logging.getLogger("relay").setLevel(logging.INFO)
    log("DEBUG", "retrying upstream call")
    log("INFO", "kept")
    assert [line["message"] for line in lines()] == ["kept"]


def test_secret_scrubbed_from_message_fields_and_traceback(lines: Lines) -> None:
    """A registered secret is replaced everywhere: message, nested fields, traceback, causes."""
    register_secret(SECRET)
    try:
        try:
            raise KeyError(f"cause {SECRET}")
        except KeyError as cause:
            raise ValueError(f"outer {SECRET}") from cause
    except ValueError as exc:
        log("ERROR", f"failed {SECRET}", exc=exc, nested={"a": [f"x{SECRET}y"]})
    (line,) = lines()
    text = json.dumps(line)
    assert SECRET not in text
    assert line["message"] == "failed [REDACTED]"
    assert line["nested"] == {"a": ["x[REDACTED]y"]}
    stack = line["stack_trace"]
    assert stack.startswith("Traceback (most recent call last):")
    assert "KeyError: 'cause [REDACTED]'" in stack
    assert "The above exception was the direct cause of the following exception" in stack
    assert stack.rstrip().endswith("ValueError: outer [REDACTED]")


def test_secret_with_json_escapes_is_scrubbed(lines: Lines) -> None:
    """A secret holding a quote or backslash is caught in its escaped form inside the line."""
    register_secret(QUOTED_SECRET)
    log("WARNING", "m", value=QUOTED_SECRET)
    assert lines()[0]["value"] == "[REDACTED]"
    assert redact(f"a{QUOTED_SECRET}b") == "a[REDACTED]b"


def test_short_values_are_not_secrets() -> None:
    """Values under 8 characters are not registered: they would blank out ordinary words."""
    register_secret("short")
    assert redact("a short word") == "a short word"


def test_unicode_line_breaks_stay_inside_the_line(lines: Lines) -> None:
    """U+0085, U+2028 and U+2029 (legal raw in JSON) are escaped: one line for every reader."""
    text = "a\x85b\u2028c\u2029d\ne"
    handler = logging.getLogger("relay").handlers[-1]
    log("WARNING", text, error=text)
    assert isinstance(handler, JsonHandler)
    raw = handler.stream.getvalue()
    assert len(raw.splitlines()) == 1, raw
    (line,) = lines()
    assert (line["message"], line["error"]) == (text, text)


def test_unencodable_field_keeps_the_line(lines: Lines) -> None:
    """An object becomes its str; a field msgspec refuses costs the fields, never the line."""
    looped: dict[str, Any] = {}
    looped["self"] = looped
    log("INFO", "objects", thing=ValueError("x"), key={(1, 2): "tuple key"})
    log("INFO", "a loop", looped=looped)
    first, second = lines()
    assert (first["thing"], first["key"]) == ("x", {"(1, 2)": "tuple key"})
    assert (second["message"], second["log_error"]) == ("a loop", "RecursionError")


def test_text_traceback_moves_to_stack_trace() -> None:
    """functions-framework logs "Exception on / [POST]" with the traceback as text."""
    text = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: boom'
    record = logging.LogRecord(
        "root", logging.ERROR, "", 0, f"Exception on / [POST]\n{text}", (), None
    )
    line = json.loads(logformat.JsonFormatter().format(record))
    assert (line["message"], line["stack_trace"], line["logger"]) == (
        "Exception on / [POST]",
        text,
        "root",
    )
    bare = logging.LogRecord("root", logging.ERROR, "", 0, text, (), None)
    assert json.loads(logformat.JsonFormatter().format(bare))["message"] == "ValueError: boom"
    # A caller's text in the relay's own line stays the message: no fake Error Reporting entry.
    own = logging.LogRecord("relay", logging.WARNING, "", 0, f"unknown field {text}", (), None)
    assert "stack_trace" not in json.loads(logformat.JsonFormatter().format(own))


@pytest.mark.parametrize(
    ("level", "severity"),
    [(5, "DEBUG"), (10, "DEBUG"), (25, "INFO"), (30, "WARNING"), (45, "ERROR"), (60, "CRITICAL")],
)
def test_levels_between_names(level: int, severity: str) -> None:
    """uvicorn's TRACE (5) and custom levels land on the nearest Cloud Logging severity."""
    record = logging.LogRecord("x", level, "", 0, "m", (), None)
    assert json.loads(logformat.JsonFormatter().format(record))["severity"] == severity


def test_access_record_carries_http_request() -> None:
    """uvicorn's access line also becomes Cloud Logging's httpRequest."""
    args = ("127.0.0.1:5000", "POST", "/?a=1", "1.1", 200)
    record = logging.LogRecord("uvicorn.access", 20, "", 0, '%s - "%s %s HTTP/%s" %d', args, None)
    line = json.loads(logformat.JsonFormatter().format(record))
    assert line["message"] == '127.0.0.1:5000 - "POST /?a=1 HTTP/1.1" 200'
    assert line["httpRequest"] == {
        "requestMethod": "POST",
        "requestUrl": "/?a=1",
        "protocol": "HTTP/1.1",
        "status": 200,
        "remoteIp": "127.0.0.1",
    }


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO, logging.ERROR])
def test_configure_logging_levels(level: int) -> None:
    """Own and server loggers at LOG_LEVEL; libraries at WARNING; access lines only at DEBUG."""
    stream = io.StringIO()
    handler = logformat.configure_logging(level, stream)
    root = logging.getLogger()
    assert root.handlers == [handler]
    assert isinstance(logging.lastResort, JsonHandler)
    assert logging.lastResort.level == logging.WARNING
    assert root.level == (logging.DEBUG if level == logging.DEBUG else max(level, logging.WARNING))
    assert logging.getLogger("relay").level == level
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        assert (logger.handlers, logger.level, logger.propagate) == ([handler], level, False)
    access = logging.getLogger("uvicorn.access")
    assert access.level == (logging.INFO if level == logging.DEBUG else logging.WARNING)
    logging.getLogger("httpx").info("HTTP Request: POST ...")
    chatty = "HTTP Request" in stream.getvalue()
    assert chatty == (level == logging.DEBUG)


@pytest.mark.usefixtures("restore_logging")
def test_reapply_undoes_a_server_setup() -> None:
    """After a server swaps in plain-text handlers (as gunicorn and uvicorn do), reapply() puts
    the JSON handler back, on a new list, and re-enables a logger dictConfig disabled."""
    handler = logformat.configure_logging(logging.INFO, io.StringIO())
    gunicorn, uvicorn = logging.getLogger("gunicorn.error"), logging.getLogger("uvicorn.error")
    plain = logging.StreamHandler(io.StringIO())
    gunicorn.handlers = [plain]
    uvicorn.handlers = gunicorn.handlers  # uvicorn's gunicorn worker shares the list
    logging.getLogger("relay").disabled = True
    logformat.reapply()
    assert gunicorn.handlers == [handler] and uvicorn.handlers == [handler]
    assert gunicorn.handlers is not uvicorn.handlers
    assert not logging.getLogger("relay").disabled


@pytest.mark.usefixtures("restore_logging")
def test_uncaught_exceptions_and_warnings_are_json_lines() -> None:
    """sys.excepthook, threading.excepthook and warnings all write one JSON line."""
    stream = io.StringIO()
    logformat.configure_logging(logging.INFO, stream)
    try:
        raise OSError("disk gone")
    except OSError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    thread = threading.Thread(target=lambda: 1 / 0, name="worker-x")
    thread.start()
    thread.join()
    logging.getLogger("py.warnings").warning("a warning")  # what captureWarnings(True) routes
    found = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["severity"], line["message"]) for line in found] == [
        ("CRITICAL", "uncaught exception"),
        ("CRITICAL", "uncaught exception in thread worker-x"),
        ("WARNING", "a warning"),
    ]
    assert found[0]["stack_trace"].endswith("OSError: disk gone")
    assert "ZeroDivisionError" in found[1]["stack_trace"]


def test_run_after_hooks_a_method_once() -> None:
    """The server hook runs `then` after the original method, however often it is installed."""
    calls: list[str] = []

    class Server:
        def setup(self, value: str) -> str:
            calls.append(f"setup {value}")
            return value.upper()

    module = type(sys)("fake_server_module")
    module.Server = Server  # type: ignore[attr-defined]
    sys.modules["fake_server_module"] = module
    try:
        for _ in range(2):
            run_after("fake_server_module", "Server", "setup", lambda: calls.append("then"))
        run_after("no_such_module_here", "Server", "setup", lambda: calls.append("never"))
        assert Server().setup("x") == "X"
    finally:
        del sys.modules["fake_server_module"]
    assert calls == ["setup x", "then"]


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, "INFO"), ("debug", "DEBUG"), (" Warning ", "WARNING")]
)
def test_log_level_setting(raw: str | None, expected: str) -> None:
    """LOG_LEVEL defaults to INFO and is read in any case."""
    env = {"AIG_TOKEN": "t" * 20, "AIG_BASE_URL": "http://127.0.0.1:1/openai"}
    if raw is not None:
        env["LOG_LEVEL"] = raw
    assert log_level_from_env(env) == expected
    assert Settings.from_env(env).log_level == expected


@pytest.mark.parametrize("raw", ["LOUD", "5", "TRACE"])
def test_bad_log_level_names_the_setting(raw: str) -> None:
    """A bad LOG_LEVEL is a ConfigError that names it and the accepted values."""
    with pytest.raises(ConfigError, match=r"LOG_LEVEL must be one of DEBUG, INFO"):
        log_level_from_env({"LOG_LEVEL": raw})


def test_scrub_tree_finds_pieces_in_any_string_and_none_across_two() -> None:
    """A tree is searched in one pass over its strings joined, with the same answer as string by
    string: a piece in a nested key or value is replaced; two short runs of a secret in two
    strings, adjacent once joined, are no piece."""
    register_secret(SECRET)
    short = MIN_PIECE_CHARS - 1
    tree = {"a": [{"k": SECRET[:short]}, SECRET[short : 2 * short]], "ok": 1}
    assert scrub_tree(tree) is tree
    leaking = {"a": [{f"k{SECRET[1:10]}": "v"}], "b": [None, f"x{SECRET}"]}
    assert scrub_tree(leaking) == {"a": [{"k[REDACTED]": "v"}], "b": [None, "x[REDACTED]"]}
