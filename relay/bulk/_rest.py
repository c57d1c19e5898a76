"""The calls a bulk item makes, as Cloud Storage and Pub/Sub JSON API requests on httpx (already
loaded for the gateway), instead of Google's client libraries.

Why (measured in bench/bulk.py, docs/bulk.md "Cost per item"): the libraries cost about 44 MiB
to import (google-cloud-storage with requests, google-cloud-pubsub with gRPC and protobuf) and
their synchronous storage client needs a worker thread a call; two JSON calls on an async client
the process already has cost neither. Credentials: on Cloud Run (`K_SERVICE` set) a token from
the metadata server (`_auth.py`). `_store.py` makes the rest of a run's Storage calls the same
way, blocking, in worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from ._auth import Auth, RestError
from ._store import GsPath

__all__ = ["GoogleRest"]

_STORAGE = "https://storage.googleapis.com"
_PUBSUB = "https://pubsub.googleapis.com"
# Each call's own timeouts; waiting for a client (`_Clients`) has none.
_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Connections per instance to each API: enough for hundreds of items in flight (a call takes
# tens of milliseconds) without a burst of new connections at every cold start.
_CONNECTIONS = 32
# Calls tried again on a dropped connection, a 429 or a 5xx; waits double from the first.
_ATTEMPTS = 4
_FIRST_WAIT_SECONDS = 0.5


class _Clients:
    """Up to `size` httpx clients of one connection each, each lent to one call at a time.

    Why not one client with `size` connections: httpx's pool scans every connection on each
    request and release (is each idle one still open: a socket check each), so with connections
    kept open, as Cloud Storage keeps them, a call cost 3 to 4 times the CPU (measured,
    docs/bulk.md "Measured"). Calls wait here for a client, not in a pool queue.
    """

    def __init__(self, size: int) -> None:
        self._free = asyncio.Semaphore(size)
        self._idle: list[httpx.AsyncClient] = []
        self._everyone: list[httpx.AsyncClient] = []
        self._tls: ssl.SSLContext | None = None

    def _new(self) -> httpx.AsyncClient:
        if self._tls is None:
            self._tls = httpx.create_ssl_context()  # one for all: each costs CA loading
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        client = httpx.AsyncClient(timeout=_TIMEOUT, limits=one, verify=self._tls)
        self._everyone.append(client)
        return client

    @asynccontextmanager
    async def lend(self) -> AsyncIterator[httpx.AsyncClient]:
        async with self._free:
            # The most recently used first: its connection is the likeliest to be open.
            client = self._idle.pop() if self._idle else self._new()
            try:
                yield client
            finally:
                self._idle.append(client)

    async def aclose(self) -> None:
        for client in self._everyone:
            await client.aclose()


class GoogleRest:
    """Cloud Storage objects and Pub/Sub publishing over httpx."""

    def __init__(self) -> None:
        self._clients = _Clients(_CONNECTIONS)
        storage_host = os.environ.get("STORAGE_EMULATOR_HOST")
        pubsub_host = os.environ.get("PUBSUB_EMULATOR_HOST")
        self.storage = storage_host.rstrip("/") if storage_host else _STORAGE
        self.pubsub = f"http://{pubsub_host}" if pubsub_host else _PUBSUB
        self._storage_auth = Auth(emulator=bool(storage_host))
        self._pubsub_auth = Auth(emulator=bool(pubsub_host))

    async def _auth(self, auth: Auth) -> dict[str, str]:
        # Fetching a token blocks (once an hour): a worker thread then, not the event loop.
        return await asyncio.to_thread(auth.header) if auth.stale else auth.header()

    async def aclose(self) -> None:
        await self._clients.aclose()

    async def _send(self, auth: Auth, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call, tried again on a passing failure: every call here may be repeated (a read;
        a create-only write, which `create` tells from another's; a publish of items that are
        idempotent where they run)."""
        headers = {**kwargs.pop("headers", {}), **await self._auth(auth)}
        wait = _FIRST_WAIT_SECONDS
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._clients.lend() as client:
                    answer = await client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError:
                if attempt == _ATTEMPTS:
                    raise
            else:
                if (answer.status_code != 429 and answer.status_code < 500) or attempt == _ATTEMPTS:
                    return answer
            await asyncio.sleep(wait)  # backoff before the call is tried again
            wait *= 2
        raise AssertionError("unreachable")

    def _object(self, path: GsPath) -> str:
        return f"{self.storage}/storage/v1/b/{path.bucket}/o/{quote(path.name, safe='')}"

    async def exists(self, path: GsPath) -> bool:
        """Whether the object exists (its metadata, name only)."""
        answer = await self._send(
            self._storage_auth, "GET", self._object(path), params={"fields": "name"}
        )
        if answer.status_code in (200, 404):
            return answer.status_code == 200
        raise RestError(f"storage get {path}: HTTP {answer.status_code}")

    async def create(
        self, path: GsPath, data: bytes, content_type: str, metadata: dict[str, str]
    ) -> bool:
        """Write `path` only if it does not exist yet (ifGenerationMatch=0); False when it did."""
        boundary = uuid.uuid4().hex
        resource = msgspec.json.encode(
            {"name": path.name, "contentType": content_type, "metadata": metadata}
        )
        body = b"".join(
            (
                f"--{boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n".encode(),
                resource,
                f"\r\n--{boundary}\r\ncontent-type: {content_type}\r\n\r\n".encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            )
        )
        answer = await self._send(
            self._storage_auth,
            "POST",
            f"{self.storage}/upload/storage/v1/b/{path.bucket}/o",
            params={"uploadType": "multipart", "ifGenerationMatch": "0", "fields": "generation"},
            content=body,
            headers={"content-type": f"multipart/related; boundary={boundary}"},
        )
        if answer.status_code == 200:
            return True
        if answer.status_code == 412:
            # Ours after all when it holds exactly these bytes: a first try whose answer was
            # lost, then repeated. Another delivery's outcome differs (its own request id).
            media = await self._send(
                self._storage_auth, "GET", self._object(path), params={"alt": "media"}
            )
            return media.status_code == 200 and media.content == data
        raise RestError(f"storage upload {path}: HTTP {answer.status_code}")

    async def publish(
        self, topic: str, messages: Sequence[tuple[bytes, dict[str, str]]], timeout: float
    ) -> None:
        """Publish `messages` (data, attributes) in one call, in order."""
        body: dict[str, Any] = {
            "messages": [
                {"data": base64.b64encode(data).decode(), "attributes": attributes}
                for data, attributes in messages
            ]
        }
        answer = await self._send(
            self._pubsub_auth,
            "POST",
            f"{self.pubsub}/v1/{topic}:publish",
            content=msgspec.json.encode(body),
            headers={"content-type": "application/json"},
            timeout=timeout,
        )
        if answer.status_code != 200:
            raise RestError(f"pubsub publish {topic}: HTTP {answer.status_code}")
