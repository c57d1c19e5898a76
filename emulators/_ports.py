"""Child servers on 127.0.0.1: a free port, waiting (by polling) until a started process opens
one, and stopping a process by its own pid."""

from __future__ import annotations

import socket
import subprocess
import time

__all__ = ["START_TIMEOUT_SECONDS", "StartError", "free_port", "stop_process", "wait_for_port"]

START_TIMEOUT_SECONDS = 30.0
# How long a stopped process gets to exit on SIGTERM before it is killed.
STOP_TIMEOUT_SECONDS = 10.0
# Polling interval while a started server's port is not yet open.
_POLL_SECONDS = 0.05


class StartError(RuntimeError):
    """A server process exited during start-up, or did not open its port in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(
    process: subprocess.Popen[bytes], port: int, *, timeout: float = START_TIMEOUT_SECONDS
) -> None:
    """Poll until `process` accepts connections on 127.0.0.1:`port`; StartError if it cannot."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartError(f"exited during start-up (status {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(_POLL_SECONDS)
    raise StartError(f"did not open port {port} in {timeout:g} s")


def stop_process(
    process: subprocess.Popen[bytes], *, timeout: float = STOP_TIMEOUT_SECONDS
) -> None:
    """SIGTERM `process` (if it still runs) and wait for it; SIGKILL it if it does not exit."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
