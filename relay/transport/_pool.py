"""A connection pool to one origin (the gateway's; Cloud Storage's and Pub/Sub's for bulk items),
and the one way requests go out on it.

Requests run on `HttpToolsTransport` (`_httptools`) rather than httpx's default (httpcore): httpcore
spent most of the function's CPU per request, and its pool walks every connection it holds for
each request it places, so one pool of hundreds of connections collapsed under a burst (it used
to be split into 32 shards for that). The transport's pool is a stack of idle connections:
constant work per request however many are open, so one pool serves them all.

Requests are httpx.Request objects handed straight to the transport. `httpx.AsyncClient` would
add, per call, a base-URL merge that parses the URL again, a cookie jar fed every response
(through urllib's cookie machinery: the gateway sets none we want), redirect and auth loops we
switch off: together more CPU than the transport itself. What it did that we need is here: the
base URL, its default headers, the timeouts, and no proxies from the environment.
"""

from __future__ import annotations

import ssl

import httpx

from ._httptools import HttpToolsTransport, encode_request

__all__ = [
    "DEFAULT_HEADERS",
    "KEEPALIVE_EXPIRY_SECONDS",
    "MAX_CONNECTIONS",
    "USER_AGENT",
    "OriginPool",
]

# Sized for hundreds of slow LLM calls in flight on one instance (the default).
MAX_CONNECTIONS = 1024
KEEPALIVE_EXPIRY_SECONDS = 30.0
USER_AGENT = "aig-prompt-function/0.1"
# What httpx.AsyncClient sends by default, with our agent, and no compression: a compressed body
# can unpack to a thousand times its size in one step (a "zip bomb"), before any cap on what was
# read could stop it, and LLM answers are small next to the time they take.
DEFAULT_HEADERS = {
    "accept": "*/*",
    "accept-encoding": "identity",
    "connection": "keep-alive",
    "user-agent": USER_AGENT,
}
# Parsed URLs kept per path (the relay calls two); a cap in case a path ever carries input.
MAX_CACHED_URLS = 64


class OriginPool:
    """Sends requests to one base URL over connections kept for the process's life."""

    def __init__(
        self,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._given = transport
        self._max_connections = max_connections
        self._transport: httpx.AsyncBaseTransport | None = None
        self._tls: ssl.SSLContext | None = None
        self._urls: dict[str, httpx.URL] = {}
        self._base_parsed: httpx.URL | None = None

    def warm(self) -> None:
        """Build the TLS context ahead of the first request. Safe in a thread only while no
        request uses the pool yet."""
        if self._tls is None and self._given is None:
            self._tls = httpx.create_ssl_context()

    def request(
        self,
        method: str,
        path: str,
        content: bytes,
        headers: dict[str, str],
        *,
        timeout: float,
        connect: float,
    ) -> httpx.Request:
        """A request for `path` under the base URL; `timeout` bounds each read and the wait for
        a free connection, `connect` the connecting."""
        url = self._urls.get(path)
        if url is None:
            url = httpx.URL(f"{self._base_url}/{path.lstrip('/')}")
            if len(self._urls) < MAX_CACHED_URLS:
                self._urls[path] = url
        return httpx.Request(
            method,
            url,
            content=content,
            headers=DEFAULT_HEADERS | headers,
            extensions={"timeout": {"connect": connect, "read": timeout, "pool": timeout}},
        )

    async def fetch(
        self,
        method: str,
        path: str,
        content: bytes,
        headers: dict[str, str],
        *,
        timeout: float,
        connect: float,
    ) -> tuple[int, bytes]:
        """(status, whole body) for `path` (already %-encoded, with its query) under the base
        URL: what `request` then `send` and reading the body give, without building an httpx
        Request, URL or Response (a URL parse each: most of a small call's CPU when every call
        names another object)."""
        transport = self._pool()
        if not isinstance(transport, HttpToolsTransport):
            # Another transport (tests hand one in): the usual way.
            response = await self.send(
                self.request(method, path, content, headers, timeout=timeout, connect=connect)
            )
            try:
                return response.status_code, await response.aread()
            finally:
                await response.aclose()
        base = self._base()
        try:
            target = base.raw_path.rstrip(b"/") + b"/" + path.lstrip("/").encode("ascii")
            merged = DEFAULT_HEADERS | headers
            # One host header: the caller's if it gave one (as httpx keeps it), else the base's.
            given = [value for name, value in merged.items() if name.lower() == "host"]
            fields = [(b"host", given[-1].encode("ascii") if given else base.netloc)]
            fields += [
                (name.encode("ascii"), value.encode("ascii"))
                for name, value in merged.items()
                if name.lower() != "host"
            ]
        except UnicodeEncodeError as exc:
            raise httpx.LocalProtocolError("a request path or header is not valid HTTP") from exc
        data = encode_request(method.encode("ascii"), target, fields, content)
        return await transport.fetch(base, data, timeout=timeout, connect=connect)

    async def send(self, request: httpx.Request) -> httpx.Response:
        """The response, its body not yet read: the caller reads it and closes it."""
        response = await self._pool().handle_async_request(request)
        response.request = request
        if response.headers.get("content-encoding", "identity").lower() != "identity":
            # Compressed although we asked for none: passed on as the raw bytes (which then fail
            # to parse as JSON or SSE), never unpacked (see DEFAULT_HEADERS).
            del response.headers["content-encoding"]
        return response

    async def aclose(self) -> None:
        """Close the pooled connections."""
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()

    def _base(self) -> httpx.URL:
        if self._base_parsed is None:
            self._base_parsed = httpx.URL(self._base_url)
        return self._base_parsed

    def _pool(self) -> httpx.AsyncBaseTransport:
        # Created on first use, inside the event loop that will use it.
        if self._transport is None:
            # The system CA bundle, as httpx loads it: certificates are always verified.
            self._transport = self._given or HttpToolsTransport(
                ssl_context=self._tls or httpx.create_ssl_context(),
                max_connections=self._max_connections,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            )
        return self._transport
