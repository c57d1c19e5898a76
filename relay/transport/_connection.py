"""One HTTP/1.1 connection as an asyncio protocol, its answer parsed by httptools.

The rules a shared pool depends on live here: an answer is handed over only once its final head
arrived (interim 1xx heads are skipped, an upgrade is refused), nothing the server sends after
the answer is taken for part of it, and no connection reaches the pool unless its answer ended
cleanly and reading is running.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import cast

import httptools
import httpx

__all__ = ["BODY_HIGH_WATER_BYTES", "MAX_FRAMING_BYTES", "MAX_HEAD_BYTES", "Connection"]

# Reading pauses while this much of a body waits unread, so a huge answer is not buffered.
BODY_HIGH_WATER_BYTES = 256 * 1024
# The status lines and headers together (interim 1xx heads included), at most (h11's own
# limit): a server that sends headers for ever is cut off instead of filling memory.
MAX_HEAD_BYTES = 64 * 1024
# After the head, bytes in which the parser delivered no body and no chunk boundary: chunk
# extensions and trailers. httptools gathers a trailer by concatenation (quadratic in its
# length), so an endless one is cut off here rather than stalling the event loop.
MAX_FRAMING_BYTES = 64 * 1024


class _AfterAnswer(Exception):
    """The server began another message on a connection whose answer is complete."""


class Connection(asyncio.Protocol):
    """One connection and the answer being read on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._begin()

    def _begin(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.framed = False  # a content-length or a chunked encoding says where the body ends
        self.headers_done = False
        self.head_bytes = 0
        self.framing_bytes = 0
        self.complete = False
        self.keep_alive = False
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.error: httpx.TransportError | None = None

    def start(self, data: bytes) -> None:
        """Send one request on this (fresh or idle) connection."""
        self._begin()
        assert self.transport is not None
        self.transport.write(data)

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.complete:  # bytes nobody asked for: the connection cannot be reused
            self.close()
            return
        if not self.headers_done:
            # Every byte fed so far was head (httptools buffers a header's pieces until it is
            # whole), so more than the limit without the head's end is too much.
            if self.head_bytes > MAX_HEAD_BYTES:
                self._fail(httpx.RemoteProtocolError("the answer's headers are too large"))
                self.close()
                return
            self.head_bytes += len(data)
        else:
            # Reset by every body byte and chunk boundary the parser reports (see the callbacks).
            if self.framing_bytes > MAX_FRAMING_BYTES:
                self._fail(httpx.RemoteProtocolError("the answer's trailers are too large"))
                self.close()
                return
            self.framing_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            if not self.complete:
                # HttpParserUpgrade: a 101, which no request of ours asks for.
                self._fail(httpx.RemoteProtocolError(f"malformed answer ({type(exc).__name__})"))
            self.close()  # after a complete answer: more bytes than it, not reusable either

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.complete and not self.framed and self.error is None:
            self.complete = True  # a body without framing ends when the connection does
        elif not self.complete:
            self._fail(httpx.RemoteProtocolError("the server closed the connection mid-answer"))
        self._wake()

    # -- httptools callbacks ------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:  # two answers to one request: stop at the first
            raise _AfterAnswer

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.headers_done:
            return  # a trailer: counted in framing_bytes, not kept
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            self.framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            # An interim head (100, 103): the answer is still to come, on the same request. A
            # 101 ends in HttpParserUpgrade, refused in data_received.
            self.reason = b""
            self.headers = []
            self.framed = False
            return
        self.status = status
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.framing_bytes = 0
        self.chunks.append(bytes(body))
        self.buffered += len(body)
        if self.buffered > BODY_HIGH_WATER_BYTES and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_chunk_header(self) -> None:
        self.framing_bytes = 0

    def on_chunk_complete(self) -> None:
        self.framing_bytes = 0

    def on_message_complete(self) -> None:
        if not self.headers_done:
            return  # the end of an interim head, or of a 101's
        # Asked now: once the message is done, the parser answers for the next one.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True
        self._wake()

    # -- reading ------------------------------------------------------------------------------

    async def response_head(self, timeout: float | None) -> None:
        """Wait for the final head. Once it is here it is the answer, whatever broke after it
        in the same packet: that error belongs to the body, so a 2xx is never mistaken for a
        connection that failed before answering."""
        while not self.headers_done:
            if self.error is not None:
                raise self.error
            await self._wait(timeout)

    async def next_chunk(self, timeout: float | None) -> bytes | None:
        """The next piece of the body; None once it is all read."""
        while not self.chunks:
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            await self._wait(timeout)
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= BODY_HIGH_WATER_BYTES // 2:
            self._resume()
        return chunk

    def reusable(self, now: float, expiry: float) -> bool:
        return not self.closed and now - self.idle_since < expiry

    def idle(self, now: float) -> bool:
        """Whether this connection may wait in the pool for another request; if so, it is
        readied for it: unread pieces of its answer dropped, reading running again (a paused
        connection would leave the next answer unread until its timeout)."""
        if not self.complete or self.closed or self.error is not None or not self.keep_alive:
            return False
        self.chunks.clear()
        self.buffered = 0
        if self.paused:
            self._resume()
        self.idle_since = now
        return True

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _resume(self) -> None:
        self.paused = False
        if self.transport is not None:
            self.transport.resume_reading()

    async def _wait(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        # A bare timer on the future: asyncio.timeout's task bookkeeping cost more than the read.
        timer = loop.call_later(timeout, _expire, waiter) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, error: httpx.TransportError) -> None:
        if self.error is None:
            self.error = error
        self._wake()


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(httpx.ReadTimeout("the server sent nothing within the read timeout"))
