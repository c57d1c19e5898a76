"""`make bench`: the performance suite, side by side in one run, everything on 127.0.0.1.

    .venv/bin/python -m bench [--quick] [--only cold_start,memory] [--out bench/results/latest.json]

It measures what has a goal (bench/_goals.py; docs/performance.md says what bounds each), against
the AI Gateway emulator as a fast upstream stand-in, with the baselines measured in the same run:

1. overhead: the same Chat Completions request sent directly to the emulator and through the
   function (a real `functions-framework --target=prompt` process), sequentially and at 32
   concurrent clients, with a hello-world aio function as the serving stack's floor; CPU per
   request and its cost (bench/_overhead.py);
2. calls in flight: 200 clients against a 1 s upstream, steady and in waves (ideal: 200/s), then
   1,000 clients against a 2 s upstream (ideal: 500/s), against ONE function process
   (bench/_in_flight.py);
3. cold start: spawn to first successful answer (secrets from the Secret Manager emulator, or in
   the environment) versus a hello-world function and the "floor" (a hello world relaying with
   httpx, with and without the Secret Manager client) (bench/_cold_start.py);
4. memory: resident set of the function's process tree idle, at the peak of (2) and after it, and
   the increments with result sinks and tracing enabled (bench/_memory_increments.py);
5. secret fetches: 200 simultaneous first requests to a fresh function (bench/_secrets.py);
6. upstream connections opened by the function at 32 clients (bench/_overhead.py);
7. streaming time to first event, through the function versus direct (bench/_streaming.py).

It prints a markdown report (bench/_report.py), writes bench/results/latest.json, and after a
full run rewrites the latest run in bench/RESULTS.md (its history below is kept). A measurement
is a function of a `Bench` (bench/_suite.py) named in `STEPS` below, with a renderer in
bench/_report.py. Settled experiments live in bench/experiments/, each runnable on its own.
The load generator (bench/_load.py) runs in its own process, pinned off the core the server
under test runs on (bench/_procs.py). Servers run from bench/.venv-prod (requirements.txt only,
bench/_venvs.py), built on the first run and reused.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec

from bench._cold_start import cold_starts
from bench._goals import evaluate
from bench._in_flight import in_flight
from bench._machine import loadavg
from bench._memory_increments import increments
from bench._overhead import overhead
from bench._procs import BENCH
from bench._report import render, results_page
from bench._results import Report
from bench._secrets import burst
from bench._streaming import streaming
from bench._suite import RESULTS, Bench, Target
from bench._targets import start_targets

# Each measurement: (what `--only` names it, its title, whether it uses the servers
# `start_targets` starts, what it does), in run order. The shared servers are stopped before
# the first measurement that starts its own.
Step = tuple[str, str, bool, Callable[[Bench, list[Target]], None]]
STEPS: tuple[Step, ...] = (
    ("overhead", "overhead", True, overhead),
    ("streaming", "streaming", True, streaming),
    ("in_flight", "in flight", True, in_flight),
    ("burst", "burst", False, lambda bench, _: burst(bench)),
    ("cold_start", "cold starts", False, lambda bench, _: cold_starts(bench)),
    ("memory", "memory increments", False, lambda bench, _: increments(bench)),
)
SECTIONS = tuple(key for key, *_ in STEPS)
HISTORY = "\n## History"  # bench/RESULTS.md from here on is kept as it is


def run(bench: Bench, only: frozenset[str] = frozenset(SECTIONS)) -> Report:
    """The measurements asked for, in order; every server started is stopped at the end."""
    with bench.stack:
        bench.section("setup", bench.setup)
        targets: list[Target] = []
        if any(shared and key in only for key, _, shared, _ in STEPS):
            bench.section("start servers", lambda: targets.extend(start_targets(bench)))
        for key, name, shared, work in STEPS:
            if key not in only:
                continue
            if not shared:
                _stopped(targets)  # free the server core and memory for what follows
            bench.section(name, functools.partial(work, bench, targets))
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
        help="its latest run is rewritten after a full run (never after --quick or --only)",
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
        old = args.results_md.read_text(encoding="utf-8") if args.results_md.exists() else ""
        history = old[old.find(HISTORY) + 1 :] if HISTORY in old else ""
        args.results_md.write_text(results_page(report, history), encoding="utf-8")
        print(f"\nwritten: {args.results_md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
