"""A hostile HTTP/1.1 server on raw sockets (127.0.0.1), one thread per connection.

Requests to `/ok/<tag>` get a plain 200 whose body is the tag, so a client that is handed
somebody else's answer is caught. Any other path `/b/<name>` is played by the behaviour of
that name (behaviours.py): raw bytes, pauses and hang-ups that a well-behaved server never sends.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable

__all__ = ["HostileServer", "Peer", "Play", "ok_answer"]

READ_LIMIT = 1024 * 1024


def ok_answer(body: bytes, *, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n" % (len(body), extra) + body


class Peer:
    """One accepted connection, as a behaviour sees it."""

    def __init__(self, server: HostileServer, sock: socket.socket) -> None:
        self.server = server
        self.sock = sock
        self.buffer = b""
        self.played = False  # a behaviour ran on this connection
        self.client_closed = False

    def send(self, data: bytes) -> bool:
        """Write `data`; False once the client has gone."""
        try:
            self.sock.sendall(data)
        except OSError:
            self.client_closed = True
            return False
        return True

    def readable(self, timeout: float) -> bool:
        """Whether the client sent something (or hung up) within `timeout`."""
        if self.buffer:
            return True
        return bool(select.select([self.sock], [], [], timeout)[0])

    def wait_hang_up(self, timeout: float) -> bool:
        """Whether the client closed the connection within `timeout` (bytes it sends meanwhile
        are kept for the next request)."""
        until = time.monotonic() + timeout
        while (left := until - time.monotonic()) > 0:
            try:
                if not select.select([self.sock], [], [], left)[0]:
                    return False
            except (OSError, ValueError):  # the server closed this socket while shutting down
                self.client_closed = True
                return True
            if not self._fill():
                return self.client_closed
        return False

    def read_request(self) -> tuple[bytes, bytes] | None:
        """(path, whole request) of the next request, None when the client closed."""
        while b"\r\n\r\n" not in self.buffer:
            if not self._fill():
                return None
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            self.buffer = head + b"\r\n\r\n" + rest
            if not self._fill():
                return None
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
        self.buffer = rest[length:]
        path = head.split(b"\r\n", 1)[0].split(b" ")[1]
        return path, head + b"\r\n\r\n" + rest[:length]

    def _fill(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.client_closed = True
            return False
        if len(self.buffer) > READ_LIMIT:
            return False
        self.buffer += data
        return True


# A behaviour answers one request on `peer`; it returns whether the connection stays open.
Play = Callable[[Peer, bytes], bool]


class HostileServer:
    """Serves `/ok/<tag>` honestly and `/b/<name>` by `plays[name]`; records what it saw."""

    def __init__(self, plays: dict[str, Play]) -> None:
        self.plays = plays
        self.paths: list[bytes] = []
        self.connections = 0
        # Set by a test once its client has given up on a request (the cancel behaviours).
        self.client_left = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._peers: list[socket.socket] = []
        self._played: list[Peer] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, path: str, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def count(self, path: str) -> int:
        with self._lock:
            return self.paths.count(path.encode())

    def hung_up(self) -> bool:
        """Whether the client closed a connection a behaviour ran on."""
        with self._lock:
            return any(peer.client_closed for peer in self._played)

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._peers:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def wrap(self, sock: socket.socket) -> socket.socket:
        """The accepted socket as served (TLS servers override this)."""
        return sock

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._peers.append(sock)
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            sock = self.wrap(raw)
            peer = Peer(self, sock)
            while (got := peer.read_request()) is not None:
                path, request = got
                with self._lock:
                    self.paths.append(path)
                if path.startswith(b"/ok/"):
                    keep = peer.send(ok_answer(path[4:]))
                else:
                    peer.played = True
                    with self._lock:
                        self._played.append(peer)
                    keep = self.plays[path.split(b"/")[2].decode()](peer, request)
                if not keep:
                    return
        except OSError:
            return
        finally:
            raw.close()
