"""A raw HTTP/1.1 client connection for the load generator: no client library's CPU in the
figures, only writing requests and parsing the framing of responses."""

from __future__ import annotations

import asyncio
import time

import msgspec

__all__ = ["Connection", "Response"]


class Response(msgspec.Struct):
    status: int
    body: bytes
    first_byte: float
    first_body: float


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection: write a request, parse the response's framing."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._length: int | None = None
        self._chunked = False
        self._close_after = False
        self._head_done = False
        self._body: list[bytes] = []
        self._first_byte = 0.0
        self._first_body = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._head_done and self._length is None and not self._chunked:
                # A body delimited by the connection closing.
                self._finish()
            else:
                waiter.set_exception(ConnectionResetError("connection closed mid-response"))

    def send(self, request: bytes) -> asyncio.Future[Response]:
        assert self._transport is not None
        self._reset()
        self._waiter = self._loop.create_future()
        self._transport.write(request)
        return self._waiter

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        if not self._first_byte:
            self._first_byte = now
        self._buffer += data
        if not self._head_done:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self._parse_head(bytes(self._buffer[:end]))
            del self._buffer[: end + 4]
            self._head_done = True
        if self._buffer and not self._first_body:
            self._first_body = now
        self._parse_body()

    def _parse_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        self._status = int(lines[0].split(b" ", 2)[1])
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            value = value.strip().lower()
            if name == b"content-length":
                self._length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value:
                self._chunked = True
            elif name == b"connection" and value == b"close":
                self._close_after = True

    def _parse_body(self) -> None:
        buffer = self._buffer
        if self._length is not None:
            if len(buffer) >= self._length:
                self._body.append(bytes(buffer[: self._length]))
                del buffer[: self._length]
                self._finish()
            return
        if not self._chunked:
            self._body.append(bytes(buffer))
            buffer.clear()
            return
        while True:
            line_end = buffer.find(b"\r\n")
            if line_end < 0:
                return
            size = int(bytes(buffer[:line_end]).split(b";")[0], 16)
            if size == 0:
                # Last chunk; no trailers are expected, so the message ends at the next CRLF.
                if len(buffer) < line_end + 4:
                    return
                del buffer[: line_end + 4]
                self._finish()
                return
            if len(buffer) < line_end + 2 + size + 2:
                return
            self._body.append(bytes(buffer[line_end + 2 : line_end + 2 + size]))
            del buffer[: line_end + 2 + size + 2]

    def _finish(self) -> None:
        waiter = self._waiter
        self._waiter = None
        if self._close_after:
            self.close()
        if waiter is not None and not waiter.done():
            first_body = self._first_body or time.perf_counter()
            waiter.set_result(
                Response(self._status, b"".join(self._body), self._first_byte, first_body)
            )
