"""The gateway's connection pools: one long-lived httpx client per shard, created on first use.

httpcore's pool walks every connection it holds for each request it places (quadratic in the
connections in use), so one pool of hundreds of connections spends most of the CPU on bookkeeping
and collapses when a burst arrives. Shards keep each pool small; keep-alive works the same within
each, and requests take the shards in turn.
"""

from __future__ import annotations

import itertools
import ssl

import httpx

__all__ = [
    "KEEPALIVE_EXPIRY_SECONDS",
    "MAX_CONNECTIONS",
    "POOL_SHARDS",
    "USER_AGENT",
    "ShardedPools",
]

# Sized for hundreds of slow LLM calls in flight on one instance.
MAX_CONNECTIONS = 1024
# Connections are spread over this many pools.
POOL_SHARDS = 32
KEEPALIVE_EXPIRY_SECONDS = 30.0
USER_AGENT = "aig-prompt-function/0.1"


class ShardedPools:
    """POOL_SHARDS clients for one base URL, handed out in turn."""

    def __init__(self, base_url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._base_url = base_url
        self._transport = transport
        self._clients: dict[int, httpx.AsyncClient] = {}
        self._tls: ssl.SSLContext | None = None
        self._next = itertools.count()

    def next(self) -> httpx.AsyncClient:
        """The next shard's client."""
        return self._shard(next(self._next) % POOL_SHARDS)

    def warm(self) -> None:
        """Build the TLS context and the first shard's client (importing httpcore) ahead of the
        first request. Safe in a thread only while no request uses the pools yet."""
        self._shard(0)

    def _shard(self, shard: int) -> httpx.AsyncClient:
        client = self._clients.get(shard)
        if client is None:
            if self._tls is None:
                # One TLS context for all shards: each would otherwise load the CA bundle again.
                self._tls = httpx.create_ssl_context()
            client = self._clients[shard] = httpx.AsyncClient(
                verify=self._tls,
                base_url=self._base_url,
                transport=self._transport,
                limits=httpx.Limits(
                    max_connections=MAX_CONNECTIONS // POOL_SHARDS,
                    max_keepalive_connections=MAX_CONNECTIONS // POOL_SHARDS,
                    keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
                ),
                headers={"user-agent": USER_AGENT},
                # Nothing from a response may send us elsewhere.
                follow_redirects=False,
                trust_env=False,
            )
        return client

    async def aclose(self) -> None:
        """Close every shard's connections."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()
