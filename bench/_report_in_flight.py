"""The report's in-flight tables: calls in flight against a slow upstream, and where it bends."""

from __future__ import annotations

from bench._markdown import cell, table
from bench._results import Report

__all__ = ["bend_section", "in_flight_section"]


def in_flight_section(report: Report) -> list[str]:
    if not report.in_flight:
        return []
    rows = []
    for flight in report.in_flight:
        m = flight.measured
        r = m.result
        rows.append(
            [
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
        )
    return [
        "### 2. Calls in flight: one server, slow upstream (latencies in ms)",
        "",
        "steady: client starts spread over one upstream delay, so requests arrive evenly; "
        "the answers completed in the measuring window count. waves: every client at once, "
        "in lockstep, so each wave of requests arrives together (throughput over the waves "
        "after the first). A request unanswered after 15 s counts as an error (timeout).",
        "",
        *table(
            [
                "clients",
                "upstream",
                "arrivals",
                "path",
                "req/s",
                "of ideal",
                "errors",
                "p50",
                "p99",
                "server CPU ms/req",
                "server CPU (cores)",
                "upstream conns opened",
                "peak RSS MiB",
                "others' CPU",
            ],
            rows,
        ),
    ]


def bend_section(report: Report) -> list[str]:
    if not report.bend:
        return []
    rows = []
    for flight in report.bend:
        m = flight.measured
        r = m.result
        rows.append(
            [
                f"{m.label}, {flight.note}" if flight.note else m.label,
                f"{flight.delay_ms / 1000:g} s",
                f"{m.clients}",
                cell(flight.ideal_rps, 0),
                cell(r.throughput, 1),
                f"{flight.fraction:.3f}",
                f"{r.errors}",
                cell(r.p99, 0),
                cell(m.server_cpu_ms_per_request),
                cell(m.server_cpu_cores),
            ]
        )
    return [
        "Where it bends (steady arrivals, shorter windows, a new server process per point "
        "unless said otherwise):",
        "",
        *table(
            [
                "path",
                "upstream",
                "clients",
                "ideal req/s",
                "req/s",
                "of ideal",
                "errors",
                "p99",
                "server CPU ms/req",
                "server CPU (cores)",
            ],
            rows,
        ),
    ]
