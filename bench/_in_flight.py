"""2. Calls in flight: one server against a slow upstream (4. with its memory at the peak).

200 clients against a 1 s upstream (ideal: 200/s), steady arrivals and lockstep waves; then
1,000 clients against a 2 s upstream (ideal: 500/s). Each run gets a fresh process of the
target's server when it has a factory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bench._loadspec import LoadSpec
from bench._memory import MemoryPeak, mib
from bench._procs import wait_idle
from bench._results import InFlight
from bench._suite import Bench, Target

__all__ = ["in_flight"]

# A call to a 1-2 s upstream that takes this long has failed, whatever it answers later.
IN_FLIGHT_TIMEOUT_SECONDS = 15.0
# The lockstep ("waves") runs last this share of the steady window (they are the slow ones).
WAVES_SHARE = 0.6


def in_flight(bench: Bench, targets: list[Target]) -> None:
    """Every slow-upstream run of the targets that take part (`Target.in_flight`)."""
    sizes = bench.sizes
    chosen = [t for t in targets if t.in_flight]
    try:
        print("2. in flight: 200 clients, upstream 1000 ms ...", flush=True)
        bench.gateway.delay_ms = 1000
        for target in chosen:
            _fresh_run(
                bench,
                target,
                lambda t: _in_flight_one(bench, t, 200, 1000, sizes.in_flight_seconds, steady=True),
            )
        for target in chosen:
            _fresh_run(
                bench,
                target,
                lambda t: _in_flight_one(
                    bench, t, 200, 1000, sizes.in_flight_seconds, steady=False
                ),
            )
        print("2. in flight: 1000 clients, upstream 2000 ms ...", flush=True)
        bench.gateway.delay_ms = 2000
        for target in chosen:
            _fresh_run(
                bench,
                target,
                lambda t: _in_flight_one(bench, t, 1000, 2000, sizes.big_seconds, steady=True),
            )
    finally:
        bench.gateway.delay_ms = 0


def _fresh_run(bench: Bench, target: Target, work: Callable[[Target], InFlight]) -> InFlight:
    """Run `work` on a new process of the target's server when it has a factory."""
    if target.fresh is None:
        return work(target)
    server = target.fresh()
    try:
        return work(replace(target, port=server.port, server=server))
    finally:
        server.stop()


def _in_flight_one(
    bench: Bench,
    target: Target,
    clients: int,
    delay_ms: int,
    seconds: float,
    *,
    steady: bool,
) -> InFlight:
    """One run at `clients` against a `delay_ms` upstream, recorded in the report."""
    delay = delay_ms / 1000
    if steady:
        # Client starts spread over one upstream delay: requests arrive evenly, as they do
        # from many independent callers. Answers completed in the window count.
        spec = LoadSpec(
            port=target.port,
            request=target.request,
            clients=clients,
            ramp=delay,
            warmup_seconds=2 * delay,
            duration=seconds,
            timeout=IN_FLIGHT_TIMEOUT_SECONDS,
            max_seconds=2 * delay + seconds,
            expect=target.expect,
        )
    else:
        # Every client at once, in lockstep: each wave of `clients` requests arrives together.
        waves = max(round(seconds / delay * WAVES_SHARE), 2)
        spec = LoadSpec(
            port=target.port,
            request=target.request,
            clients=clients,
            warmup=clients,
            requests=clients * waves,
            timeout=IN_FLIGHT_TIMEOUT_SECONDS,
            max_seconds=2 * waves * delay,
            expect=target.expect,
        )
    if target.server is not None:
        # A server that fell behind in the previous run may still be working off abandoned
        # requests: poll until it is idle, so that work is not billed to this run.
        wait_idle(target.server.pid)
    peak = MemoryPeak(target.server.pid) if target.server else None
    if peak is not None:
        peak.start()
    opened = bench.connections_opened()
    try:
        measured = bench.measure(target, spec)
    finally:
        if peak is not None:
            peak.finish()
    opened = bench.connections_opened() - opened
    ideal = clients / delay
    arrivals = "steady" if steady else "waves"
    flight = InFlight(
        arrivals=arrivals,
        delay_ms=delay_ms,
        ideal_rps=ideal,
        fraction=round(measured.result.throughput / ideal, 3),
        measured=measured,
        rss_peak_mib=mib(peak.rss_kib) if peak else None,
        pss_peak_mib=mib(peak.pss_kib) if peak else None,
        upstream_connections=opened if target.server else None,
    )
    bench.report.in_flight.append(flight)
    if target.server is not None and target.key == "function":
        stage = f"{clients} clients ({arrivals})"
        bench.memory(target.key, f"after {stage}", target.server)
        if peak is not None:
            bench.report.memory.append(peak.as_sample(target.key, f"peak during {stage}"))
    return flight
