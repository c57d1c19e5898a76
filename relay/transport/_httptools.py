"""A small HTTP/1.1 transport for httpx: asyncio connections parsed by httptools.

httpx stays the client (requests, responses, decoding, the relay's exception types); only the
layer under it changes. httpcore + h11 + anyio spent ~1.1 ms of CPU per gateway call, about
three quarters of the function's whole cost per request (docs/performance.md); this does the
same job for a fraction, with the parser uvicorn already loaded. It speaks only what the relay
needs: HTTP/1.1 over TCP or TLS, one origin's keep-alive pool, no proxies, no HTTP/2.

The semantics the gateway client relies on are httpx's own: connect, read and pool timeouts
raise httpx.TimeoutException subclasses, a failed connection or a broken answer raises an
httpx.TransportError, and a header HTTP forbids raises httpx.LocalProtocolError. How each
server behaviour is met is the conformance table in docs/transport.md.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping

import httpx

from ._connection import Connection

__all__ = ["HttpToolsTransport", "encode_request"]

# HTTP/1.1 token characters (RFC 9110), and what a header value must not hold.
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\r\n\x00]")
# A request target: an absolute path and query, visible ASCII only (no space, no control).
_TARGET = re.compile(rb"/[\x21-\x7e]*")


class _Body(httpx.AsyncByteStream):
    """A response body read off its connection; closing it frees the connection."""

    def __init__(self, pool: HttpToolsTransport, conn: Connection, timeout: float | None):
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
        self._idle: deque[Connection] = deque()
        self._origin: tuple[bytes, bytes, int] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        data = await _encode(request)
        conn = await self._exchange(request.url, data, timeouts, request)
        return httpx.Response(
            status_code=conn.status,
            headers=conn.headers,
            stream=_Body(self, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": conn.reason},
        )

    async def fetch(
        self, url: httpx.URL, data: bytes, *, timeout: float, connect: float
    ) -> tuple[int, bytes]:
        """Send `data`, a request to `url`'s origin encoded by `encode_request`, and read its
        whole answer: (status, body). No httpx Request or Response is built: for many small
        calls, where building them cost more than the call (bulk items' Storage calls).
        `timeout` bounds each read and the wait for a free connection, as in a request's
        extensions."""
        timeouts = {"pool": timeout, "connect": connect, "read": timeout}
        conn = await self._exchange(url, data, timeouts, None)
        status, body = conn.status, bytearray()
        try:
            while (chunk := await conn.next_chunk(timeout)) is not None:
                body += chunk
        finally:
            self.release(conn)
        return status, bytes(body)

    async def _exchange(
        self,
        url: httpx.URL,
        data: bytes,
        timeouts: Mapping[str, float | None],
        request: httpx.Request | None,
    ) -> Connection:
        """Send `data` on a free connection to `url`'s origin; the connection once the answer's
        head is in (its slot held until `release`)."""
        origin = (url.raw_scheme, url.raw_host, url.port or 0)
        if self._origin is None:
            self._origin = origin
        elif origin != self._origin:
            raise httpx.UnsupportedProtocol("this transport serves one origin", request=request)
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise httpx.PoolTimeout("no free connection in time", request=request) from exc
        conn: Connection | None = None
        try:
            conn = self._idle_connection() or await self._connect(url, timeouts.get("connect"))
            conn.start(data)
            await conn.response_head(timeouts.get("read"))
        except BaseException:
            if conn is not None:
                conn.close()
            self._slots.release()
            raise
        return conn

    def release(self, conn: Connection) -> None:
        """Back to the pool when its answer arrived whole and it may be reused; else closed."""
        if conn.idle(time.monotonic()):
            self._idle.append(conn)
        else:
            conn.close()
        self._slots.release()

    async def aclose(self) -> None:
        while self._idle:
            self._idle.pop().close()

    def _idle_connection(self) -> Connection | None:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable(now, self._expiry):
                return conn
            conn.close()
        return None

    async def _connect(self, url: httpx.URL, timeout: float | None) -> Connection:
        tls = url.scheme == "https"
        port = url.port or (443 if tls else 80)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    Connection,
                    url.host,
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=url.host if tls else None,
                )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout("connecting timed out") from exc
        except OSError as exc:  # refused, unreachable, name not found, TLS refused
            raise httpx.ConnectError(f"could not connect ({type(exc).__name__})") from exc
        return conn


async def _encode(request: httpx.Request) -> bytes:
    """The request line, headers and body, checked as h11 checks them."""
    body = await request.aread()
    method = request.method.encode("ascii")
    return encode_request(method, request.url.raw_path, request.headers.raw, body, request)


def encode_request(
    method: bytes,
    target: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    body: bytes,
    request: httpx.Request | None = None,
) -> bytes:
    """An HTTP/1.1 request: `target` is the path and query, `headers` include `host`. A header
    HTTP forbids, or a target with a space or a control character, is refused (as h11
    refuses them) with httpx.LocalProtocolError."""
    if not _TARGET.fullmatch(target):
        raise httpx.LocalProtocolError("the request target is not valid HTTP", request=request)
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    sized = False
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _BAD_VALUE.search(value):
            raise httpx.LocalProtocolError("a request header is not valid HTTP", request=request)
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            continue  # the body is read whole above: it goes with a length instead
        sized = sized or lowered == b"content-length"
        lines += (name, b": ", value, b"\r\n")
    if not sized and (body or method in (b"POST", b"PUT", b"PATCH")):
        lines += (b"content-length: ", str(len(body)).encode("ascii"), b"\r\n")
    lines += (b"\r\n", body)
    return b"".join(lines)
