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
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from ._auth import Auth, RestError
from ._store import GsPath

__all__ = ["GoogleRest"]

_STORAGE = "https://storage.googleapis.com"
_PUBSUB = "https://pubsub.googleapis.com"
_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class GoogleRest:
    """Cloud Storage objects and Pub/Sub publishing over one httpx client."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self.client = client or httpx.AsyncClient(timeout=_TIMEOUT)
        storage_host = os.environ.get("STORAGE_EMULATOR_HOST")
        pubsub_host = os.environ.get("PUBSUB_EMULATOR_HOST")
        self.storage = storage_host.rstrip("/") if storage_host else _STORAGE
        self.pubsub = f"http://{pubsub_host}" if pubsub_host else _PUBSUB
        self._storage_auth = Auth(emulator=bool(storage_host))
        self._pubsub_auth = Auth(emulator=bool(pubsub_host))

    async def _auth(self, auth: Auth) -> dict[str, str]:
        # Fetching a token blocks (once an hour): a worker thread then, not the event loop.
        return await asyncio.to_thread(auth.header) if auth.stale else auth.header()

    def _object(self, path: GsPath) -> str:
        return f"{self.storage}/storage/v1/b/{path.bucket}/o/{quote(path.name, safe='')}"

    async def exists(self, path: GsPath) -> bool:
        """Whether the object exists (its metadata, name only)."""
        answer = await self.client.get(
            self._object(path),
            params={"fields": "name"},
            headers=await self._auth(self._storage_auth),
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
        answer = await self.client.post(
            f"{self.storage}/upload/storage/v1/b/{path.bucket}/o",
            params={"uploadType": "multipart", "ifGenerationMatch": "0", "fields": "generation"},
            content=body,
            headers={
                "content-type": f"multipart/related; boundary={boundary}",
                **await self._auth(self._storage_auth),
            },
        )
        if answer.status_code in (200, 412):
            return answer.status_code == 200
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
        answer = await self.client.post(
            f"{self.pubsub}/v1/{topic}:publish",
            content=msgspec.json.encode(body),
            headers={"content-type": "application/json", **await self._auth(self._pubsub_auth)},
            timeout=timeout,
        )
        if answer.status_code != 200:
            raise RestError(f"pubsub publish {topic}: HTTP {answer.status_code}")
