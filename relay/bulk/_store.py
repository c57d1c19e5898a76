"""Cloud Storage and Pub/Sub for bulk runs, through Google's own client libraries.

The storage client is synchronous (requests): every call here is meant to run in a worker
thread (`asyncio.to_thread`). Libraries load on first use, as for the result sinks.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidRequest

__all__ = ["COMPOSE_MAX_SOURCES", "PARTS", "BulkStore", "GsPath", "publish_items"]

# Cloud Storage composes at most 32 objects per call.
COMPOSE_MAX_SOURCES = 32
_COMPOSE_THREADS = 16
# Where compose keeps a tree's inner objects: `{target}{PARTS}`.
PARTS = ".parts/"
# Pub/Sub takes at most 1,000 messages (and 10 MB) per publish call.
PUBLISH_CHUNK = 500
_GS = re.compile(r"^gs://(?P<bucket>[a-z0-9][a-z0-9._-]{1,220}[a-z0-9])/(?P<name>[^\r\n]*)\Z")


@dataclass(frozen=True, slots=True)
class GsPath:
    """A bucket and an object name (or, ending in `/`, a prefix)."""

    bucket: str
    name: str

    @classmethod
    def parse(cls, uri: str, field: str, *, folder: bool) -> GsPath:
        match = _GS.match(uri)
        if match is None:
            raise InvalidRequest(f"{field}: must be gs://BUCKET/NAME")
        name = match["name"]
        if folder and name and not name.endswith("/"):
            raise InvalidRequest(f"{field}: must end in / (a folder for the results)")
        if not folder and (not name or name.endswith("/")):
            raise InvalidRequest(f"{field}: must name an object, not a folder")
        return cls(match["bucket"], name)

    def child(self, name: str) -> GsPath:
        return GsPath(self.bucket, self.name + name)

    def __str__(self) -> str:
        return f"gs://{self.bucket}/{self.name}"


class BulkStore:
    """Reads, writes, lists and composes objects (blocking: call from a worker thread)."""

    def __init__(self, project: str | None) -> None:
        self.project = project
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud.storage import Client

            self._client = Client(project=self.project)
        return self._client

    def _blob(self, path: GsPath) -> Any:
        return self.client.bucket(path.bucket).blob(path.name)

    def stat(self, path: GsPath) -> tuple[int, int] | None:
        """(size, generation) of an object, None when it does not exist."""
        blob = self.client.bucket(path.bucket).get_blob(path.name)
        return None if blob is None else (int(blob.size), int(blob.generation))

    def read(self, path: GsPath, generation: int | None = None) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            blob = self.client.bucket(path.bucket).blob(path.name, generation=generation)
            data: bytes = blob.download_as_bytes()
        except NotFound:
            return None
        return data

    def create(
        self,
        path: GsPath,
        data: bytes,
        content_type: str,
        metadata: dict[str, str] | None = None,
        *,
        look_first: bool = True,
    ) -> bool:
        """Write `path` only if it does not exist yet; False when it already did."""
        from google.api_core.exceptions import PreconditionFailed

        blob = self._blob(path)
        # if_generation_match=0 is what makes this safe on Cloud Storage; the look first is for
        # stand-ins that ignore preconditions (gcp-storage-emulator), and costs one GET (skipped
        # by a caller that has just looked).
        if look_first and blob.exists():
            return False
        if metadata:
            blob.metadata = metadata
        try:
            blob.upload_from_string(data, content_type=content_type, if_generation_match=0)
        except PreconditionFailed:
            return False
        return True

    def write(self, path: GsPath, data: bytes, content_type: str) -> None:
        self._blob(path).upload_from_string(data, content_type=content_type)

    def exists(self, path: GsPath) -> bool:
        return bool(self._blob(path).exists())

    def list_items(self, prefix: GsPath) -> Iterator[tuple[str, dict[str, str]]]:
        """(name after the prefix, custom metadata) of each object directly under `prefix`,
        page by page: memory stays bounded whatever the count."""
        blobs = self.client.list_blobs(
            prefix.bucket, prefix=prefix.name, delimiter="/", page_size=1000
        )
        for blob in blobs:
            yield blob.name[len(prefix.name) :], dict(blob.metadata or {})

    def compose(self, sources: Sequence[GsPath], target: GsPath, content_type: str) -> None:
        """`target` made of `sources` in order, in a tree of 32-way composes; the inner parts
        are written under `{target}.parts/` (`PARTS`), for the caller to delete once `target`
        exists."""
        bucket = self.client.bucket(target.bucket)
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
                    pool.map(lambda g, n: self._compose(bucket, g, n, content_type), groups, names)
                )
                level, depth = names, depth + 1
        self._compose(bucket, level, target.name, content_type)

    @staticmethod
    def _compose(bucket: Any, names: list[str], target: str, content_type: str) -> None:
        from google.cloud.storage.retry import DEFAULT_RETRY

        blob = bucket.blob(target)
        blob.content_type = content_type
        # Sources never change once written, so a repeated compose gives the same object:
        # safe to retry (the library retries compose only with a precondition by default).
        blob.compose([bucket.blob(name) for name in names], retry=DEFAULT_RETRY)

    def delete_under(self, prefix: GsPath) -> int:
        """Delete every object whose name starts with `prefix`; how many went. Idempotent: an
        object already gone (another caller, an earlier try) is not an error."""
        from google.api_core.exceptions import NotFound

        bucket = self.client.bucket(prefix.bucket)

        def delete(name: str) -> int:
            try:
                bucket.blob(name).delete()
            except NotFound:
                return 0
            return 1

        names = (b.name for b in self.client.list_blobs(prefix.bucket, prefix=prefix.name))
        with ThreadPoolExecutor(_COMPOSE_THREADS) as pool:
            return sum(pool.map(delete, names))

    def lines(self, path: GsPath) -> Iterator[bytes]:
        """An object's lines, streamed (bounded memory)."""
        with self._blob(path).open("rb") as stream:
            yield from stream

    def write_lines(self, path: GsPath, lines: Iterator[bytes], content_type: str) -> None:
        """Stream `lines` into `path` (a resumable upload; bounded memory)."""
        with self._blob(path).open("wb", content_type=content_type) as out:
            for line in lines:
                out.write(line)


async def publish_items(
    topic: str,
    messages: Sequence[tuple[bytes, dict[str, str]]],
    timeout: float,
    on_chunk: Callable[[int], Awaitable[None]],
) -> None:
    """Publish `messages` (data, attributes) in chunks, in order; `on_chunk(n)` after each
    chunk with how many are published so far (so a re-submission can resume there)."""
    from google.pubsub_v1 import PublisherAsyncClient, PubsubMessage

    client = PublisherAsyncClient()
    for start in range(0, len(messages), PUBLISH_CHUNK):
        part = messages[start : start + PUBLISH_CHUNK]
        chunk = [PubsubMessage(data=data, attributes=attributes) for data, attributes in part]
        await client.publish(topic=topic, messages=chunk, timeout=timeout)
        await on_chunk(start + len(chunk))
