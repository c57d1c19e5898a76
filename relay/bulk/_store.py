"""Cloud Storage for bulk runs: its JSON API on httpx, and the bucket and object names.

Every call blocks: it is meant to run in a worker thread (`asyncio.to_thread`). Not Google's
client library: importing google-cloud-storage costs about 39 MiB (with requests), and these few
calls are plain JSON requests on httpx, which the process has loaded anyway (docs/bulk.md,
"Cost per item"). Tokens: `_auth.py`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from ._auth import Auth, RestError
from ._paths import GsPath, allowed_bucket
from ._reader import ObjectGone, RangeReader

__all__ = [
    "COMPOSE_MAX_SOURCES",
    "PARTS",
    "BulkStore",
    "GsPath",
    "ObjectGone",
    "allowed_bucket",
    "check",
]

# Cloud Storage composes at most 32 objects per call.
COMPOSE_MAX_SOURCES = 32
_COMPOSE_THREADS = 16
# Where compose keeps a tree's inner objects: `{target}{PARTS}`.
PARTS = ".parts/"
_API = "https://storage.googleapis.com"
_TIMEOUT = httpx.Timeout(60.0, connect=10.0, pool=None)
# A resumable upload sends this much a request (a multiple of 256 KiB, as the API requires).
_UPLOAD_CHUNK = 8 * 1024 * 1024
# Idempotent calls (compose, delete) are tried this often on a 429, a 5xx or a dropped
# connection; waits double from the first.
_ATTEMPTS = 4
_FIRST_WAIT_SECONDS = 0.5


class BulkStore:
    """Reads, writes, lists and composes objects (blocking: call from a worker thread)."""

    def __init__(self, project: str | None) -> None:
        self.project = project
        host = os.environ.get("STORAGE_EMULATOR_HOST")
        self.base = host.rstrip("/") if host else _API
        self.auth = Auth(emulator=bool(host))
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    limits = httpx.Limits(max_connections=_COMPOSE_THREADS * 2)
                    self._client = httpx.Client(timeout=_TIMEOUT, limits=limits)
        return self._client

    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One call, tried again on a dropped connection, a 429 or a 5xx (waits double from
        the first). Every call here may be repeated: reads and deletes are idempotent, compose
        sources never change, and a write carries a generation precondition or is a whole
        object (put_if tells its own repeated write from another's)."""
        headers = {**kwargs.pop("headers", {}), **self.auth.header()}
        wait = _FIRST_WAIT_SECONDS
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                answer = self.client.request(method, url, headers=headers, **kwargs)
            except httpx.TransportError:
                if attempt == _ATTEMPTS:
                    raise
            else:
                if (answer.status_code != 429 and answer.status_code < 500) or attempt == _ATTEMPTS:
                    return answer
            time.sleep(wait)  # backoff before the call is tried again
            wait *= 2
        raise AssertionError("unreachable")

    def _object(self, path: GsPath) -> str:
        return f"{self.base}/storage/v1/b/{path.bucket}/o/{quote(path.name, safe='')}"

    def _meta(self, path: GsPath, fields: str) -> dict[str, Any] | None:
        answer = self._call("GET", self._object(path), params={"fields": fields})
        if answer.status_code == 404:
            return None
        check(answer, "get", path)
        meta: dict[str, Any] = msgspec.json.decode(answer.content)
        return meta

    def stat(self, path: GsPath) -> tuple[int, int] | None:
        """(size, generation) of an object, None when it does not exist."""
        meta = self._meta(path, "size,generation")
        return None if meta is None else (int(meta["size"]), int(meta["generation"]))

    def exists(self, path: GsPath) -> bool:
        return self._meta(path, "name") is not None

    def read(self, path: GsPath, generation: int | None = None) -> bytes | None:
        params = {"alt": "media", **({"generation": str(generation)} if generation else {})}
        answer = self._call("GET", self._object(path), params=params)
        if answer.status_code == 404:
            return None
        check(answer, "read", path)
        return answer.content

    def read_versioned(self, path: GsPath) -> tuple[bytes, int] | None:
        """An object's bytes and the generation they are, None when it does not exist."""
        meta = self._meta(path, "generation")
        if meta is None:
            return None
        generation = int(meta["generation"])
        data = self.read(path, generation)
        return None if data is None else (data, generation)

    def put_if(
        self,
        path: GsPath,
        data: bytes,
        content_type: str,
        generation: int,
        metadata: dict[str, str] | None = None,
    ) -> int | None:
        """Write `path` only if its generation is still `generation` (0: it does not exist);
        the new generation, or None when someone else wrote first."""
        answer = self._upload(path, data, content_type, metadata, {"ifGenerationMatch": generation})
        if answer.status_code == 412:
            # Ours after all when the object holds exactly these bytes: a first try that
            # reached the server but whose answer was lost, then repeated (every caller's
            # bytes are its own: a holder token, a time, an item's outcome).
            found = self.read_versioned(path)
            return found[1] if found is not None and found[0] == data else None
        check(answer, "upload", path)
        return int(msgspec.json.decode(answer.content)["generation"])

    def write(self, path: GsPath, data: bytes, content_type: str) -> None:
        check(self._upload(path, data, content_type, None, {}), "upload", path)

    def _upload(
        self,
        path: GsPath,
        data: bytes,
        content_type: str,
        metadata: dict[str, str] | None,
        conditions: dict[str, int],
    ) -> httpx.Response:
        boundary = os.urandom(12).hex()
        resource = {"name": path.name, "contentType": content_type}
        if metadata:
            resource["metadata"] = metadata  # type: ignore[assignment]
        body = b"".join(
            (
                f"--{boundary}\r\ncontent-type: application/json\r\n\r\n".encode(),
                msgspec.json.encode(resource),
                f"\r\n--{boundary}\r\ncontent-type: {content_type}\r\n\r\n".encode(),
                data,
                f"\r\n--{boundary}--\r\n".encode(),
            )
        )
        return self._call(
            "POST",
            f"{self.base}/upload/storage/v1/b/{path.bucket}/o",
            params={"uploadType": "multipart", "fields": "generation", **conditions},
            content=body,
            headers={"content-type": f"multipart/related; boundary={boundary}"},
        )

    def reader(self, path: GsPath, generation: int, chunk: int) -> RangeReader:
        """A file-like reader of exactly that generation, `chunk` bytes a request (ObjectGone
        once the generation is replaced)."""
        return RangeReader(self, path, generation, chunk)

    def get_range(self, path: GsPath, generation: int, start: int, end: int) -> httpx.Response:
        """Bytes `start` to `end` (inclusive) of that generation, as the API answers them."""
        return self._call(
            "GET",
            self._object(path),
            params={"alt": "media", "generation": str(generation)},
            headers={"range": f"bytes={start}-{end}"},
        )

    def list_items(self, prefix: GsPath) -> Iterator[tuple[str, dict[str, str], float]]:
        """(name after the prefix, custom metadata, time created) of each object directly under
        `prefix`, page by page: memory stays bounded whatever the count."""
        fields = "items(name,metadata,timeCreated),nextPageToken"
        for item in self._list(prefix, fields, delimiter="/"):
            created = item.get("timeCreated")
            stamp = datetime.fromisoformat(created).timestamp() if created else 0.0
            yield item["name"][len(prefix.name) :], dict(item.get("metadata") or {}), stamp

    def _list(self, prefix: GsPath, fields: str, delimiter: str = "") -> Iterator[dict[str, Any]]:
        params = {"prefix": prefix.name, "maxResults": "1000", "fields": fields}
        if delimiter:
            params["delimiter"] = delimiter
        url = f"{self.base}/storage/v1/b/{prefix.bucket}/o"
        while True:
            answer = self._call("GET", url, params=params)
            check(answer, "list", prefix)
            page = msgspec.json.decode(answer.content)
            yield from page.get("items") or ()
            token = page.get("nextPageToken")
            if not token:
                return
            params["pageToken"] = token

    def compose(self, sources: Sequence[GsPath], target: GsPath, content_type: str) -> None:
        """`target` made of `sources` in order, in a tree of 32-way composes; the inner parts
        are written under `{target}.parts/` (`PARTS`), for the caller to delete once `target`
        exists."""
        level = [s.name for s in sources]
        depth = 0
        with ThreadPoolExecutor(_COMPOSE_THREADS) as pool:
            while len(level) > COMPOSE_MAX_SOURCES:
                groups = [
                    level[i : i + COMPOSE_MAX_SOURCES]
                    for i in range(0, len(level), COMPOSE_MAX_SOURCES)
                ]
                names = [f"{target.name}{PARTS}{depth}-{i:06d}" for i in range(len(groups))]
                list(
                    pool.map(
                        lambda g, n: self._compose(target.bucket, g, n, content_type), groups, names
                    )
                )
                level, depth = names, depth + 1
        self._compose(target.bucket, level, target.name, content_type)

    def _compose(self, bucket: str, names: list[str], target: str, content_type: str) -> None:
        body = {
            "sourceObjects": [{"name": name} for name in names],
            "destination": {"contentType": content_type},
        }
        target_path = GsPath(bucket, target)
        answer = self._call(
            "POST",
            f"{self._object(target_path)}/compose",
            content=msgspec.json.encode(body),
            headers={"content-type": "application/json"},
        )
        check(answer, "compose", target_path)

    def _delete(self, path: GsPath) -> int:
        answer = self._call("DELETE", self._object(path))
        if answer.status_code == 404:
            return 0  # gone already (another caller, an earlier try)
        check(answer, "delete", path)
        return 1

    def delete_under(self, prefix: GsPath) -> int:
        """Delete every object whose name starts with `prefix`; how many went. Idempotent: an
        object already gone (another caller, an earlier try) is not an error."""
        names = (item["name"] for item in self._list(prefix, "items(name),nextPageToken"))
        with ThreadPoolExecutor(_COMPOSE_THREADS) as pool:
            return sum(pool.map(lambda n: self._delete(GsPath(prefix.bucket, n)), names))

    def delete_names(self, prefix: GsPath, names: Sequence[str]) -> int:
        """Delete `prefix` + each of `names` that exists; how many went."""
        with ThreadPoolExecutor(_COMPOSE_THREADS) as pool:
            return sum(pool.map(lambda n: self._delete(prefix.child(n)), names))

    def lines(self, path: GsPath) -> Iterator[bytes]:
        """An object's lines, streamed (bounded memory)."""
        carry = b""
        params = {"alt": "media"}
        headers = self.auth.header()
        with self.client.stream("GET", self._object(path), params=params, headers=headers) as got:
            if got.status_code != 200:
                got.read()
                check(got, "read", path)
            for block in got.iter_bytes():
                *whole, carry = (carry + block).split(b"\n")
                for line in whole:
                    yield line + b"\n"
        if carry:
            yield carry

    def write_lines(self, path: GsPath, lines: Iterator[bytes], content_type: str) -> None:
        """Stream `lines` into `path` (a resumable upload, _UPLOAD_CHUNK a request)."""
        start = self._call(
            "POST",
            f"{self.base}/upload/storage/v1/b/{path.bucket}/o",
            params={"uploadType": "resumable", "name": path.name},
            content=msgspec.json.encode({"name": path.name, "contentType": content_type}),
            headers={"content-type": "application/json", "x-upload-content-type": content_type},
        )
        check(start, "upload", path)
        session = start.headers["location"]
        sent = 0
        buffer = bytearray()
        for line in lines:
            buffer += line
            while len(buffer) >= _UPLOAD_CHUNK:
                self._put_chunk(session, bytes(buffer[:_UPLOAD_CHUNK]), sent, None, path)
                sent += _UPLOAD_CHUNK
                del buffer[:_UPLOAD_CHUNK]
        self._put_chunk(session, bytes(buffer), sent, sent + len(buffer), path)

    def _put_chunk(
        self, session: str, data: bytes, offset: int, total: int | None, path: GsPath
    ) -> None:
        end = f"{offset + len(data) - 1}" if data else "*"
        span = f"bytes {offset}-{end}" if data else "bytes *"
        answer = self._call(
            "PUT",
            session,
            content=data,
            headers={"content-range": f"{span}/{total if total is not None else '*'}"},
        )
        if answer.status_code not in (200, 201, 308):
            check(answer, "upload", path)


def check(answer: httpx.Response, what: str, path: GsPath) -> None:
    if answer.status_code >= 300:
        raise RestError(f"storage {what} {path}: HTTP {answer.status_code}")
