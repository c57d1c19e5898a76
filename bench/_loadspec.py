"""What the load generator (bench/_load.py) is asked to do, and what it answers, as JSON."""

from __future__ import annotations

import msgspec

__all__ = ["LoadResult", "LoadSpec", "decode"]


class LoadSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What to send, to where, how many at once, and for how long."""

    host: str = "127.0.0.1"
    port: int
    request: bytes  # one complete HTTP/1.1 request, keep-alive
    clients: int = 1
    # Count mode: `warmup` requests, then `requests` measured ones (shared by the clients).
    requests: int | None = None
    warmup: int = 0
    # Time mode: the answers completed in [warmup_seconds, warmup_seconds + duration) count.
    duration: float | None = None
    warmup_seconds: float = 0.0
    ramp: float = 0.0  # client i starts i * ramp / clients seconds after the first
    timeout: float = 30.0  # per request
    max_seconds: float = 120.0  # hard cap on the measured phase
    expect: bytes | None = None  # the body must contain this to count as a success
    simultaneous: bool = False  # connect every client first, then fire one request each at once
    keep_samples: bool = False  # return every latency (ms), so runs can be merged


class LoadResult(msgspec.Struct, frozen=True, kw_only=True):
    """Latencies in milliseconds; `elapsed` from the first send to the last completion."""

    ok: int
    errors: int
    error_kinds: dict[str, int]
    elapsed: float
    throughput: float
    p50: float
    p90: float
    p99: float
    max: float
    mean: float
    first_byte_p50: float  # status line received
    first_body_p50: float  # first body byte (for a stream: its first event)
    first_body_p99: float
    statuses: dict[str, int]
    total_requests: int = 0  # every answer or failure, warm-up and tail included
    total_seconds: float = 0.0  # the whole run, warm-up and tail included
    samples: list[float] | None = None  # latencies in ms, when asked for
    first_body_samples: list[float] | None = None  # ms to the first body byte, when asked for


def decode(data: bytes) -> LoadResult:
    """A LoadResult as `main` prints it."""
    return msgspec.json.decode(data, type=LoadResult, strict=False)
