"""When a run counts itself (relay/bulk/_finish.py): after every item written, a count that
sees it follows within CHECK_SECONDS, and an instance counts a run at most once per window."""

from __future__ import annotations

import asyncio
from typing import Any

from relay.bulk import CHECK_SECONDS, BulkStore, GsPath, RunFinisher

OUTPUT = GsPath("bucket", "out/run/")


class Scene:
    """A fake clock that sleeps by moving time, and a status that records when it counted."""

    def __init__(self, pending: list[int]) -> None:
        self.now = 0.0
        self.counts: list[float] = []
        self.pending = pending

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)

    def status(self, output: GsPath) -> dict[str, Any]:
        self.counts.append(self.now)
        left = self.pending.pop(0) if self.pending else 0
        return {"state": "done" if left == 0 else "running", "bulk_id": "b"}


def finisher(scene: Scene) -> RunFinisher:
    store = BulkStore("p")  # never called: no completion topic here
    return RunFinisher(store, scene.status, None, clock=scene.clock, sleep=scene.sleep)


def test_first_item_counts_at_once_and_later_ones_wait_for_the_window() -> None:
    scene = Scene([5, 4, 0])
    runs = finisher(scene)

    async def play() -> None:
        await runs.item_written(OUTPUT)  # counts now
        scene.now += 1
        # Two more items inside the window: one waits for the window's end, the other returns.
        await asyncio.gather(runs.item_written(OUTPUT), runs.item_written(OUTPUT))

    asyncio.run(play())
    assert scene.counts == [0.0, CHECK_SECONDS]


def test_an_item_after_the_window_counts_at_once() -> None:
    scene = Scene([3, 0])
    runs = finisher(scene)

    async def play() -> None:
        await runs.item_written(OUTPUT)
        scene.now += CHECK_SECONDS + 5
        await runs.item_written(OUTPUT)

    asyncio.run(play())
    assert scene.counts == [0.0, CHECK_SECONDS + 5]
