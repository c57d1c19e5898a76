"""The request's deadline as a timer: one rule for cutting work off when the time is up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["MIN_TIMER_SECONDS", "timer", "within"]

T = TypeVar("T")

# A timer never gets less than this: work whose deadline has just passed is still cut off at its
# first await, never run without a bound.
MIN_TIMER_SECONDS = 0.001


def timer(
    deadline: float, clock: Callable[[], float], *, floor: float = MIN_TIMER_SECONDS
) -> asyncio.Timeout:
    """An `asyncio.timeout` for the time left until `deadline` (a `clock()` value), at least
    `floor`."""
    return asyncio.timeout(max(deadline - clock(), floor))


async def within(
    work: Awaitable[T],
    deadline: float,
    clock: Callable[[], float],
    timed_out: Callable[[], Exception],
) -> T:
    """`await work` until `deadline`; when the time runs out, raise `timed_out()` (chained)."""
    try:
        async with timer(deadline, clock):
            return await work
    except TimeoutError as exc:
        raise timed_out() from exc
