"""The run's results as markdown: the machine, the goals, then one table per measurement."""

from __future__ import annotations

import math
from collections.abc import Callable

from bench._results import InFlight, Measured, Report, memory_increments

__all__ = ["render", "results_page"]


def cell(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def ratio(value: float | None, base: float | None) -> str:
    if not value or not base or math.isnan(value) or math.isnan(base):
        return "-"
    return f"{value / base:.2f}x"


def table(title: str, header: list[str], rows: list[list[str]], note: str = "") -> list[str]:
    """A titled markdown table, with a note under it; nothing when there are no rows."""
    if not rows:
        return []
    lines = [title, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + (["", note] if note else [])


def _machine(report: Report) -> list[str]:
    m = report.machine
    return [
        f"Machine: {m.cores} cores, {m.cpu_model}, {m.kernel}; Python {m.python} "
        f"(servers run from {m.server_venv}); {m.date}; git {m.git}; mode {m.mode}; "
        f"took {m.duration_s:.0f} s.",
        f"Pinning: {m.pinning}. Load average before / after: {m.load_before} / {m.load_after}.",
        "Seconds per section: " + ", ".join(f"{k} {v:.0f}" for k, v in m.sections.items()) + ".",
    ]


def _goals(report: Report) -> list[str]:
    rows = [
        [
            f"{g.number}",
            g.goal,
            g.measured,
            "-" if g.met is None else ("**met**" if g.met else "**not met**"),
        ]
        for g in report.goals
    ]
    return table("### Goals", ["#", "goal", "measured", "verdict"], rows)


def _server_cpu(m: Measured | None) -> float | None:
    """The server's CPU per request; for the direct path, the emulator's (in the harness)."""
    if m is None:
        return None
    return m.upstream_cpu_ms_per_request if m.target == "direct" else m.server_cpu_ms_per_request


def _overhead(report: Report) -> list[str]:
    c32 = {m.target: m for m in report.concurrent}
    base_s = next((m for m in report.sequential if m.target == "direct"), None)
    base_c = c32.get("direct")
    if base_s is None or base_c is None:
        return []
    rows = []
    for s in report.sequential:
        c = c32.get(s.target)
        r = c.result if c else None
        rows.append(
            [
                s.label,
                cell(s.result.p50),
                cell(s.result.p99),
                ratio(s.result.p50, base_s.result.p50),
                cell(r.p50 if r else None, 1),
                cell(r.p99 if r else None, 1),
                cell(r.throughput if r else None, 0),
                f"{cell(_server_cpu(s))} / {cell(_server_cpu(c))}",
                f"{s.result.errors + (r.errors if r else 0)}",
            ]
        )
        if s.target == "function" and r is not None:
            added = (
                s.result.p50 - base_s.result.p50,
                s.result.p99 - base_s.result.p99,
                r.p50 - base_c.result.p50,
                r.p99 - base_c.result.p99,
            )
            a, b, c_, d = (f"+{cell(x, 2 if i < 2 else 1)}" for i, x in enumerate(added))
            rows.append(["→ function - direct", a, b, "", c_, d, "", "", ""])
    others = max([m.others_cores for m in report.sequential + report.concurrent], default=0.0)
    header = ["path", "seq p50", "seq p99", "p50 x direct", "32 clients p50", "32 clients p99"]
    header += ["req/s at 32", "server CPU ms/req (seq / 32)", "errors"]
    return table(
        "### 1. Overhead: the same Chat Completions request, direct vs through (ms)",
        header,
        rows,
        f"sequential: {base_s.result.ok:,} requests per path (interleaved rounds); 32 clients: "
        f"{base_c.result.ok:,} (direct). CPU used by other processes meanwhile: up to "
        f"{others:.2f} cores. Server CPU of the direct path: the emulator's (a thread of the "
        "harness process).",
    )


def _flight_row(flight: InFlight) -> list[str]:
    m, r = flight.measured, flight.measured.result
    return [
        f"{m.clients}",
        f"{flight.delay_ms / 1000:g} s",
        flight.arrivals,
        m.label,
        cell(r.throughput, 1),
        f"{flight.fraction:.3f}",
        f"{r.errors}" + (f" ({', '.join(r.error_kinds)})" if r.errors else ""),
        cell(r.p50, 0),
        cell(r.p99, 0),
        cell(m.server_cpu_ms_per_request),
        cell(m.server_cpu_cores),
        "-" if flight.upstream_connections is None else f"{flight.upstream_connections}",
        cell(flight.rss_peak_mib, 0),
        f"{m.others_cores:.2f}",
    ]


def _in_flight(report: Report) -> list[str]:
    header = ["clients", "upstream", "arrivals", "path", "req/s", "of ideal", "errors", "p50"]
    header += ["p99", "server CPU ms/req", "server CPU (cores)", "upstream conns opened"]
    header += ["peak RSS MiB", "others' CPU"]
    return table(
        "### 2. Calls in flight: one server, slow upstream (latencies in ms)",
        header,
        [_flight_row(flight) for flight in report.in_flight],
        "steady: client starts spread over one upstream delay, so requests arrive evenly; the "
        "answers completed in the measuring window count. waves: every client at once, in "
        "lockstep, so each wave of requests arrives together (throughput over the waves after "
        "the first). A request unanswered after 15 s counts as an error (timeout).",
    )


def _cold(report: Report) -> list[str]:
    base = next((c for c in report.cold_start if c.variant == "hello_aio"), None)
    rows = [
        [
            c.label,
            cell(c.median_answer_s, 3),
            ratio(c.median_answer_s, base.median_answer_s if base else None),
            cell(c.median_port_open_s, 3),
            cell(c.median_cpu_s, 2),
            ratio(c.median_cpu_s, base.median_cpu_s if base else None),
            ", ".join(f"{x:.2f}" for x in c.answer_s),
        ]
        for c in report.cold_start
    ]
    header = ["variant", "median", "x hello aio", "port open (median)", "CPU s", "CPU x hello"]
    return table(
        "### 3. Cold start: spawn to first successful answer (s)",
        [*header, "each start"],
        rows,
        "CPU s: CPU seconds of the server's process tree from spawn to its first answer "
        "(median), steadier than wall time on a shared machine.",
    )


def _memory(report: Report) -> list[str]:
    rows = [[m.target, m.stage, cell(m.rss_mib, 1), cell(m.pss_mib, 1)] for m in report.memory]
    lines = table(
        "### 4. Memory of the process tree (gunicorn arbiter + worker), MiB",
        ["server", "when", "RSS (sum)", "PSS (sum)"],
        rows,
    )
    found = [[n, s, f"{rss:+.1f}", f"{pss:+.1f}"] for n, s, rss, pss in memory_increments(report)]
    if found:
        lines += [
            "",
            *table(
                "Increments over the plain function (same stage, same run; each variant its own "
                "process, env secrets; with sinks every request asks for delivery, with tracing "
                "spans go to a local OTLP/HTTP sink), MiB:",
                ["variant", "when", "RSS", "PSS"],
                found,
            ),
        ]
    return lines


def _burst_and_connections(report: Report) -> list[str]:
    lines: list[str] = []
    burst = report.burst
    if burst is not None:
        r = burst.result
        fetches = ", ".join(f"`{k.rsplit('/', 1)[-1]}` {v}" for k, v in burst.fetches.items())
        lines += [
            "### 5. Secret fetches under a burst",
            "",
            f"{burst.clients} simultaneous first requests to a fresh function: {r.ok} ok, "
            f"{r.errors} errors; Secret Manager fetches: {fetches}; latency p50 {r.p50:.0f} ms, "
            f"p99 {r.p99:.0f} ms (includes the Google client import and the fetch).",
            "",
        ]
    rows = [[c.label, f"{c.requests:,}", f"{c.clients}", f"{c.opened}"] for c in report.connections]
    return lines + table(
        "### 6. Upstream connections opened (emulator `connections_opened`)",
        ["path", "requests", "clients", "connections opened"],
        rows,
    )


def _streaming(report: Report) -> list[str]:
    base = next((m for m in report.streaming if m.target == "direct"), None)
    rows = [
        [
            m.label,
            cell(m.result.first_byte_p50),
            cell(m.result.first_body_p50),
            cell(m.result.first_body_p99),
            ratio(m.result.first_body_p50, base.result.first_body_p50 if base else None),
            cell(m.result.p50),
            f"{m.result.errors}",
        ]
        for m in report.streaming
    ]
    header = ["path", "first byte p50", "first event p50", "first event p99", "x direct"]
    return table(
        '### 7. Streaming (`"stream": true`), sequential, ms',
        [*header, "whole stream p50", "errors"],
        rows,
    )


# In report order; a new measurement adds its renderer here.
SECTIONS: tuple[Callable[[Report], list[str]], ...] = (
    _machine,
    _goals,
    _overhead,
    _in_flight,
    _cold,
    _memory,
    _burst_and_connections,
    _streaming,
)


def render(report: Report) -> str:
    """The whole report as markdown."""
    sections = [section(report) for section in SECTIONS]
    if report.skipped:
        sections.append(
            ["Skipped: " + "; ".join(f"{k}: {why}" for k, why in report.skipped.items())]
        )
    if report.notes:
        sections.append(["Notes: " + "; ".join(f"{k}: {n}" for k, n in report.notes.items())])
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


def results_page(report: Report, history: str = "") -> str:
    """bench/RESULTS.md: the latest full run under a dated heading, then the history kept."""
    return f"{_RESULTS_INTRO}\n## Latest full run: {report.machine.date}\n\n{render(report)}\n" + (
        f"\n{history}" if history else ""
    )


_RESULTS_INTRO = """# Benchmark results

The latest full run is written by `make bench` (`python -m bench`) from its report; do not edit it
by hand. [docs/performance.md](../docs/performance.md) says how it measures, what bounds each
figure and what would move it; the goals live in [`_goals.py`](_goals.py). Everything from
"History" on is kept as it is by each run: past runs, the decisions they led to, and the figures
of experiments no longer in the suite.
"""
