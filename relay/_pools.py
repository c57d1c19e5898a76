"""The gateway's connection pool: one long-lived httpx client, created on first use.

The client runs on `_transport.HttpToolsTransport` rather than httpx's default (httpcore):
httpcore spent most of the function's CPU per request, and its pool walks every connection it
holds for each request it places, so one pool of hundreds of connections collapsed under a burst
(it used to be split into 32 shards for that). The transport's pool is a stack of idle
connections: constant work per request however many are open, so one pool serves them all.
"""

from __future__ import annotations

import httpx

from ._transport import HttpToolsTransport

__all__ = [
    "KEEPALIVE_EXPIRY_SECONDS",
    "MAX_CONNECTIONS",
    "USER_AGENT",
    "GatewayPool",
]

# Sized for hundreds of slow LLM calls in flight on one instance.
MAX_CONNECTIONS = 1024
KEEPALIVE_EXPIRY_SECONDS = 30.0
USER_AGENT = "aig-prompt-function/0.1"


class GatewayPool:
    """The client for one base URL, kept for the process's life."""

    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base_url = base_url
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def next(self) -> httpx.AsyncClient:
        """The client (created on the first call, inside the event loop that will use it)."""
        client = self._client
        if client is None:
            # The system CA bundle, as httpx would load it; certificates are always verified.
            transport = self._transport or HttpToolsTransport(
                ssl_context=httpx.create_ssl_context(),
                max_connections=MAX_CONNECTIONS,
                keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
            )
            client = self._client = httpx.AsyncClient(
                base_url=self._base_url,
                transport=transport,
                headers={"user-agent": USER_AGENT},
                # Nothing from a response may send us elsewhere.
                follow_redirects=False,
                trust_env=False,
            )
        return client

    async def aclose(self) -> None:
        """Close the pooled connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
