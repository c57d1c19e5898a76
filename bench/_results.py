"""What one benchmark run measured: typed records, written as JSON to bench/results/latest.json."""

from __future__ import annotations

import math

import msgspec

from bench._loadspec import LoadResult
from bench._stats import percentile

__all__ = [
    "Burst",
    "ColdStart",
    "Connections",
    "Goal",
    "InFlight",
    "Machine",
    "Measured",
    "MemorySample",
    "Report",
    "memory_increments",
    "merge",
]


class Machine(msgspec.Struct, kw_only=True):
    cores: int
    cpu_model: str
    python: str
    kernel: str
    date: str
    git: str
    pinning: str
    server_venv: str
    mode: str
    load_before: str
    load_after: str = ""
    duration_s: float = 0.0
    sections: dict[str, float] = msgspec.field(default_factory=dict)  # seconds per section


class Measured(msgspec.Struct, kw_only=True):
    """One target under one load (possibly merged from interleaved rounds)."""

    target: str
    label: str
    clients: int
    result: LoadResult
    server_cpu_ms_per_request: float | None  # CPU of the server's process tree per request
    server_cpu_cores: float | None  # that CPU over the run's wall time (1.0 = one core busy)
    others_cores: float  # CPU used meanwhile by processes outside this benchmark, in cores
    # CPU of the harness process per request: the gateway emulator (a thread in it) answering,
    # for the direct path the whole server side; for the function, its upstream.
    upstream_cpu_ms_per_request: float | None = None


class InFlight(msgspec.Struct, kw_only=True):
    arrivals: str  # "steady" (client starts spread over one delay) or "waves" (all at once)
    delay_ms: int
    ideal_rps: float
    fraction: float
    measured: Measured
    rss_peak_mib: float | None = None
    pss_peak_mib: float | None = None
    upstream_connections: int | None = None  # opened by the server during the run


class ColdStart(msgspec.Struct, kw_only=True):
    variant: str
    label: str
    answer_s: list[float]  # spawn to first successful answer, per start
    port_open_s: list[float]  # spawn to the port accepting connections, per start
    median_answer_s: float
    median_port_open_s: float
    # CPU seconds the server's process tree used from spawn to its first answer, per start:
    # what a start costs, steadier than wall time on a shared machine.
    cpu_s: list[float] = msgspec.field(default_factory=list)
    median_cpu_s: float | None = None


class MemorySample(msgspec.Struct, kw_only=True):
    target: str
    stage: str
    rss_mib: float
    pss_mib: float


class Burst(msgspec.Struct, kw_only=True):
    clients: int
    result: LoadResult
    fetches: dict[str, int]  # Secret Manager AccessSecretVersion calls per secret


class Connections(msgspec.Struct, kw_only=True):
    target: str
    label: str
    requests: int
    clients: int
    opened: int


class Goal(msgspec.Struct, kw_only=True):
    number: int
    goal: str
    measured: str
    met: bool | None  # None: no goal, reported only


class Report(msgspec.Struct, kw_only=True):
    machine: Machine
    notes: dict[str, str]
    skipped: dict[str, str]
    sequential: list[Measured] = msgspec.field(default_factory=list)
    concurrent: list[Measured] = msgspec.field(default_factory=list)
    streaming: list[Measured] = msgspec.field(default_factory=list)
    in_flight: list[InFlight] = msgspec.field(default_factory=list)
    memory: list[MemorySample] = msgspec.field(default_factory=list)
    cold_start: list[ColdStart] = msgspec.field(default_factory=list)
    burst: Burst | None = None
    connections: list[Connections] = msgspec.field(default_factory=list)
    goals: list[Goal] = msgspec.field(default_factory=list)


def memory_increments(report: Report) -> list[tuple[str, str, float, float]]:
    """(variant, stage, RSS, PSS) over the plain function at the same stage of the same run."""
    plain = {m.stage: m for m in report.memory if m.target == "function"}
    return [
        (m.target, m.stage, m.rss_mib - plain[m.stage].rss_mib, m.pss_mib - plain[m.stage].pss_mib)
        for m in report.memory
        if m.target.startswith("function + ") and m.stage in plain
    ]


def merge(results: list[LoadResult]) -> LoadResult:
    """One result from several runs of the same load (their samples are pooled)."""
    samples = [x for r in results for x in (r.samples or [])]
    bodies = [x for r in results for x in (r.first_body_samples or [])]
    ok = sum(r.ok for r in results)
    elapsed = sum(r.elapsed for r in results)
    kinds: dict[str, int] = {}
    statuses: dict[str, int] = {}
    for r in results:
        for key, value in r.error_kinds.items():
            kinds[key] = kinds.get(key, 0) + value
        for key, value in r.statuses.items():
            statuses[key] = statuses.get(key, 0) + value

    def q(values: list[float], p: float) -> float:
        return round(percentile(values, p), 3) if values else math.nan

    # first_byte is not sampled; the pooled median of per-run medians is close enough.
    first_bytes = [r.first_byte_p50 for r in results]
    return LoadResult(
        ok=ok,
        errors=sum(r.errors for r in results),
        error_kinds=kinds,
        elapsed=round(elapsed, 3),
        throughput=round(ok / elapsed, 2) if elapsed else 0.0,
        p50=q(samples, 0.5),
        p90=q(samples, 0.9),
        p99=q(samples, 0.99),
        max=q(samples, 1.0),
        mean=round(sum(samples) / len(samples), 3) if samples else math.nan,
        first_byte_p50=q(first_bytes, 0.5),
        first_body_p50=q(bodies, 0.5),
        first_body_p99=q(bodies, 0.99),
        statuses=statuses,
        total_requests=sum(r.total_requests for r in results),
        total_seconds=round(sum(r.total_seconds for r in results), 3),
        samples=None,
        first_body_samples=None,
    )
