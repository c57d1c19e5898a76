"""A run finishes itself: after an item is written, its instance makes sure a count of the run
follows within CHECK_SECONDS; the count that finds nothing pending assembles the output and
publishes the run's one completion message.

Per instance and run, at most one count every CHECK_SECONDS. An item written while a count is
already due returns at once (that count comes after it and sees it); otherwise it counts now, or,
when the last count was too recent, it waits in its own request until CHECK_SECONDS have passed
and counts then (so at most one request per instance and run is waiting). Whichever item is the
last to be written, a count that sees it follows within CHECK_SECONDS, whatever instance wrote it:
no polling, no scheduler. Cost and reasoning: docs/bulk.md, "A run finishes itself".

Exactly one completion message: `{output}_bulk_done.json` is created (generation precondition 0)
by the one count that publishes; it says `publishing` until the message is out, then `published`.
A `publishing` marker older than DONE_TAKEOVER_SECONDS (its publisher died) is taken over with a
precondition on its generation, so the message is still sent, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from ._store import BulkStore, GsPath

if TYPE_CHECKING:
    from ._rest import GoogleRest

__all__ = ["CHECK_SECONDS", "DONE", "RunFinisher", "completion_publisher"]

# Wait for a count (seconds): with the count and assembly, well inside 2 minutes of the last
# item; at 50,000 items that is one 50-page listing per instance every 30 s while a run lasts.
CHECK_SECONDS = 30.0
DONE = "_bulk_done.json"
DONE_TAKEOVER_SECONDS = 120.0
_JSON = "application/json"
_PUBLISH_TIMEOUT_SECONDS = 30.0

Status = Callable[[GsPath], dict[str, Any]]
Publish = Callable[[dict[str, Any]], Awaitable[None]]


class _Done(msgspec.Struct):
    state: str
    at: float


class RunFinisher:
    """One per process: the counts an instance owes the runs it writes items for."""

    def __init__(
        self,
        store: BulkStore,
        status: Status,
        publish: Publish | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.status = status
        self.publish = publish
        self.clock = clock
        self.sleep = sleep
        self._last: dict[str, float] = {}
        self._due: set[str] = set()

    async def item_written(self, output: GsPath) -> None:
        """Called once an item's outcome is written (or found written) under `output`."""
        key = str(output)
        if key in self._due:
            return  # a count is due after this write: it will see it
        wait = self._last.get(key, -CHECK_SECONDS) + CHECK_SECONDS - self.clock()
        if wait > 0:
            self._due.add(key)
            try:
                await self.sleep(wait)
            finally:
                self._due.discard(key)
        self._last[key] = self.clock()
        answer = await asyncio.to_thread(self.status, output)
        if answer.get("state") == "done":
            self._last.pop(key, None)
            await self._announce(output, answer)

    async def _announce(self, output: GsPath, answer: dict[str, Any]) -> None:
        """The completion message, once per run (the marker decides who sends it)."""
        if self.publish is None:
            return
        path = output.child(DONE)
        generation = await asyncio.to_thread(self._claim, path)
        if generation is None:
            return
        await self.publish(answer)
        sent = msgspec.json.encode(_Done("published", time.time()))
        await asyncio.to_thread(self.store.put_if, path, sent, _JSON, generation)

    def _claim(self, path: GsPath) -> int | None:
        """The marker's generation once this count may publish; None when another did."""
        claim = msgspec.json.encode(_Done("publishing", time.time()))
        found = self.store.read_versioned(path)
        if found is None:
            return self.store.put_if(path, claim, _JSON, 0)
        try:
            done = msgspec.json.decode(found[0], type=_Done)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        if done.state == "publishing" and time.time() - done.at > DONE_TAKEOVER_SECONDS:
            return self.store.put_if(path, claim, _JSON, found[1])
        return None


def completion_publisher(topic: str, rest: GoogleRest) -> Publish:
    """Publishes a finished run's status to `topic` (RESULTS_TOPIC): attributes `bulk_id`,
    `source` = `bulk`, `state` = `done`; data the status JSON, sent through `rest`."""

    async def publish(answer: dict[str, Any]) -> None:
        attributes = {"bulk_id": str(answer.get("bulk_id")), "source": "bulk", "state": "done"}
        message = (msgspec.json.encode(answer), attributes)
        await rest.publish(topic, [message], _PUBLISH_TIMEOUT_SECONDS)

    return publish
