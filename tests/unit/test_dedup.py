"""The Pub/Sub de-duplicator: each message id finishes once, in bounded memory."""

from __future__ import annotations

import asyncio

from relay.events import Deduplicator


def test_completed_id_is_not_run_again() -> None:
    """A finished message id is skipped; a transiently failed one runs again."""
    runs: list[str] = []

    async def main() -> list[bool | None]:
        dedup = Deduplicator()

        async def ok() -> bool:
            runs.append("ok")
            return True

        async def transient() -> bool:
            runs.append("transient")
            return False

        return [
            await dedup.run_once("a", ok),
            await dedup.run_once("a", ok),
            await dedup.run_once("b", transient),
            await dedup.run_once("b", ok),
        ]

    assert asyncio.run(main()) == [True, None, False, True]
    assert runs == ["ok", "transient", "ok"]


def test_concurrent_duplicate_waits_for_the_first() -> None:
    """Two deliveries of one id at once: one run, the other reports a duplicate."""
    runs = 0

    async def main() -> list[bool | None]:
        dedup = Deduplicator()
        gate = asyncio.Event()

        async def slow() -> bool:
            nonlocal runs
            runs += 1
            await gate.wait()
            return True

        first = asyncio.create_task(dedup.run_once("m", slow))
        second = asyncio.create_task(dedup.run_once("m", slow))
        await asyncio.sleep(0)
        gate.set()
        return [await first, await second]

    assert asyncio.run(main()) == [True, None]
    assert runs == 1


def test_memory_is_bounded() -> None:
    """Only the most recent ids are remembered."""

    async def main() -> tuple[bool | None, bool | None]:
        dedup = Deduplicator(remembered=3)

        async def ok() -> bool:
            return True

        for key in "abcd":
            await dedup.run_once(key, ok)
        return await dedup.run_once("a", ok), await dedup.run_once("d", ok)

    assert asyncio.run(main()) == (True, None)
