"""Ports on 127.0.0.1: a free one, and waiting (by polling) until a started process opens one."""

from __future__ import annotations

import socket
import subprocess
import time

__all__ = ["START_TIMEOUT_SECONDS", "StartError", "free_port", "wait_for_port"]

START_TIMEOUT_SECONDS = 30.0
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
