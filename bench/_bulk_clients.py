"""What a bulk item's Cloud Storage calls cost in the function process: Google's client library
against the JSON API (relay/bulk/_rest.py on the relay's transport, _store.py on httpx). Used by
bench/bulk.py.

- `item_calls_cpu`: this process's CPU per item for an item's two calls (is it written? write it
  create-only, with metadata), 50 items at a time against the Storage emulator: the library's
  blocking client in worker threads (as bulk items did), the same library used as cheaply as it
  allows (one client, no existence check first: the write's precondition answers that), the
  blocking httpx store in threads, and `GoogleRest` on the relay's transport on the event loop
  (what items do).
- `import_cost_mib`: how much resident memory each set of modules adds to a process that has
  already imported the function (`main`), each in a fresh interpreter.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable

from emulators.stack import ROOT

__all__ = ["IMPORT_SETS", "import_cost_mib", "item_calls_cpu"]

_IN_FLIGHT = 50
_LINE = b'{"custom_id": "x", "result": {"ok": true, "output_text": "Echo"}}\n'
_METADATA = {"ok": "true", "tokens": "12", "cost_usd": "1e-05"}

# What each way of calling loads on top of the function itself.
IMPORT_SETS = {
    "client libraries (storage + pubsub)": ["google.cloud.storage", "google.pubsub_v1"],
    "client library (storage only)": ["google.cloud.storage"],
    "JSON APIs (relay.bulk)": ["relay.bulk"],
    "google-auth Compute Engine credentials": ["google.auth.compute_engine"],
}

_MEASURE = """
import sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
import main
before = rss()
for name in sys.argv[1:]:
    __import__(name)
print(rss() - before)
"""


def import_cost_mib(modules: list[str]) -> float:
    """Resident memory `modules` add after `import main`, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, *modules],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


async def _spread(count: int, one: Callable[[int], Awaitable[None]]) -> float:
    """CPU seconds of this process for `count` calls of `one`, _IN_FLIGHT at a time."""
    gate = asyncio.Semaphore(_IN_FLIGHT)

    async def guarded(i: int) -> None:
        async with gate:
            await one(i)

    started = time.process_time()
    await asyncio.gather(*(guarded(i) for i in range(count)))
    return time.process_time() - started


def item_calls_cpu(storage_url: str, bucket: str, count: int) -> dict[str, float]:
    """CPU microseconds per item of this process, for each way of making an item's calls."""
    os.environ["STORAGE_EMULATOR_HOST"] = storage_url
    from google.api_core.exceptions import PreconditionFailed
    from google.cloud.storage import Client

    from relay.bulk import BulkStore, GoogleRest, GsPath

    client = Client(project="bench")
    library_bucket = client.bucket(bucket)
    store = BulkStore("bench")
    rest = GoogleRest()

    def library(name: str, *, look: bool) -> None:
        blob = library_bucket.blob(name)
        if look and blob.exists():
            return
        blob.metadata = _METADATA
        try:
            blob.upload_from_string(_LINE, content_type="application/json", if_generation_match=0)
        except PreconditionFailed:
            return

    def store_calls(path: GsPath) -> None:
        if not store.exists(path):
            store.put_if(path, _LINE, "application/json", 0, _METADATA)

    async def rest_calls(path: GsPath) -> None:
        if not await rest.exists(path):
            await rest.create(path, _LINE, "application/json", _METADATA)

    def name(kind: str, i: int) -> str:
        return f"bench-clients/{kind}-{run}/{i:06d}.json"

    run = uuid.uuid4().hex[:8]
    ways: dict[str, Callable[[int], Awaitable[None]]] = {
        "client library, look then write (threads)": lambda i: asyncio.to_thread(
            library, name("lib", i), look=True
        ),
        "client library, write only (threads)": lambda i: asyncio.to_thread(
            library, name("lib-write", i), look=False
        ),
        "JSON API on httpx, blocking (threads)": lambda i: asyncio.to_thread(
            store_calls, GsPath(bucket, name("store", i))
        ),
        "JSON API, relay.transport (event loop)": lambda i: rest_calls(
            GsPath(bucket, name("rest", i))
        ),
    }

    async def measure() -> dict[str, float]:
        # One warm-up call each: connections and lazy imports are not per item.
        for way in ways.values():
            await way(count + 1)
        return {label: await _spread(count, way) * 1e6 / count for label, way in ways.items()}

    return asyncio.run(measure())
