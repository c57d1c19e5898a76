"""A closed-loop HTTP/1.1 load generator on raw asyncio sockets, run in its own process.

Each client holds one keep-alive connection and sends the same prepared request bytes again as
soon as the previous answer is complete, so "N clients" means N requests in flight. Responses are
parsed just enough to know where they end (Content-Length or chunked) and how they went (status,
an expected substring); that keeps the generator's own cost per request to a few tens of
microseconds, far below what it measures.

`python -m bench._load` reads one `LoadSpec` as JSON on stdin and prints one `LoadResult` as JSON
on stdout. Everything is bounded: by request count, by duration, by a hard `max_seconds`, and by
a per-request timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import sys
import time

import msgspec

from bench._loadspec import LoadResult, LoadSpec
from bench._rawhttp import Connection
from bench._stats import percentile

__all__ = ["main", "run"]

# After a refused or broken connection a client waits this long before it connects again, so a
# server that is down does not turn the generator into a busy loop.
RECONNECT_PAUSE_SECONDS = 0.01


class _Tally:
    """Shared by the clients of one run: what to send next, and what was measured."""

    def __init__(self, spec: LoadSpec, started: float) -> None:
        self.spec = spec
        self.started = started
        self.claimed = 0
        self.latencies: list[float] = []
        self.first_bytes: list[float] = []
        self.first_bodies: list[float] = []
        self.errors: collections.Counter[str] = collections.Counter()
        self.statuses: collections.Counter[str] = collections.Counter()
        self.last_done = 0.0
        self.total = 0
        if spec.duration is not None:
            # Time mode: the answers completed inside [window_start, window_end) count.
            self.window_start = started + spec.warmup_seconds
            self.window_end = self.window_start + spec.duration
            self.stop_at = min(self.window_end, started + spec.max_seconds)
        else:
            # Count mode: the requests claimed after the first `warmup` ones count.
            self.window_start = 0.0
            self.window_end = 0.0
            self.stop_at = started + spec.max_seconds
        self.first_measured_send = 0.0

    def claim(self) -> bool | None:
        """None: send no more. Else whether the request about to be sent is measured."""
        now = time.perf_counter()
        if now >= self.stop_at:
            return None
        spec = self.spec
        if spec.duration is not None:
            return True
        if self.claimed >= spec.warmup + (spec.requests or 0):
            return None
        measured = self.claimed >= spec.warmup
        self.claimed += 1
        if measured and not self.first_measured_send:
            self.first_measured_send = now
        return measured

    def counts(self, measured: bool, done: float) -> bool:
        """Whether an answer completed at `done` belongs to the measurement."""
        if self.spec.duration is None:
            return measured
        return self.window_start <= done < self.window_end

    def error(self, kind: str, measured: bool, done: float) -> None:
        # In time mode a failure after the window opened counts even when it ends late.
        if (self.spec.duration is None and measured) or (
            self.spec.duration is not None and done >= self.window_start
        ):
            self.errors[kind] += 1


async def _connect(spec: LoadSpec) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(lambda: Connection(loop), spec.host, spec.port)
    return protocol


async def _client(
    tally: _Tally, start: asyncio.Event, conn: Connection | None, offset: float
) -> None:
    spec = tally.spec
    await start.wait()
    if offset > 0:
        await asyncio.sleep(offset)  # the client's place in the ramp (a schedule, not a wait)
    while (measured := tally.claim()) is not None:
        tally.total += 1
        if conn is None or conn.closed:
            try:
                conn = await _connect(spec)
            except OSError as exc:
                tally.error(f"connect:{type(exc).__name__}", measured, time.perf_counter())
                await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
                continue
        sent = time.perf_counter()
        try:
            async with asyncio.timeout(spec.timeout):
                response = await conn.send(spec.request)
        except TimeoutError:
            tally.error("timeout", measured, time.perf_counter())
            conn.close()
            conn = None
            continue
        except OSError as exc:
            tally.error(f"io:{type(exc).__name__}", measured, time.perf_counter())
            conn.close()
            conn = None
            await asyncio.sleep(RECONNECT_PAUSE_SECONDS)
            continue
        done = time.perf_counter()
        if response.status != 200:
            tally.error(f"status:{response.status}", measured, done)
            continue
        if spec.expect is not None and spec.expect not in response.body:
            tally.error("unexpected_body", measured, done)
            continue
        if not tally.counts(measured, done):
            continue
        tally.last_done = max(tally.last_done, done)
        tally.statuses[str(response.status)] += 1
        tally.latencies.append(done - sent)
        tally.first_bytes.append(response.first_byte - sent)
        tally.first_bodies.append(response.first_body - sent)
    if conn is not None:
        conn.close()


async def _drive(spec: LoadSpec) -> _Tally:
    conns: list[Connection | None] = [None] * spec.clients
    if spec.simultaneous:
        opened = await asyncio.gather(
            *(_connect(spec) for _ in range(spec.clients)), return_exceptions=True
        )
        conns = [c if isinstance(c, Connection) else None for c in opened]
    start = asyncio.Event()
    step = spec.ramp / spec.clients if spec.clients else 0.0
    tally = _Tally(spec, time.perf_counter())
    tasks = [
        asyncio.create_task(_client(tally, start, conn, i * step)) for i, conn in enumerate(conns)
    ]
    start.set()
    # The clients stop by themselves (count, duration); this bounds a run whose answers hang.
    bound = tally.stop_at - time.perf_counter() + spec.timeout + 5
    done, pending = await asyncio.wait(tasks, timeout=max(bound, 1.0))
    for task in pending:
        task.cancel()
        tally.errors["cancelled"] += 1
    with contextlib.suppress(Exception):
        await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        exc = task.exception()
        if exc is not None:
            tally.errors[f"client:{type(exc).__name__}"] += 1
    return tally


def _ms(seconds: list[float], q: float) -> float:
    return round(percentile(seconds, q) * 1000, 3) if seconds else math.nan


async def run(spec: LoadSpec) -> LoadResult:
    """Drive the load; the result describes the measured requests only."""
    began = time.perf_counter()
    tally = await _drive(spec)
    total_seconds = time.perf_counter() - began
    latencies = tally.latencies
    if spec.duration is not None:
        elapsed = spec.duration
    else:
        elapsed = max(tally.last_done - tally.first_measured_send, 1e-9)
    return LoadResult(
        ok=len(latencies),
        errors=sum(tally.errors.values()),
        error_kinds=dict(tally.errors),
        elapsed=round(elapsed, 3),
        throughput=round(len(latencies) / elapsed, 2),
        p50=_ms(latencies, 0.5),
        p90=_ms(latencies, 0.9),
        p99=_ms(latencies, 0.99),
        max=_ms(latencies, 1.0),
        mean=round(sum(latencies) / len(latencies) * 1000, 3) if latencies else math.nan,
        first_byte_p50=_ms(tally.first_bytes, 0.5),
        first_body_p50=_ms(tally.first_bodies, 0.5),
        first_body_p99=_ms(tally.first_bodies, 0.99),
        statuses=dict(tally.statuses),
        total_requests=tally.total,
        total_seconds=round(total_seconds, 3),
        samples=[round(x * 1000, 4) for x in latencies] if spec.keep_samples else None,
        first_body_samples=(
            [round(x * 1000, 4) for x in tally.first_bodies] if spec.keep_samples else None
        ),
    )


def main() -> int:
    spec = msgspec.json.decode(sys.stdin.buffer.read(), type=LoadSpec)
    result = asyncio.run(run(spec))
    # JSON has no NaN (msgspec writes null); "nan" strings decode back to NaN, see `decode`.
    fields = {
        key: "nan" if isinstance(value, float) and math.isnan(value) else value
        for key, value in msgspec.structs.asdict(result).items()
    }
    sys.stdout.buffer.write(msgspec.json.encode(fields) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
