"""`make bench`: the performance suite, side by side in one run, everything on 127.0.0.1.

    .venv/bin/python -m bench [--quick] [--no-litellm] [--only cold_start,memory]
                              [--out bench/results/latest.json]

Against the AI Gateway emulator as a fast upstream stand-in, it measures:

1. overhead: the same Chat Completions request sent directly to the emulator and through the
   function (a real `functions-framework --target=prompt` process), sequentially and at 32
   concurrent clients, with a hello-world aio function and LiteLLM's proxy as references;
2. calls in flight: 200 clients against a 1 s upstream for 10 s (ideal: 200/s), then 1,000
   clients against a 2 s upstream (ideal: 500/s), against ONE function process;
3. cold start: spawn to first successful answer (both secrets fetched from the Secret Manager
   emulator, or in the environment) versus hello-world functions and the "floor" (a hello world
   relaying with httpx, with and without the Secret Manager client), median of several starts,
   with the CPU seconds each used, plus an import profile;
4. memory: resident set of the function's process tree (gunicorn arbiter + worker) idle, at
   the peak of (2) and after it; and the increments with result sinks and tracing enabled;
5. secret fetches: 200 simultaneous first requests to a fresh function, fetches per secret;
6. upstream connections opened by the function for 10,000 requests at 32 clients;
7. streaming time to first event, through the function versus direct.

Experiments run beside the function as it is, to show what would move a number: the same code
on httpx2 (a fork of httpx whose connection pool is not quadratic) and with uvloop/httptools
(bench/_venvs.py), and the HTTP client libraries alone (bench/_clients.py).

It prints a markdown report, writes bench/results/latest.json and rewrites bench/RESULTS.md.
The goals live in bench/_goals.py, never in tests. Each measurement has its own module:
bench/_overhead.py (1, 6), _in_flight.py (2), _cold_start.py (3), _memory.py and
_memory_increments.py (4), _secrets.py (5), _streaming.py (7); bench/_suite.py holds what they
share. The load generator (bench/_load.py) runs in its own process, pinned off the core the
server under test runs on (see bench/_procs.py). Servers run from bench/.venv-prod
(requirements.txt only), LiteLLM from bench/.venv-litellm; both are built on the first run and
reused.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from bench._cold_start import cold_starts, imports
from bench._goals import evaluate
from bench._in_flight import in_flight
from bench._machine import loadavg
from bench._memory_increments import increments
from bench._overhead import client_costs, overhead
from bench._procs import BENCH
from bench._report import render, results_page
from bench._results import Report
from bench._secrets import burst
from bench._streaming import streaming
from bench._suite import RESULTS, Bench, Target
from bench._targets import start_targets

# What `--only` may name, in run order. Overhead, streaming and in flight share the servers
# `start_targets` starts; they are stopped before the sections after them.
SECTIONS = (
    "overhead",
    "clients",
    "streaming",
    "in_flight",
    "burst",
    "cold_start",
    "imports",
    "memory",
)
_SHARED_SERVERS = {"overhead", "streaming", "in_flight"}
_ALONE = {"burst", "cold_start", "imports", "memory"}


def run(bench: Bench, only: frozenset[str] = frozenset(SECTIONS)) -> Report:
    """The measurements asked for, in order; every server started is stopped at the end."""
    with bench.stack:
        bench.section("setup", bench.setup)
        targets: list[Target] = []
        if only & _SHARED_SERVERS:
            bench.section("start servers", lambda: targets.extend(start_targets(bench)))
        steps: list[tuple[str, str, Callable[[], None]]] = [
            ("overhead", "overhead", lambda: overhead(bench, targets)),
            ("clients", "client libraries", lambda: client_costs(bench)),
            ("streaming", "streaming", lambda: streaming(bench, targets)),
            ("in_flight", "in flight", lambda: in_flight(bench, targets)),
            ("burst", "burst", lambda: burst(bench)),
            ("cold_start", "cold starts", lambda: cold_starts(bench)),
            ("imports", "imports", lambda: imports(bench)),
            ("memory", "memory increments", lambda: increments(bench)),
        ]
        for key, name, work in steps:
            if key not in only:
                continue
            if key in _ALONE:
                _stopped(targets)  # free the server core and memory for what follows
            bench.section(name, work)
    bench.report.machine.load_after = loadavg()
    bench.report.machine.duration_s = round(time.monotonic() - bench.started, 1)
    bench.report.goals = evaluate(bench.report)
    return bench.report


def _stopped(targets: list[Target]) -> None:
    """Free the server core and memory for what follows (once the shared servers are done)."""
    for target in targets:
        if target.server is not None:
            target.server.stop()


def _sections(text: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in text.split(",") if name.strip())
    if unknown := names - set(SECTIONS):
        raise argparse.ArgumentTypeError(f"unknown section(s): {', '.join(sorted(unknown))}")
    return names


@contextmanager
def _timer(label: str) -> Iterator[None]:
    started = time.monotonic()
    yield
    print(f"{label}: {time.monotonic() - started:.0f} s", flush=True)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the ExitStack, so every started server is stopped


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test")
    parser.add_argument("--no-litellm", action="store_true", help="leave out the LiteLLM peer")
    parser.add_argument(
        "--only",
        type=_sections,
        default=frozenset(SECTIONS),
        help=f"run only these sections (comma-separated: {','.join(SECTIONS)}); "
        "bench/RESULTS.md is then left alone",
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    parser.add_argument(
        "--results-md",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="the dated tables, rewritten after a full run (never after --quick)",
    )
    parser.add_argument(
        "--from-json", type=Path, help="measure nothing: report a saved run (its --out file)"
    )
    args = parser.parse_args(argv)
    if args.from_json is not None:
        report = msgspec.json.decode(args.from_json.read_bytes(), type=Report)
    else:
        with _timer("bench took"):
            bench = Bench(args)
            if args.only != frozenset(SECTIONS):
                bench.report.machine.mode += " (only " + ",".join(sorted(args.only)) + ")"
            report = run(bench, args.only)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")
        print(f"written: {args.out}")
    print()
    print(render(report))
    if report.machine.mode == "full":
        args.results_md.write_text(results_page(report), encoding="utf-8")
        print(f"\nwritten: {args.results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
