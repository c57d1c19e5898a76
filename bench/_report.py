"""The run's results as markdown: goals first, then one table per measurement."""

from __future__ import annotations

from bench._markdown import cell, ratio, table, verdict
from bench._report_in_flight import bend_section, in_flight_section
from bench._results import Report

__all__ = ["render", "results_page"]


def _machine(report: Report) -> list[str]:
    m = report.machine
    return [
        f"Machine: {m.cores} cores, {m.cpu_model}, {m.kernel}; Python {m.python} "
        f"(servers run from {m.server_venv}); {m.date}; git {m.git}; mode {m.mode}; "
        f"took {m.duration_s:.0f} s.",
        f"Pinning: {m.pinning}. Load average before / after: {m.load_before} / {m.load_after}.",
        "Seconds per section: " + ", ".join(f"{k} {v:.0f}" for k, v in m.sections.items()) + ".",
    ]


def _overhead(report: Report) -> list[str]:
    seq = {m.target: m for m in report.sequential}
    c32 = {m.target: m for m in report.concurrent}
    base_s, base_c = seq.get("direct"), c32.get("direct")
    if base_s is None or base_c is None:
        return []
    rows = []
    for key, s in seq.items():
        c = c32.get(key)
        s_cpu, c_cpu = s.server_cpu_ms_per_request, c.server_cpu_ms_per_request if c else None
        if key == "direct":  # the server side of the direct path is the emulator, in the harness
            s_cpu, c_cpu = (
                s.upstream_cpu_ms_per_request,
                c.upstream_cpu_ms_per_request if c else None,
            )
        rows.append(
            [
                s.label,
                cell(s.result.p50),
                cell(s.result.p99),
                ratio(s.result.p50, base_s.result.p50),
                cell(c.result.p50 if c else None, 1),
                cell(c.result.p99 if c else None, 1),
                cell(c.result.throughput if c else None, 0),
                f"{cell(s_cpu)} / {cell(c_cpu)}",
                f"{s.result.errors + (c.result.errors if c else 0)}",
            ]
        )
        if key in ("function", "litellm") and c is not None:
            rows.append(
                [
                    f"→ {key} - direct",
                    f"+{cell(s.result.p50 - base_s.result.p50)}",
                    f"+{cell(s.result.p99 - base_s.result.p99)}",
                    "",
                    f"+{cell(c.result.p50 - base_c.result.p50, 1)}",
                    f"+{cell(c.result.p99 - base_c.result.p99, 1)}",
                    "",
                    "",
                    "",
                ]
            )
    others = max([m.others_cores for m in report.sequential + report.concurrent], default=0.0)
    counts = (
        f"sequential: {base_s.result.ok:,} requests per path (interleaved rounds); "
        f"32 clients: {base_c.result.ok:,} (direct)"
    )
    return [
        "### 1. Overhead: the same Chat Completions request, direct vs through (ms)",
        "",
        *table(
            [
                "path",
                "seq p50",
                "seq p99",
                "p50 x direct",
                "32 clients p50",
                "32 clients p99",
                "req/s at 32",
                "server CPU ms/req (seq / 32)",
                "errors",
            ],
            rows,
        ),
        "",
        f"{counts}. CPU used by other processes meanwhile: up to {others:.2f} cores. Server "
        "CPU of the direct path: the emulator's (a thread of the harness process).",
    ]


def _cold(report: Report) -> list[str]:
    if not report.cold_start:
        return []
    base = next((c for c in report.cold_start if c.variant == "hello_aio"), None)
    rows = [
        [
            c.label,
            cell(c.median_answer_s, 3),
            ratio(c.median_answer_s, base.median_answer_s) if base else "-",
            cell(c.median_port_open_s, 3),
            "-" if c.median_cpu_s is None else cell(c.median_cpu_s, 2),
            ratio(c.median_cpu_s, base.median_cpu_s)
            if base and c.median_cpu_s and base.median_cpu_s
            else "-",
            ", ".join(f"{x:.2f}" for x in c.answer_s),
        ]
        for c in report.cold_start
    ]
    header = ["variant", "median", "x hello aio", "port open (median)", "CPU s", "CPU x hello"]
    lines = [
        "### 3. Cold start: spawn to first successful answer (s)",
        "",
        *table([*header, "each start"], rows),
        "",
        "CPU s: CPU seconds of the server's process tree from spawn to its first answer (median), "
        "steadier than wall time on a shared machine.",
    ]
    imports = report.imports
    if imports is not None:
        packages = ", ".join(f"{name} {ms:.0f}" for name, ms in imports.by_package[:10])
        children = ", ".join(f"{name} {ms:.0f}" for name, ms in imports.main_children[:5])
        lines += [
            "",
            f"`python -X importtime -c 'import main'` (median of {imports.runs}): "
            f"**{imports.main_ms:.0f} ms**; main.py's imports (cumulative ms): {children}. "
            f"Self time by package (ms): {packages}. The first Secret Manager fetch imports "
            f"**{imports.lazy_ms:.0f} ms** more (google.cloud.secretmanager_v1, grpc, "
            "google.api_core), inside the first request.",
        ]
        if imports.first_request_ms is not None and imports.tls_context_ms is not None:
            lines[-1] += (
                f" Any first request imports anyio's asyncio backend (Starlette's; no httpcore) "
                f"(**{imports.first_request_ms:.0f} ms**, importtime) and builds the gateway "
                f"client's TLS context (**{imports.tls_context_ms:.0f} ms** wall, the CA bundle; "
                "production's gateway is https, and the bench builds it too although the "
                "emulator is http)."
            )
    return lines


