"""The speed goals, and how one run measures up to each.

They live here, never in tests: a test asserts behaviour, a benchmark reports speed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench._results import Goal, Measured, Report, memory_increments

__all__ = ["GOALS", "Goals", "evaluate"]


@dataclass(frozen=True, slots=True)
class Goals:
    """The speed goals (README "Performance", docs/performance.md). Never in tests."""

    overhead_p50_ms: float = 1.0
    overhead_p99_ms: float = 5.0
    in_flight_fraction: float = 0.95
    cold_start_ratio: float = 1.3  # secrets read from Secret Manager at run time
    cold_start_env_ratio: float = 1.15  # platform-injected (env) secrets
    memory_mb: float = 150.0  # 10^6 bytes
    fetches_per_secret: int = 1
    # "near the concurrency": at most this many connections per concurrent client.
    connections_per_client: float = 2.0


GOALS = Goals()

# Cloud Run list price per vCPU-second: request-based billing ("CPU only allocated during
# request processing"), Tier 1 regions, beyond the free tier. Cloud Run functions (gen2) are
# billed at Cloud Run's prices. Memory (GiB-seconds) and the per-request fee come on top.
VCPU_SECOND_USD = 0.000024
VCPU_PRICE_SOURCE = (
    "Cloud Run list price, request-based billing, Tier 1: $0.000024 per vCPU-second "
    "(https://cloud.google.com/run/pricing, read 2026-11-30)"
)


def evaluate(report: Report) -> list[Goal]:
    """Each goal: measured value and met / not met, in the order of docs/performance.md."""
    return [goal for check in _CHECKS for goal in check(report)]


def _find(rows: list[Measured], key: str) -> Measured | None:
    return next((m for m in rows if m.target == key), None)


def _overhead(report: Report) -> list[Goal]:
    goals: list[Goal] = []
    for rows, how in ((report.sequential, "sequential"), (report.concurrent, "32 clients")):
        direct, function = _find(rows, "direct"), _find(rows, "function")
        if direct is None or function is None:
            continue
        for name, limit, added in (
            ("p50", GOALS.overhead_p50_ms, function.result.p50 - direct.result.p50),
            ("p99", GOALS.overhead_p99_ms, function.result.p99 - direct.result.p99),
        ):
            goals.append(
                Goal(
                    number=1,
                    goal=f"overhead {name} <= {limit:g} ms ({how})",
                    measured=f"{added:.2f} ms",
                    met=added <= limit,
                )
            )
    return goals


def _cpu_per_request(report: Report) -> list[Goal]:
    """At 32 clients: the function's CPU per request next to the direct path's."""
    direct, function = _find(report.concurrent, "direct"), _find(report.concurrent, "function")
    if direct is None or function is None or function.server_cpu_ms_per_request is None:
        return []
    server_us = function.server_cpu_ms_per_request * 1000
    direct_us = (direct.upstream_cpu_ms_per_request or 0.0) * 1000
    behind = (function.upstream_cpu_ms_per_request or 0.0) * 1000
    return [
        Goal(
            number=1,
            goal="CPU per request at 32 clients (report, no goal)",
            measured=f"function {server_us:,.0f} us vs direct {direct_us:,.0f} us (the emulator "
            f"answering; behind the function it spends {behind:,.0f} us)",
            met=None,
        )
    ]


def _cost(report: Report) -> list[Goal]:
    """CPU-seconds per 1,000 requests on one vCPU, and their list price."""
    rows: list[tuple[str, float]] = []
    fast = _find(report.concurrent, "function")
    if fast is not None and fast.server_cpu_ms_per_request is not None:
        rows.append(("32 clients, instant upstream", fast.server_cpu_ms_per_request))
    for flight in report.in_flight:
        cpu = flight.measured.server_cpu_ms_per_request
        if flight.measured.target == "function" and flight.arrivals == "steady" and cpu:
            rows.append(
                (f"{flight.measured.clients} in flight, {flight.delay_ms} ms upstream", cpu)
            )
    if not rows:
        return []
    # ms of CPU per request = CPU-seconds per 1,000 requests.
    parts = [
        f"{cpu:.2f} CPU-s per 1,000 requests = ${cpu * VCPU_SECOND_USD * 1000:.4f} per "
        f"million ({how})"
        for how, cpu in rows
    ]
    return [
        Goal(
            number=8,
            goal="cost: CPU-seconds per 1,000 requests on one vCPU (report, no goal)",
            measured="; ".join(parts) + f". {VCPU_PRICE_SOURCE}",
            met=None,
        )
    ]


def _in_flight(report: Report) -> list[Goal]:
    goals: list[Goal] = []
    for flight in report.in_flight:
        if flight.measured.target != "function":
            continue
        result = flight.measured.result
        summary = (
            f"{flight.fraction:.3f} of {flight.ideal_rps:.0f}/s, {result.errors} errors, "
            f"p99 {result.p99:,.0f} ms"
        )
        if flight.measured.clients == 200:
            goals.append(
                Goal(
                    number=2,
                    goal=f"200 in flight ({flight.arrivals}): >= {GOALS.in_flight_fraction:g} "
                    "of 200/s, 0 errors",
                    measured=summary,
                    met=flight.fraction >= GOALS.in_flight_fraction and result.errors == 0,
                )
            )
        else:
            goals.append(
                Goal(
                    number=2,
                    goal=f"{flight.measured.clients} in flight ({flight.arrivals}; no goal)",
                    measured=summary,
                    met=None,
                )
            )
    return goals


def _cold_start(report: Report) -> list[Goal]:
    goals: list[Goal] = []
    cold = {c.variant: c for c in report.cold_start}
    hello = cold.get("hello_aio")
    for key, floor_key, how, limit in (
        ("function", "floor_secrets", "secrets from Secret Manager", GOALS.cold_start_ratio),
        ("function_env", "floor", "env secrets", GOALS.cold_start_env_ratio),
    ):
        start = cold.get(key)
        if start is None or hello is None:
            continue
        ratio = start.median_answer_s / hello.median_answer_s
        cpu = ""
        if start.median_cpu_s and hello.median_cpu_s:
            cpu = f"; CPU {start.median_cpu_s / hello.median_cpu_s:.2f}x"
        floor = cold.get(floor_key)
        if floor is not None:
            # What any relay on httpx pays (bench/hello/relay_main.py): the goal's lower bound.
            cpu += f"; floor {floor.median_answer_s / hello.median_answer_s:.2f}x"
        goals.append(
            Goal(
                number=3,
                goal=f"cold start <= {limit:g}x hello world aio ({how})",
                measured=f"{start.median_answer_s:.2f} s vs {hello.median_answer_s:.2f} s = "
                f"{ratio:.2f}x{cpu}",
                met=ratio <= limit,
            )
        )
    return goals


def _memory(report: Report) -> list[Goal]:
    function_memory = [m for m in report.memory if m.target == "function"]
    if not function_memory:
        return []
    worst = max(function_memory, key=lambda m: m.rss_mib)
    megabytes = worst.rss_mib * 1.048576
    goals = [
        Goal(
            number=4,
            goal=f"memory (RSS of the process tree) <= {GOALS.memory_mb:g} MB",
            measured=f"max {megabytes:.0f} MB = {worst.rss_mib:.0f} MiB ({worst.stage}); "
            f"PSS {worst.pss_mib:.0f} MiB",
            met=megabytes <= GOALS.memory_mb,
        )
    ]
    by_variant: dict[str, list[str]] = {}
    for name, stage, rss, _pss in memory_increments(report):
        by_variant.setdefault(name, []).append(f"{rss:+.1f} MiB {stage.split(' (')[0]}")
    for name, deltas in by_variant.items():
        goals.append(
            Goal(
                number=4,
                goal=f"memory increment, {name.removeprefix('function + ')} (report only)",
                measured="; ".join(deltas),
                met=None,
            )
        )
    return goals


def _secret_fetches(report: Report) -> list[Goal]:
    if report.burst is None:
        return []
    fetches = report.burst.fetches
    return [
        Goal(
            number=5,
            goal="200 simultaneous first requests: 1 fetch per secret",
            measured=", ".join(f"{k.rsplit('/', 1)[-1]}: {v}" for k, v in fetches.items())
            + f"; {report.burst.result.errors} errors",
            met=all(v <= GOALS.fetches_per_secret for v in fetches.values())
            and report.burst.result.errors == 0,
        )
    ]


def _connections(report: Report) -> list[Goal]:
    goals: list[Goal] = []
    for conn in report.connections:
        if conn.target != "function":
            continue
        limit = GOALS.connections_per_client * conn.clients
        goals.append(
            Goal(
                number=6,
                goal=f"connections for {conn.requests:,} requests at {conn.clients} clients "
                f"<= {limit:.0f}",
                measured=f"{conn.opened}",
                met=conn.opened <= limit,
            )
        )
    return goals


def _streaming(report: Report) -> list[Goal]:
    stream = {m.target: m for m in report.streaming}
    if "function" not in stream or "direct" not in stream:
        return []
    via, straight = stream["function"].result, stream["direct"].result
    return [
        Goal(
            number=7,
            goal="streaming time to first event (no goal)",
            measured=f"{via.first_body_p50:.2f} ms vs {straight.first_body_p50:.2f} ms direct "
            f"(+{via.first_body_p50 - straight.first_body_p50:.2f} ms)",
            met=None,
        )
    ]


_CHECKS: tuple[Callable[[Report], list[Goal]], ...] = (
    _overhead,
    _cpu_per_request,
    _in_flight,
    _cold_start,
    _memory,
    _secret_fetches,
    _connections,
    _streaming,
    _cost,
)
