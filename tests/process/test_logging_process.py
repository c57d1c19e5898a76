"""What real functions-framework processes write: every line JSON, from start-up to shutdown,
tracebacks as `stack_trace` (causes kept, secrets scrubbed), levels from LOG_LEVEL, and trace
headers that cannot break a request. Over real sockets, against both emulators."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.calls import pubsub_data, send
from tests.support.constants import TOKEN
from tests.support.paths import ROOT
from tests.support.servers import FunctionServer, ServerFactory

CRASH_APP = ROOT / "tests" / "fixtures" / "apps" / "crash_app.py"


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def all_lines(server: FunctionServer) -> list[dict[str, Any]]:
    """Every line the process wrote, each required to be a JSON object with severity and
    message (a line that is not fails the test)."""
    found = []
    for line in server.log_path.read_text(errors="replace").splitlines():
        data = json.loads(line)
        assert isinstance(data, dict) and {"severity", "message"} <= data.keys(), line
        found.append(data)
    return found


@pytest.fixture(scope="module")
def crash_server(log_dir: Path) -> Any:
    """A function that fails on purpose (tests/fixtures/apps/crash_app.py), its secret TOKEN."""
    env = {
        "FUNCTION_SOURCE": str(CRASH_APP),
        "PYTHONPATH": str(ROOT),
        "CRASH_SECRET": TOKEN,
    }
    server = FunctionServer("crash_event", env, log_dir / "crash-event.log")
    yield server
    server.stop()


def crash(server: FunctionServer, kind: str) -> httpx.Response:
    headers = {"ce-specversion": "1.0", "ce-type": kind, "ce-source": "test", "ce-id": nonce()}
    return httpx.post(server.url, json={}, headers=headers, timeout=30)


@pytest.mark.parametrize(
    "header",
    [
        ("x-cloud-trace-context", f"{'a' * 32}/{'1' * 4400};o=1"),
        ("x-cloud-trace-context", "b" * 32 + "/" + "9" * 30),
        ("traceparent", f"00-{'c' * 32}-{'d' * 16}-01" + "0" * 5000),
    ],
    ids=["span-4400-digits", "span-30-digits", "traceparent-5000-chars"],
)
def test_malformed_trace_header_is_ignored(serve: ServerFactory, header: tuple[str, str]) -> None:
    """An oversized or malformed trace header neither fails the request nor reaches
    the log line; the answer is the ordinary JSON result."""
    server = serve()
    request_id = f"trace-{nonce()}"
    response = server.post({"prompt": "hi", "request_id": request_id}, headers=dict([header]))
    assert response.status_code == 200, response.text
    assert response.json()["ok"] is True
    line = server.log_for(request_id)
    assert "logging.googleapis.com/trace" not in line
    assert "logging.googleapis.com/spanId" not in line
    assert not [line for line in all_lines(server) if "stack_trace" in line]


def test_exception_from_a_cloudevent_function_is_one_json_line(
    crash_server: FunctionServer,
) -> None:
    """An exception raised from a CloudEvent function is logged once, as one JSON
    line whose stack_trace keeps the cause and none of the secret."""
    before = len(all_lines(crash_server))
    response = crash(crash_server, "raise")
    assert response.status_code == 500
    assert TOKEN not in response.text and "Traceback" not in response.text
    errors = [line for line in all_lines(crash_server)[before:] if "stack_trace" in line]
    assert len(errors) == 1, errors
    (line,) = errors
    assert (line["severity"], line["message"]) == ("ERROR", "Exception on / [POST]")
    stack = line["stack_trace"]
    assert stack.startswith("Traceback (most recent call last):")
    assert "crash_app.StoreDown: store refused [REDACTED]" in stack
    assert "The above exception was the direct cause of the following exception" in stack
    assert stack.rstrip().endswith("RuntimeError: handling broke after [REDACTED]")
    assert TOKEN not in json.dumps(line)


@pytest.mark.parametrize(
    ("kind", "severity", "message"),
    [
        ("thread", "CRITICAL", "uncaught exception in thread crash-thread"),
        ("warn", "WARNING", "odd thing near [REDACTED]"),
        ("orphan", "WARNING", "no handler here, [REDACTED]"),
    ],
)
def test_failures_beside_the_request_are_json_lines(
    crash_server: FunctionServer, kind: str, severity: str, message: str
) -> None:
    """A thread's uncaught exception, a warning, a logger with no handler: each one JSON line."""
    before = len(all_lines(crash_server))
    assert crash(crash_server, kind).status_code == 200
    new = [line for line in all_lines(crash_server)[before:] if line["severity"] == severity]
    assert any(message in line["message"] for line in new), new


