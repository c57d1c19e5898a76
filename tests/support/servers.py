"""A real `functions-framework` process serving main.py, for tests that go over sockets."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from emulators.stack import (
    ROOT,
    StartError,
    free_port,
    function_command,
    process_env,
    stop_process,
    wait_for_port,
)
from tests.support.constants import SECRET_VALUES
from tests.support.openapi import check_exchange

# Every answer text and log file the session produced, for the final secret scan.
ANSWERS: list[str] = []
LOG_FILES: list[Path] = []

__all__ = [
    "ANSWERS",
    "LOG_FILES",
    "FunctionServer",
    "ServerFactory",
    "assert_no_secret",
    "free_port",
    "scan_for_secrets",
]


class FunctionServer:
    """`functions-framework --target=<target>` as Cloud Functions runs it, on 127.0.0.1."""

    def __init__(self, target: str, env: Mapping[str, str], log_path: Path) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        LOG_FILES.append(log_path)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            function_command(target),
            cwd=ROOT,
            # Unbuffered, so a test reads each log line as soon as it is written.
            env=process_env(self.port) | {"PYTHONUNBUFFERED": "1"} | dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(self.process, self.port)
        except StartError as exc:
            self.stop()
            raise RuntimeError(f"function {exc}:\n{self.log_path.read_text()}") from exc

    def post(self, body: Any = None, *, raw: bytes | None = None, **kwargs: Any) -> httpx.Response:
        """POST a JSON body (or raw bytes) to the function."""
        headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
        content = raw if raw is not None else json.dumps(body).encode()
        return self.request("POST", content=content, headers=headers, **kwargs)

    def request(self, method: str, **kwargs: Any) -> httpx.Response:
        """Any request; the exchange is checked against openapi.yaml (tests/support/openapi.py)."""
        response = httpx.request(method, self.url, timeout=60, **kwargs)
        ANSWERS.append(f"{response.headers}\n{response.text}")
        check_exchange(response)
        return response

    def log_lines(self) -> list[dict[str, Any]]:
        """Every JSON log line the process wrote so far (other lines skipped)."""
        lines = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    lines.append(json.loads(line))
                except ValueError:
                    continue
        return lines

    def log_for(self, request_id: str) -> dict[str, Any]:
        """The request's log line, waiting briefly for it to be flushed."""
        deadline = time.monotonic() + 5
        while True:
            for line in self.log_lines():
                if line.get("request_id") == request_id and "outcome" in line:
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no log line for {request_id}")
            time.sleep(0.02)  # polling interval for the log file

    def stop(self) -> None:
        stop_process(self.process)
        self._log.close()


# What the `serve` fixture hands a test: start (or reuse) a function process.
ServerFactory = Callable[..., FunctionServer]


def assert_no_secret(response: httpx.Response, *log_lines: dict[str, Any]) -> None:
    """No secret value in the answer's body or headers, nor in the given log lines."""
    text = response.text + str(response.headers) + json.dumps(log_lines)
    for value in SECRET_VALUES:
        assert value not in text


def scan_for_secrets(values: tuple[str, ...]) -> list[str]:
    """Where any of `values` appears in a recorded answer or a captured log file."""
    hits: list[str] = []
    for index, text in enumerate(ANSWERS):
        hits.extend(f"answer #{index}" for value in values if value in text)
    for path in LOG_FILES:
        text = path.read_text(errors="replace") if path.exists() else ""
        hits.extend(f"{path}" for value in values if value in text)
    return hits


def non_json_lines() -> list[str]:
    """Every captured log line that is not one JSON object with a `severity` and a `message`."""
    bad: list[str] = []
    for path in LOG_FILES:
        text = path.read_text(errors="replace") if path.exists() else ""
        for number, line in enumerate(text.splitlines(), 1):
            try:
                data = json.loads(line)
            except ValueError:
                data = None
            if not (
                isinstance(data, dict)
                and isinstance(data.get("severity"), str)
                and isinstance(data.get("message"), str)
            ):
                bad.append(f"{path.name}:{number}: {line[:200]}")
    return bad
