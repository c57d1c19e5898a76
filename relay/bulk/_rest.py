"""The calls a bulk item makes, as Cloud Storage and Pub/Sub JSON API requests on the relay's own
HTTP/1.1 transport (`relay.transport`, already loaded for the gateway), instead of Google's
client libraries.

Why (measured in bench/bulk.py, docs/bulk.md "Cost per item"): the libraries cost about 44 MiB
to import (google-cloud-storage with requests, google-cloud-pubsub with gRPC and protobuf) and
their synchronous storage client needs a worker thread a call; httpx's own client spent about
0.7 ms of CPU a call even on an open connection, its pool checking every kept connection each
time. Credentials: on Cloud Run (`K_SERVICE` set) a token from the metadata server
(`_auth.py`). `_store.py` makes the rest of a run's Storage calls, blocking, in worker threads.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from ..transport import OriginPool
from ._auth import Auth, RestError
from ._store import GsPath

__all__ = ["GoogleRest"]

_STORAGE = "https://storage.googleapis.com"
_PUBSUB = "https://pubsub.googleapis.com"
# Each call's timeouts: every read, and the wait for a free connection; connecting.
_TIMEOUT_SECONDS = 30.0
_CONNECT_SECONDS = 10.0
# Connections per instance to each API: enough for hundreds of items in flight (a call takes
# tens of milliseconds) without a burst of new connections at every cold start.
_CONNECTIONS = 32
# Calls tried again on a dropped connection, a 429 or a 5xx; waits double from the first.
_ATTEMPTS = 4
_FIRST_WAIT_SECONDS = 0.5


class GoogleRest:
    """Cloud Storage objects and Pub/Sub publishing over kept-open HTTP/1.1 connections."""

    def __init__(self) -> None:
        storage_host = os.environ.get("STORAGE_EMULATOR_HOST")
        pubsub_host = os.environ.get("PUBSUB_EMULATOR_HOST")
        self.storage = storage_host.rstrip("/") if storage_host else _STORAGE
        self.pubsub = f"http://{pubsub_host}" if pubsub_host else _PUBSUB
        self._storage = OriginPool(self.storage, max_connections=_CONNECTIONS)
        self._pubsub = OriginPool(self.pubsub, max_connections=_CONNECTIONS)
        self._storage_auth = Auth(emulator=bool(storage_host))
        self._pubsub_auth = Auth(emulator=bool(pubsub_host))

    async def _auth(self, auth: Auth) -> dict[str, str]:
        # Fetching a token blocks (once an hour): a worker thread then, not the event loop.
        return await asyncio.to_thread(auth.header) if auth.stale else auth.header()

    async def aclose(self) -> None:
        await self._storage.aclose()
        await self._pubsub.aclose()

    async def _send(
        self,
        pool: OriginPool,
        auth: Auth,
        method: str,
        path: str,
        content: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: float = _TIMEOUT_SECONDS,
    ) -> tuple[int, bytes]:
        """(status, body) of one call, tried again on a passing failure: every call here may be
        repeated (a read; a create-only write, which `create` tells from another's; a publish of
        items that are idempotent where they run)."""
        headers = {**(headers or {}), **await self._auth(auth)}
        wait = _FIRST_WAIT_SECONDS
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                status, body = await pool.fetch(
                    method, path, content, headers, timeout=timeout, connect=_CONNECT_SECONDS
                )
            except httpx.TransportError:
                if attempt == _ATTEMPTS:
                    raise
            else:
                if (status != 429 and status < 500) or attempt == _ATTEMPTS:
                    return status, body
            await asyncio.sleep(wait)  # backoff before the call is tried again
            wait *= 2
        raise AssertionError("unreachable")

    @staticmethod
    def _object(path: GsPath, query: str) -> str:
        return f"/storage/v1/b/{quote(path.bucket, safe='')}/o/{quote(path.name, safe='')}?{query}"

    async def exists(self, path: GsPath) -> bool:
        """Whether the object exists (its metadata, name only)."""
        status, _ = await self._send(
            self._storage, self._storage_auth, "GET", self._object(path, "fields=name")
        )
        if status in (200, 404):
            return status == 200
        raise RestError(f"storage get {path}: HTTP {status}")

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
        status, _ = await self._send(
            self._storage,
            self._storage_auth,
            "POST",
            f"/upload/storage/v1/b/{quote(path.bucket, safe='')}/o"
            "?uploadType=multipart&ifGenerationMatch=0&fields=generation",
            body,
            {"content-type": f"multipart/related; boundary={boundary}"},
        )
        if status == 200:
            return True
        if status == 412:
            # Ours after all when it holds exactly these bytes: a first try whose answer was
            # lost, then repeated. Another delivery's outcome differs (its own request id).
            found = await self._send(
                self._storage, self._storage_auth, "GET", self._object(path, "alt=media")
            )
            return found == (200, data)
        raise RestError(f"storage upload {path}: HTTP {status}")

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
        status, _ = await self._send(
            self._pubsub,
            self._pubsub_auth,
            "POST",
            f"/v1/{topic}:publish",
            msgspec.json.encode(body),
            {"content-type": "application/json"},
            timeout,
        )
        if status != 200:
            raise RestError(f"pubsub publish {topic}: HTTP {status}")
