"""A small HTTP/1.1 transport for httpx: asyncio connections parsed by httptools.

httpx stays the client (requests, responses, decoding, the relay's exception types); only the
layer under it changes. httpcore + h11 + anyio spent ~1.1 ms of CPU per gateway call, about
three quarters of the function's whole cost per request (docs/performance.md); this does the
same job for a fraction, with the parser uvicorn already loaded. It speaks only what the relay
needs: HTTP/1.1 over TCP or TLS, one origin's keep-alive pool, no proxies, no HTTP/2.

The semantics the gateway client relies on are httpx's own: connect, read and pool timeouts
raise httpx.TimeoutException subclasses, a failed connection or a broken answer raises an
httpx.TransportError, and a header HTTP forbids raises httpx.LocalProtocolError.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import cast

import httptools
import httpx

__all__ = ["MAX_HEAD_BYTES", "HttpToolsTransport"]

# Reading pauses while this much of a body waits unread, so a huge answer is not buffered.
BODY_HIGH_WATER_BYTES = 256 * 1024
# The status line and headers together, at most (h11's own limit): a server that sends headers
# for ever is cut off instead of filling memory until the deadline.
MAX_HEAD_BYTES = 64 * 1024
# HTTP/1.1 token characters (RFC 9110), and what a header value must not hold.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")


class _Connection(asyncio.Protocol):
    """One connection and the answer being read on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._begin()

    def _begin(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.framed = False  # a content-length or a chunked encoding says where the body ends
        self.headers_done = False
        self.head_bytes = 0
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
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed answer ({type(exc).__name__})"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.headers_done and not self.complete and not self.framed and self.error is None:
            self.complete = True  # a body without framing ends when the connection does
        elif not self.complete:
            self._fail(httpx.RemoteProtocolError("the server closed the connection mid-answer"))
        self._wake()

    # -- httptools callbacks ------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        lowered = name.lower()
        if lowered == b"content-length" or lowered == b"transfer-encoding":
            self.framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(bytes(body))
        self.buffered += len(body)
        if self.buffered > BODY_HIGH_WATER_BYTES and not self.paused and self.transport:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        # Asked now: once the message is done, the parser answers for the next one.
        self.keep_alive = self.parser.should_keep_alive()
        self.complete = True
        self._wake()

    # -- reading ------------------------------------------------------------------------------

    async def response_head(self, timeout: float | None) -> None:
        while not self.headers_done:
            await self._wait(timeout)

    async def next_chunk(self, timeout: float | None) -> bytes | None:
        """The next piece of the body; None once it is all read."""
        while not self.chunks:
            if self.complete:
                return None
            await self._wait(timeout)
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self.paused and self.buffered <= BODY_HIGH_WATER_BYTES // 2 and self.transport:
            self.paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self, now: float, expiry: float) -> bool:
        return not self.closed and now - self.idle_since < expiry

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def _wait(self, timeout: float | None) -> None:
        if self.error is not None:
            raise self.error
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
        if self.error is not None:
            raise self.error

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


class _Body(httpx.AsyncByteStream):
    """A response body read off its connection; closing it frees the connection."""

    def __init__(self, pool: HttpToolsTransport, conn: _Connection, timeout: float | None):
        self._pool = pool
        self._conn = conn
        self._timeout = timeout
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._conn.next_chunk(self._timeout)) is not None:
            yield chunk

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.release(self._conn)


class HttpToolsTransport(httpx.AsyncBaseTransport):
    """Keep-alive HTTP/1.1 to one origin, at most `max_connections` open at once."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int,
        keepalive_expiry: float,
    ) -> None:
        self._ssl = ssl_context
        self._slots = asyncio.Semaphore(max_connections)
        self._expiry = keepalive_expiry
        # Most recently used last: a burst reuses warm connections; old ones age out at the bottom.
        self._idle: deque[_Connection] = deque()
        self._origin: tuple[bytes, bytes, int] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port or 0)
        if self._origin is None:
            self._origin = origin
        elif origin != self._origin:
            raise httpx.UnsupportedProtocol("this transport serves one origin", request=request)
        data = await _encode(request)
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection in time", request=request) from exc
        conn: _Connection | None = None
        try:
            conn = self._idle_connection() or await self._connect(request, timeouts.get("connect"))
            conn.start(data)
            await conn.response_head(timeouts.get("read"))
        except BaseException:
            if conn is not None:
                conn.close()
            self._slots.release()
            raise
        return httpx.Response(
            status_code=conn.parser.get_status_code(),
            headers=conn.headers,
            stream=_Body(self, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": conn.reason},
        )

    def release(self, conn: _Connection) -> None:
        """Back to the pool when its answer was read whole and it may be reused; else closed."""
        if conn.complete and not conn.closed and conn.error is None and conn.keep_alive:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()
        self._slots.release()

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()

    def _idle_connection(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable(now, self._expiry):
                return conn
            conn.close()
        return None

    async def _connect(self, request: httpx.Request, timeout: float | None) -> _Connection:
        url = request.url
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    _Connection,
                    url.host,
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=url.host if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("connecting timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, name not found, TLS refused
            raise httpx.ConnectError(
                f"could not connect ({type(exc).__name__})", request=request
            ) from exc
        return conn


async def _encode(request: httpx.Request) -> bytes:
    """The request line, headers and body, checked as h11 checks them."""
    body = await request.aread()
    lines = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    sized = False
    for name, value in request.headers.raw:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise httpx.LocalProtocolError("a request header is not valid HTTP", request=request)
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue  # the body is read whole above: it goes with a length instead
        sized = sized or lowered == b"content-length"
        lines += (name, b": ", value, b"\r\n")
    if not sized and (body or request.method in ("POST", "PUT", "PATCH")):
        lines += (b"content-length: ", str(len(body)).encode("ascii"), b"\r\n")
    lines += (b"\r\n", body)
    return b"".join(lines)
