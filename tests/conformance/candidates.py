"""The candidate HTTP clients, each an httpx transport configured as the gateway would use it:
HTTP/1.1, a keep-alive pool, certificates verified, no proxies from the environment, and no
decompression (the gateway pool asks for identity and passes bytes on as they came)."""

from __future__ import annotations

import ssl
from collections.abc import Callable

import httpx

from relay.transport import KEEPALIVE_EXPIRY_SECONDS, MAX_CONNECTIONS, HttpToolsTransport

__all__ = ["CANDIDATES", "CHOSEN", "Factory"]

# ssl context (None: the system's CAs) -> a fresh transport.
Factory = Callable[[ssl.SSLContext | None], httpx.AsyncBaseTransport]
# The gateway pool's own sizes, for every candidate.
POOL = MAX_CONNECTIONS
KEEPALIVE = KEEPALIVE_EXPIRY_SECONDS


def _relay(context: ssl.SSLContext | None) -> httpx.AsyncBaseTransport:
    return HttpToolsTransport(
        ssl_context=context or httpx.create_ssl_context(),
        max_connections=POOL,
        keepalive_expiry=KEEPALIVE,
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
    "httpcore": _httpcore,  # httpx's default transport (httpcore + h11 + anyio)
    "aiohttp": _aiohttp,  # httpx-aiohttp's transport on an aiohttp ClientSession
    "pyqwest": _pyqwest,  # pyqwest's httpx transport (Rust reqwest/hyper)
}
# The client the gateway calls run on (relay/transport): it must pass every row.
CHOSEN = "relay"
