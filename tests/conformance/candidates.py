"""The candidate HTTP clients, each an httpx transport configured as the gateway would use it:
HTTP/1.1, a keep-alive pool, certificates verified, no proxies from the environment, and no
decompression (the gateway pool asks for identity and passes bytes on as they came)."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx

from relay.transport import (
    KEEPALIVE_EXPIRY_SECONDS,
    MAX_CONNECTIONS,
    HttpToolsTransport,
    encode_request,
)

__all__ = ["CANDIDATES", "CHOSEN", "WHOLE_BODY", "Factory"]

# ssl context (None: the system's CAs) -> a fresh transport.
Factory = Callable[[ssl.SSLContext | None], httpx.AsyncBaseTransport]
# The gateway pool's own sizes, for every candidate.
POOL = MAX_CONNECTIONS
KEEPALIVE = KEEPALIVE_EXPIRY_SECONDS


def _relay(context: ssl.SSLContext | None) -> HttpToolsTransport:
    return HttpToolsTransport(
        ssl_context=context or httpx.create_ssl_context(),
        max_connections=POOL,
        keepalive_expiry=KEEPALIVE,
    )


class _Fetch(httpx.AsyncBaseTransport):
    """The relay transport's whole-answer path (`HttpToolsTransport.fetch`, which bulk items'
    Storage calls take) behind httpx's interface, so that it meets the same table."""

    def __init__(self, inner: HttpToolsTransport) -> None:
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        data = encode_request(
            request.method.encode("ascii"), request.url.raw_path, request.headers.raw, body
        )
        timeouts = request.extensions["timeout"]
        status, content = await self._inner.fetch(
            request.url, data, timeout=timeouts["read"], connect=timeouts["connect"]
        )
        return httpx.Response(status, stream=httpx.ByteStream(content))

    async def aclose(self) -> None:
        await self._inner.aclose()


# One connection: a fetch that kept its slot, or pooled a connection with bytes left on it,
# fails the row's next request (a pool timeout, or somebody else's answer).
FETCH_POOL = 1


def _relay_fetch(context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    return _Fetch(
        HttpToolsTransport(
            ssl_context=context or httpx.create_ssl_context(),
            max_connections=FETCH_POOL,
            keepalive_expiry=KEEPALIVE,
        )
    )


def _httpcore(context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=POOL, keepalive_expiry=KEEPALIVE)
    return httpx.AsyncHTTPTransport(
        verify=context or httpx.create_ssl_context(), limits=limits, trust_env=False
    )


def _aiohttp(context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    import aiohttp
    from httpx_aiohttp import AiohttpTransport

    verify = context or httpx.create_ssl_context()

    def session() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=POOL, keepalive_timeout=KEEPALIVE, ssl=verify)
        return aiohttp.ClientSession(connector=connector, auto_decompress=False)

    return AiohttpTransport(client=session)


def _pyqwest(context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    import pyqwest
    from pyqwest.httpx import AsyncPyqwestTransport

    # pyqwest takes PEM CA certificates, not an ssl context: the tests hand theirs in as
    # `ssl_context.pyqwest_ca` (see conftest.py); otherwise the system's.
    ca = getattr(context, "pyqwest_ca", None)
    transport = pyqwest.HTTPTransport(
        tls_ca_cert=ca,
        tls_include_system_certs=ca is None,
        http_version=pyqwest.HTTPVersion.HTTP1,
        pool_idle_timeout=KEEPALIVE,
        enable_gzip=False,
        enable_brotli=False,
        enable_zstd=False,
        follow_redirects=False,
        enable_otel=False,
    )
    return AsyncPyqwestTransport(transport)


CANDIDATES: dict[str, Factory] = {
    "relay": _relay,  # relay.transport.HttpToolsTransport (asyncio + httptools)
    "relay_fetch": _relay_fetch,  # the same, its whole-answer `fetch` (bulk's Storage calls)
    "httpcore": _httpcore,  # httpx's default transport (httpcore + h11 + anyio)
    "aiohttp": _aiohttp,  # httpx-aiohttp's transport on an aiohttp ClientSession
    "pyqwest": _pyqwest,  # pyqwest's httpx transport (Rust reqwest/hyper)
}
# The client the gateway calls run on (relay/transport): it must pass every row.
CHOSEN = "relay"
# Candidates that hand over an answer only once it is whole: for them a body that breaks is a
# refused answer, and giving up in the body is giving up before the answer (runner.py).
WHOLE_BODY = frozenset({"relay_fetch"})
