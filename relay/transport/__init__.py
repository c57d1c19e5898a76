"""The HTTP client for the gateway (and bulk items' Google API calls): a keep-alive pool per
origin (`OriginPool`) sending httpx requests on an HTTP/1.1 transport of our own
(`HttpToolsTransport`, asyncio + httptools).

Why this client and not another, and the server behaviours it is held to, are in
docs/transport.md; tests/conformance runs that table against it and the alternatives.
"""

from __future__ import annotations

from ._connection import BODY_HIGH_WATER_BYTES, MAX_FRAMING_BYTES, MAX_HEAD_BYTES
from ._httptools import HttpToolsTransport, encode_request
from ._pool import (
    DEFAULT_HEADERS,
    KEEPALIVE_EXPIRY_SECONDS,
    MAX_CONNECTIONS,
    USER_AGENT,
    OriginPool,
)

__all__ = [
    "BODY_HIGH_WATER_BYTES",
    "DEFAULT_HEADERS",
    "KEEPALIVE_EXPIRY_SECONDS",
    "MAX_CONNECTIONS",
    "MAX_FRAMING_BYTES",
    "MAX_HEAD_BYTES",
    "USER_AGENT",
    "HttpToolsTransport",
    "OriginPool",
    "encode_request",
]