def test_uncaught_exception_at_startup_is_a_json_line() -> None:
    """sys.excepthook: a process that dies of an exception still writes only JSON."""
    code = (
        "from handlers._logsetup import setup_logging; from relay.logs import register_secret;"
        f"setup_logging(); register_secret({TOKEN!r}); raise ValueError('boom ' + {TOKEN!r})"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == ""
    (line,) = [json.loads(text) for text in done.stdout.splitlines()]
    assert (line["severity"], line["message"]) == ("CRITICAL", "uncaught exception")
    assert line["stack_trace"].endswith("ValueError: boom [REDACTED]")


def test_server_lines_are_json_from_start_to_shutdown(log_dir: Path) -> None:
    """gunicorn's and uvicorn's own start-up and shutdown lines are JSON lines at INFO."""
    server = FunctionServer("prompt", {"AIG_TOKEN": TOKEN}, log_dir / "lifecycle.log")
    # gunicorn opens the port before its worker has started: one answer means the worker is up.
    assert server.post({"prompt": "hi"}).status_code == 500  # config_error: no gateway set
    server.stop()
    lines = all_lines(server)
    loggers = {line.get("logger") for line in lines}
    assert {"gunicorn.error", "uvicorn.error"} <= loggers, lines
    messages = [line["message"] for line in lines]
    assert any(m.startswith("Booting worker") for m in messages), messages
    assert "Application startup complete." in messages
    assert any(m.startswith("Shutting down") for m in messages), messages


def test_debug_level_adds_retries_and_access_lines(serve: ServerFactory) -> None:
    """LOG_LEVEL=DEBUG shows the retry lines and uvicorn's access lines, as JSON."""
    server = serve(LOG_LEVEL="DEBUG")
    request_id = f"dbg-{nonce()}"
    body: dict[str, Any] = {"prompt": "hi", "request_id": request_id}
    body["metadata"] = {"emulator_fault": "503,ok", "nonce": request_id}
    assert server.post(body).status_code == 200
    assert server.log_for(request_id)["attempts"] == 2
    lines = all_lines(server)
    retries = [line for line in lines if line.get("event") == "upstream_retry"]
    assert retries and retries[-1]["severity"] == "DEBUG"
    access = [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert access and access[-1]["httpRequest"]["requestMethod"] == "POST"


def test_info_level_hides_retries(serve: ServerFactory) -> None:
    """At the default level the retry happens but writes no DEBUG line, nor an access line."""
    server = serve()
    request_id = f"info-{nonce()}"
    body: dict[str, Any] = {"prompt": "hi", "request_id": request_id}
    body["metadata"] = {"emulator_fault": "503,ok", "nonce": request_id}
    assert server.post(body).status_code == 200
    assert server.log_for(request_id)["attempts"] == 2
    lines = all_lines(server)
    assert not [line for line in lines if line["severity"] == "DEBUG"]
    assert not [line for line in lines if line.get("logger") == "uvicorn.access"]


def test_bad_log_level_is_reported_in_json(serve: ServerFactory) -> None:
    """A bad LOG_LEVEL: the process still starts, says so in a JSON line, and answers
    config_error."""
    server = serve(LOG_LEVEL="LOUD")
    response = server.post({"prompt": "hi"})
    assert (response.status_code, response.json()["error"]["type"]) == (500, "config_error")
    assert "LOG_LEVEL" in response.json()["error"]["message"]
    startup = [line for line in all_lines(server) if line.get("event") == "config_error"]
    assert startup and "LOG_LEVEL" in startup[0]["message"]


def test_retryable_event_failure_is_one_warning_not_a_traceback(serve: ServerFactory) -> None:
    """A retryable event failure answers 500 with one WARNING line and no crash traceback."""
    server = serve(target="prompt_event", MAX_RETRIES="0")
    message_id = uuid.uuid4().hex
    body = {"prompt": "hi", "metadata": {"emulator_fault": "503,ok", "nonce": message_id}}
    before = len(all_lines(server))
    assert send(server, pubsub_data(body, message_id)).status_code == 500
    new = all_lines(server)[before:]
    assert not [line for line in new if "stack_trace" in line], new
    warnings = [line for line in new if line["message"].startswith("message failed transiently")]
    assert len(warnings) == 1 and message_id in warnings[0]["error"]
