"""The one retry policy for upstream calls, modelled on openai-python's.

Every tunable is a named constant here. What is retried: connection errors, timeouts, 408, 409,
429 and 5xx, unless the server says `x-should-retry: false` (and always when it says `true`);
never a 429 `insufficient_quota` (waiting does not fix billing). Waits grow exponentially with
jitter that only shortens them (four times longer for flex processing's 429 "Resource
Unavailable": capacity comes back in tens of seconds, not in one), and obey `retry-after-ms` /
`Retry-After` up to a cap. A wait is only taken when it and a useful attempt still fit inside the
request's deadline.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping

__all__ = [
    "INITIAL_RETRY_DELAY",
    "MAX_RETRY_AFTER_DELAY",
    "MAX_RETRY_DELAY",
    "MIN_ATTEMPT_SECONDS",
    "SLOW_RETRY_FACTOR",
    "backoff_delay",
    "capacity_unavailable",
    "parse_retry_after",
    "retry_delay",
    "should_retry_status",
]

INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
# A server asking for a longer pause than this is not waited for: the caller gets the 429 and
# its Retry-After instead, which is cheaper than holding an instance.
MAX_RETRY_AFTER_DELAY = 60.0
# Flex processing out of capacity: waits this many times longer, up to this cap.
SLOW_RETRY_FACTOR = 4.0
MAX_SLOW_RETRY_DELAY = 30.0
# OpenAI's flex guide names the 429 "Resource Unavailable"; the code is matched too, in case.
CAPACITY_CODES = frozenset({"resource_unavailable"})
CAPACITY_MESSAGE = "resource unavailable"
# Jitter takes up to this fraction off a computed wait (never adds to it).
JITTER_FRACTION = 0.25
# An attempt with less time than this left is not worth starting.
MIN_ATTEMPT_SECONDS = 0.25
RETRYABLE_STATUSES = frozenset({408, 409, 429})
# 429 codes that no amount of waiting fixes.
NON_RETRYABLE_429_CODES = frozenset({"insufficient_quota"})


def should_retry_status(
    status: int, headers: Mapping[str, str], upstream_code: str | int | None
) -> bool:
    """Whether an upstream HTTP error is worth another attempt."""
    # The server knows best when it says so explicitly (OpenAI and proxies send this).
    explicit = headers.get("x-should-retry", "").strip().lower()
    if explicit == "true":
        return True
    if explicit == "false":
        return False
    if status == 429:
        return upstream_code not in NON_RETRYABLE_429_CODES
    # Request timeout, lock conflict, and server errors are transient.
    return status in RETRYABLE_STATUSES or status >= 500


def capacity_unavailable(message: str, upstream_code: str | int | None) -> bool:
    """Whether a 429 is flex processing without capacity rather than a rate limit."""
    return upstream_code in CAPACITY_CODES or CAPACITY_MESSAGE in message.lower()


def parse_retry_after(
    headers: Mapping[str, str], now: Callable[[], float] = time.time
) -> float | None:
    """Seconds the server asks us to wait (`retry-after-ms` or `Retry-After`); None if unusable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            seconds = float(raw_ms) / 1000
        except ValueError:
            seconds = math.nan
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - now()
    if not math.isfinite(seconds):
        return None
    return max(seconds, 0.0)


def backoff_delay(
    retries_taken: int, rand: Callable[[], float] = random.random, *, slow: bool = False
) -> float:
    """Exponential backoff with shortening jitter: 0.5, 1, 2, 4, 8, 8, ... seconds at most
    (`slow`: 2, 4, 8, 16, 30, 30, ...)."""
    if slow:
        delay = min(
            INITIAL_RETRY_DELAY * SLOW_RETRY_FACTOR * 2.0**retries_taken, MAX_SLOW_RETRY_DELAY
        )
    else:
        delay = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
    return delay * (1 - JITTER_FRACTION * rand())


def retry_delay(
    retries_taken: int,
    retry_after: float | None,
    rand: Callable[[], float] = random.random,
    *,
    slow: bool = False,
) -> float | None:
    """The wait before the next attempt; None when the server asks for more than we will wait.
    `slow` is for flex capacity (see `capacity_unavailable`)."""
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER_DELAY:
            return None
        return retry_after
    return backoff_delay(retries_taken, rand, slow=slow)
