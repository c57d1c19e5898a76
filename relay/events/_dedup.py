"""Pub/Sub delivers at least once: remember which message ids this instance already finished."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

__all__ = ["DEFAULT_REMEMBERED", "Deduplicator"]

# Ids kept at most (oldest forgotten first): ~100 bytes each, so about 1 MB.
DEFAULT_REMEMBERED = 10_000


class Deduplicator:
    """Runs each message id to completion once; a duplicate in flight waits for the first run."""

    def __init__(self, remembered: int = DEFAULT_REMEMBERED) -> None:
        self._done: OrderedDict[str, None] = OrderedDict()
        self._running: dict[str, asyncio.Future[bool]] = {}
        self._remembered = remembered

    async def run_once(self, key: str, work: Callable[[], Awaitable[bool]]) -> bool | None:
        """Run `work` unless `key` already completed; None means it was a duplicate.

        `work` returns True when the message is finished (success or permanent failure) and False
        when it should run again on redelivery; an exception counts as False.
        """
        if key in self._done:
            self._done.move_to_end(key)
            return None
        running = self._running.get(key)
        if running is not None:
            finished = await asyncio.shield(running)
            return None if finished else False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        finished = False
        try:
            finished = await work()
            return finished
        finally:
            del self._running[key]
            future.set_result(finished)
            if finished:
                self._done[key] = None
                while len(self._done) > self._remembered:
                    self._done.popitem(last=False)