def _memory(report: Report) -> list[str]:
    if not report.memory:
        return []
    rows = [[m.target, m.stage, cell(m.rss_mib, 1), cell(m.pss_mib, 1)] for m in report.memory]
    return [
        "### 4. Memory of the process tree (gunicorn arbiter + worker), MiB",
        "",
        *table(["server", "when", "RSS (sum)", "PSS (sum)"], rows),
        *_increments(report),
    ]


def memory_increments(report: Report) -> list[tuple[str, str, float, float]]:
    """(variant, stage, RSS, PSS) over the plain function at the same stage of the same run."""
    plain = {m.stage: m for m in report.memory if m.target == "function"}
    return [
        (m.target, m.stage, m.rss_mib - plain[m.stage].rss_mib, m.pss_mib - plain[m.stage].pss_mib)
        for m in report.memory
        if m.target.startswith("function + ") and m.stage in plain
    ]


def _increments(report: Report) -> list[str]:
    found = memory_increments(report)
    if not found:
        return []
    rows = [[name, stage, f"{rss:+.1f}", f"{pss:+.1f}"] for name, stage, rss, pss in found]
    return [
        "",
        "Increments over the plain function (same stage, same run; each variant its own process, "
        "env secrets; with sinks every request asks for delivery, with tracing spans go to a "
        "local OTLP/HTTP sink), MiB:",
        "",
        *table(["variant", "when", "RSS", "PSS"], rows),
    ]


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
            f"{r.errors} errors; Secret Manager fetches: {fetches}; "
            f"latency p50 {r.p50:.0f} ms, p99 {r.p99:.0f} ms (includes the Google client "
            "import and the fetch).",
            "",
        ]
    if report.connections:
        rows = [
            [c.label, f"{c.requests:,}", f"{c.clients}", f"{c.opened}"] for c in report.connections
        ]
        lines += [
            "### 6. Upstream connections opened (emulator `connections_opened`)",
            "",
            *table(["path", "requests", "clients", "connections opened"], rows),
        ]
    return lines


def _clients(report: Report) -> list[str]:
    if not report.clients:
        return []
    base = next((c for c in report.clients if c.library == "httpx"), None)
    rows = [
        [
            c.note,
            cell(c.cpu_us, 0),
            ratio(c.cpu_us, base.cpu_us) if base else "-",
            cell(c.wall_us, 0),
            cell(c.in_flight_cpu_us, 0),
            cell(c.in_flight_fraction, 3),
        ]
        for c in report.clients
    ]
    first = report.clients[0]
    return [
        "HTTP client libraries alone (the function's upstream request, one pooled client as "
        "relay/gateway.py configures it, in its own process on the server core): sequential, "
        f"then {first.in_flight:,} requests kept in flight against a "
        f"{first.in_flight_delay_ms / 1000:g} s upstream:",
        "",
        *table(
            [
                "client",
                "CPU us/request (seq)",
                "x httpx",
                "wall us/request (seq)",
                f"CPU us/request ({first.in_flight:,} in flight)",
                "of ideal req/s",
            ],
            rows,
        ),
    ]


def _streaming(report: Report) -> list[str]:
    if not report.streaming:
        return []
    base = next((m for m in report.streaming if m.target == "direct"), None)
    rows = []
    for m in report.streaming:
        r = m.result
        rows.append(
            [
                m.label,
                cell(r.first_byte_p50),
                cell(r.first_body_p50),
                cell(r.first_body_p99),
                ratio(r.first_body_p50, base.result.first_body_p50) if base else "-",
                cell(r.p50),
                f"{r.errors}",
            ]
        )
    return [
        '### 7. Streaming (`"stream": true`), sequential, ms',
        "",
        *table(
            [
                "path",
                "first byte p50",
                "first event p50",
                "first event p99",
                "x direct",
                "whole stream p50",
                "errors",
            ],
            rows,
        ),
    ]


def _goals(report: Report) -> list[str]:
    rows = [[f"{g.number}", g.goal, g.measured, verdict(g.met)] for g in report.goals]
    return ["### Goals", "", *table(["#", "goal", "measured", "verdict"], rows)]


def render(report: Report) -> str:
    """The whole report as markdown."""
    sections: list[list[str]] = [
        _machine(report),
        _goals(report),
        _overhead(report),
        _clients(report),
        in_flight_section(report),
        bend_section(report),
        _cold(report),
        _memory(report),
        _burst_and_connections(report),
        _streaming(report),
    ]
    if report.skipped:
        sections.append(
            ["Skipped: " + "; ".join(f"{key}: {why}" for key, why in report.skipped.items())]
        )
    if report.notes:
        sections.append(
            ["Notes: " + "; ".join(f"{key}: {note}" for key, note in report.notes.items())]
        )
    return "\n\n".join("\n".join(lines) for lines in sections if lines)


def results_page(report: Report) -> str:
    """bench/RESULTS.md: the whole report under a dated heading, rewritten by each full run."""
    return (
        "# Benchmark results\n\n"
        "Written by `make bench` (`python -m bench`, a full run) from that run's report; do not "
        "edit by\nhand. [docs/performance.md](../docs/performance.md) says how it measures and "
        "reads the figures;\nthe goals live in [`_goals.py`](_goals.py). For each goal not met, "
        "its section\n[Goals, one by one](../docs/performance.md#goals-one-by-one) names the "
        "measured limit, what was\ntried and what it would take.\n\n"
        f"## Run of {report.machine.date}\n\n{render(report)}\n"
    )
