"""Submitting a bulk run: the input read as a stream and checked whole, the manifest written
once, then every line published once, however often and however concurrently the same
submission arrives.

Two guards keep a line from going out twice. In one process, submissions to the same folder
take turns (an asyncio lock). Across instances, only the holder of the publishing lease
(`_lease.py`, a Cloud Storage generation precondition) publishes, recording after each chunk how
many are out; a later submission resumes after that count. Only a holder that dies between a
publish call and its record can leave one chunk to go out twice; items are idempotent on the
running side (docs/bulk.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import weakref
from collections.abc import Callable, Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..errors import InvalidRequest, PayloadTooLarge
from ..settings import Settings
from ._lease import LEASE_SECONDS, PublishLease
from ._lines import CheckedFile, check_lines, parse_line, split_lines
from ._manifest import MANIFEST, Manifest, create_or_match
from ._rest import GoogleRest
from ._store import BulkStore, GsPath, ObjectGone, allowed_bucket

__all__ = [
    "BULK_MAX_BYTES",
    "BULK_MAX_ITEMS",
    "PUBLISHED",
    "READ_CHUNK",
    "output_folder",
    "publish_items",
    "submit",
    "turn",
]

BULK_MAX_BYTES = 256 * 1024 * 1024
BULK_MAX_ITEMS = 50_000
PUBLISHED = "_bulk_published.json"
# The input is fetched this many bytes a request: with one line at most MAX_BODY_BYTES, what a
# submission holds of it stays under READ_CHUNK + MAX_BODY_BYTES.
READ_CHUNK = 1024 * 1024
# Pub/Sub takes at most 1,000 messages (and 10 MB) per publish call.
PUBLISH_CHUNK = 500
_PUBLISH_TIMEOUT_SECONDS = 30.0
# How often a submission that finds another one publishing looks again.
_WAIT_SECONDS = 0.5
_BULK_ID = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")

T = TypeVar("T")
_reader_thread = ThreadPoolExecutor(1, thread_name_prefix="bulk-input")
# One lock per output folder, while any submission to it is in this process.
_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()


def output_folder(request: Any, settings: Settings) -> GsPath:
    """The `bulk.output` folder, `{date}` (UTC) filled in: a scheduled job gets a new folder,
    so a new run, each day."""
    day = time.strftime("%Y-%m-%d", time.gmtime())
    output = GsPath.parse(request.output.replace("{date}", day), "bulk.output", folder=True)
    allowed_bucket(output, settings.bulk_buckets, "bulk.output")
    return output


def turn(output: GsPath) -> asyncio.Lock:
    """The lock submissions (and reruns) to one folder take turns on in this process."""
    return _turns.setdefault(str(output), asyncio.Lock())


async def submit(store: BulkStore, settings: Settings, topic: str, request: Any) -> dict[str, Any]:
    """Check, record and publish the run `request` (a `bulk` body) asks for; the answer."""
    if request.input is None:
        raise InvalidRequest("bulk.input: required (unless rerun is given)")
    source = GsPath.parse(request.input, "bulk.input", folder=False)
    allowed_bucket(source, settings.bulk_buckets, "bulk.input")
    output = output_folder(request, settings)
    if request.id is not None and not _BULK_ID.match(request.id):
        raise InvalidRequest("bulk.id: 1 to 64 of A-Z a-z 0-9 . _ -")
    async with turn(output):
        size, generation = await asyncio.to_thread(_stat, store, source)
        checked = await _reading(_check, store, settings, source, generation, size)
        bulk_id = request.id or _bulk_id(source, generation, output)
        fresh = Manifest(
            id=bulk_id,
            input=str(source),
            generation=generation,
            output=str(output),
            total=len(checked.custom_ids),
            created=time.time(),
            custom_ids=checked.custom_ids,
            openai=checked.openai,
            service_tier=request.service_tier,
        )
        manifest = await asyncio.to_thread(create_or_match, store, output, fresh)
        del fresh, checked  # the ids are in `manifest` now (or in the one already there)
        lease = PublishLease(store, output.child(PUBLISHED))
        already, published = await publish_items(store, topic, lease, manifest, manifest.total)
    return {
        "ok": True,
        "bulk_id": manifest.id,
        "total": manifest.total,
        "published": published,
        "already_published": already,
        "output": str(output),
        "manifest": str(output.child(MANIFEST)),
    }


async def publish_items(
    store: BulkStore,
    topic: str,
    lease: PublishLease,
    manifest: Manifest,
    total: int,
    only: frozenset[str] | None = None,
) -> tuple[int, int]:
    """Publish the run's items (`only` those, when given: `total` of them) under `lease`,
    resuming after its count; (how many were out before, how many this call published)."""
    source = GsPath.parse(manifest.input, "manifest input", folder=False)
    waited_until = time.monotonic() + LEASE_SECONDS
    while True:
        done = await asyncio.to_thread(lease.published)
        if done >= total:
            return done, 0
        start = await asyncio.to_thread(lease.take)
        if start is not None:
            break
        # Another instance is publishing this run: wait for it to finish (or for its lease
        # to run out, when it died), then answer with what is out.
        if time.monotonic() > waited_until:
            return done, 0
        await asyncio.sleep(_WAIT_SECONDS)
    client = GoogleRest()
    attributes = {"bulk_id": manifest.id, "bulk_output": manifest.output}
    batches = _batches(store, source, manifest.generation, start, attributes, only)
    count = start
    try:
        while batch := await _reading(next, batches, None):
            renew = lease.seconds_left() < _PUBLISH_TIMEOUT_SECONDS + 10
            if renew and not await asyncio.to_thread(lease.advance, count):
                break  # lost: another submission publishes from here
            await client.publish(topic, batch, _PUBLISH_TIMEOUT_SECONDS)
            count += len(batch)
            if not await asyncio.to_thread(lease.advance, count):
                break
    finally:
        batches.close()
        await client.aclose()
        if lease.generation is not None:
            await asyncio.to_thread(lease.advance, count, release=True)
    return start, count - start


async def _reading(work: Callable[..., T], *args: Any) -> T:
    """`work` in the one thread that reads inputs: large buffers freed in many threads would
    each keep a malloc arena of their own, and the process's memory with them (measured: a
    256 MiB submission's peak went from 43 to 113 MiB spread over the default pool's threads)."""
    return await asyncio.get_running_loop().run_in_executor(_reader_thread, work, *args)


def _batches(
    store: BulkStore,
    source: GsPath,
    generation: int,
    skip: int,
    attributes: dict[str, str],
    only: frozenset[str] | None,
) -> Generator[list[tuple[bytes, dict[str, str]]], None, None]:
    """The messages after the first `skip` items (of `only`, when given), PUBLISH_CHUNK at a
    time, read again from the generation that was checked (no body is kept in between)."""
    batch: list[tuple[bytes, dict[str, str]]] = []
    seen = 0
    try:
        with store.reader(source, generation, READ_CHUNK) as stream:
            for raw in split_lines(stream.read, READ_CHUNK, BULK_MAX_BYTES):
                if raw is None or not raw.strip():
                    continue
                item = parse_line(raw)
                if only is not None and item.custom_id not in only:
                    continue
                seen += 1
                if seen <= skip:
                    continue
                ids = {"custom_id": item.custom_id, "request_id": item.custom_id}
                batch.append((item.body, {**attributes, **ids}))
                if len(batch) == PUBLISH_CHUNK:
                    yield batch
                    batch = []
    except ObjectGone:
        raise InvalidRequest(
            f"bulk.input {source} was replaced while its items were being published "
            f"(generation {generation} is gone); bulk_status says how many ran"
        ) from None
    if batch:
        yield batch


def _stat(store: BulkStore, source: GsPath) -> tuple[int, int]:
    stat = store.stat(source)
    if stat is None:
        raise InvalidRequest(f"bulk.input: {source} does not exist or cannot be read")
    size, generation = stat
    if size > BULK_MAX_BYTES:
        raise PayloadTooLarge(f"bulk.input is {size} bytes; the limit is {BULK_MAX_BYTES}")
    return size, generation


def _check(
    store: BulkStore, settings: Settings, source: GsPath, generation: int, size: int
) -> CheckedFile:
    """Every line checked as it streams in, that generation only."""
    try:
        with store.reader(source, generation, min(READ_CHUNK, max(size, 1))) as stream:
            lines = split_lines(stream.read, READ_CHUNK, settings.max_body_bytes)
            return check_lines(lines, BULK_MAX_ITEMS, settings)
    except ObjectGone:
        raise InvalidRequest(f"bulk.input: {source} was replaced while being read") from None


def _bulk_id(source: GsPath, generation: int, output: GsPath) -> str:
    """The same input object (same generation) into the same folder is the same run."""
    digest = hashlib.sha256(f"{source}#{generation}>{output}".encode()).hexdigest()
    return f"bulk-{digest[:20]}"
