"""A real `functions-framework` process serving main.py, for tests that go over sockets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from tests._paths import ROOT

# Every answer text and log file the session produced, for the final secret scan.
ANSWERS: list[str] = []
LOG_FILES: list[Path] = []

# How long a server gets to start answering before the test fails (it is polled, not slept on).
START_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FunctionServer:
    """`functions-framework --target=<target>` as Cloud Functions runs it, on 127.0.0.1."""

    def __init__(self, target: str, env: Mapping[str, str], log_path: Path) -> None:
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        bin_dir = Path(sys.executable).parent
        full_env = {
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            # HOST keeps the server on loopback; the command line stays the plain one.
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        LOG_FILES.append(log_path)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [str(bin_dir / "functions-framework"), f"--target={target}"],
            cwd=ROOT,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"function exited early:\n{self.log_path.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)  # polling interval while the port is not yet open
        raise RuntimeError(f"function did not start:\n{self.log_path.read_text()}")

    def post(self, body: Any = None, *, raw: bytes | None = None, **kwargs: Any) -> httpx.Response:
        """POST a JSON body (or raw bytes) to the function."""
        headers = {"content-type": "application/json", **kwargs.pop("headers", {})}
        content = raw if raw is not None else json.dumps(body).encode()
        response = httpx.post(self.url, content=content, headers=headers, timeout=60, **kwargs)
        ANSWERS.append(f"{response.headers}\n{response.text}")
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
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


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
