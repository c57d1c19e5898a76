"""The retry policy: which failures retry, and how long to wait."""

from __future__ import annotations

import email.utils

import pytest

from relay.retry import (
    INITIAL_RETRY_DELAY,
    MAX_RETRY_AFTER_DELAY,
    MAX_RETRY_DELAY,
    backoff_delay,
    parse_retry_after,
    retry_delay,
    should_retry_status,
)

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "100", "retry-after": "9"}, 0.1),
        ({"retry-after": email.utils.formatdate(NOW + 3, usegmt=True)}, 3.0),
        ({"retry-after": email.utils.formatdate(NOW - 30, usegmt=True)}, 0.0),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after-ms": "x"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After in ms, seconds or an HTTP date; infinite, NaN and junk are ignored."""
    assert parse_retry_after(headers, now=lambda: NOW) == expected


@pytest.mark.parametrize(
    ("status", "headers", "code", "expected"),
    [
        (408, {}, None, True),
        (409, {}, None, True),
        (429, {}, "rate_limit_exceeded", True),
        (429, {}, "insufficient_quota", False),
        (500, {}, None, True),
        (503, {}, None, True),
        (400, {}, None, False),
        (401, {}, None, False),
        (404, {}, None, False),
        (500, {"x-should-retry": "false"}, None, False),
        (400, {"x-should-retry": "true"}, None, True),
    ],
)
def test_should_retry_status(
    status: int, headers: dict[str, str], code: str | None, expected: bool
) -> None:
    """Transient statuses retry; client errors and quota exhaustion do not; the server can say."""
    assert should_retry_status(status, headers, code) is expected


def test_backoff_grows_caps_and_jitter_only_shortens() -> None:
    """Exponential from INITIAL_RETRY_DELAY to MAX_RETRY_DELAY; jitter never lengthens."""
    assert backoff_delay(0, rand=lambda: 0.0) == INITIAL_RETRY_DELAY
    assert backoff_delay(1, rand=lambda: 0.0) == 2 * INITIAL_RETRY_DELAY
    assert backoff_delay(20, rand=lambda: 0.0) == MAX_RETRY_DELAY
    assert backoff_delay(0, rand=lambda: 0.999) < INITIAL_RETRY_DELAY


def test_retry_after_is_obeyed_up_to_the_cap() -> None:
    """A server-given wait is used as is, and one over the cap means 'do not wait'."""
    assert retry_delay(0, 3.0) == 3.0
    assert retry_delay(0, MAX_RETRY_AFTER_DELAY + 1) is None
