"""What every in-process emulator shares: `with` starts and stops it, a threaded asyncio server
base (its own event loop in a daemon thread, started once it listens, stopped with every open
connection), and serving from the command line until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any, Self

__all__ = ["Lifecycle", "ThreadedAsyncServer", "serve_until_signalled"]

# How long stop() waits for the server's thread to wind down.
STOP_TIMEOUT_SECONDS = 10.0


class Lifecycle:
    """`with emulator:` starts it (unless it runs already) and stops it at the end."""

    @property
    def started(self) -> bool:
        raise NotImplementedError

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        if not self.started:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ThreadedAsyncServer(Lifecycle):
    """A TCP server on 127.0.0.1 with its own event loop in a daemon thread.

    Subclasses answer a connection in `_connection`; the base tracks open connections so `stop()`
    closes every one (stalled ones included) along with the listening socket.
    """

    name = "server"

    def __init__(self) -> None:
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"{self.name} not started")
        return self._port

    def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Serve on a background thread; returns the bound port once it accepts connections."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(self._serve(host, port, ready.set))
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()

        self._thread = threading.Thread(target=run, name=self.name.replace(" ", "-"), daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self.port

    def stop(self) -> None:
        """Close every connection (stalled ones included) and the listening socket."""
        loop, stopping, thread = self._loop, self._stopping, self._thread
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be gone
                loop.call_soon_threadsafe(stopping.set)
        if thread is not None:
            thread.join(timeout=STOP_TIMEOUT_SECONDS)
        self._thread = None

    async def _serve(self, host: str, port: int, on_ready: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(self._on_connection, host, port, backlog=1024)
        self._host = host
        self._port = server.sockets[0].getsockname()[1]
        on_ready()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await self._connection(reader, writer)
        except asyncio.CancelledError:
            # stop() cancels open connections. Ending quietly matters: on Python 3.11 the stream
            # server's done-callback calls task.exception(), which raises for a cancelled task.
            pass
        finally:
            self._connections.discard(task)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


def serve_until_signalled(name: str, start: Callable[[], str], stop: Callable[[], None]) -> int:
    """Run an emulator as a process of its own: `start()` it (it says where it listens), print
    that, serve until SIGINT or SIGTERM, then `stop()` it. 1 when it cannot start."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        where = start()
    except (OSError, RuntimeError) as exc:  # typically: the port is taken
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    print(f"{name} listening on {where}", flush=True)
    stopping.wait()
    stop()
    return 0
