"""What one request's log line costs: the home-made writer before, the standard library now.

    .venv/bin/python -m bench.log_line [--number 20000] [--old-ref 574ff20]

Both write the same "prompt completed" line (the fields `Outcomes.success` passes, one secret
registered) to a stream that drops it; the old writer is loaded from git (`--old-ref`). Prints the
best of several timeit repeats (thread CPU time), in microseconds per line.
"""

from __future__ import annotations

import argparse
import io
import logging
import subprocess
import sys
import time
import timeit
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "aig-bench-token-7f3a9c1e5d"
FIELDS: dict[str, Any] = {
    "request_id": "0f8e7c6d5b4a39281706f5e4d3c2b1a0",
    "api": "responses",
    "model": "gpt-4o-mini-2024-07-18",
    "outcome": "ok",
    "http_status": 200,
    "status": "completed",
    "finish_reason": "stop",
    "latency_ms": 412,
    "attempts": 1,
    "usage": {
        "input_tokens": 12,
        "output_tokens": 34,
        "total_tokens": 46,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
    },
    "gateway_log_id": "01JD8Z3Q4R5S6T7U8V9W0X1Y2Z",
    "cache_status": "MISS",
    "logging.googleapis.com/trace": "projects/p/traces/4bf92f3577b34da6a3ce929d0e0e4736",
}


class Sink(io.StringIO):
    """A stream that drops what it is given: the write itself costs the same either way."""

    def write(self, text: str) -> int:
        return len(text)


def old_writer(ref: str) -> Callable[[], None]:
    """The writer as it was at `ref`, loaded from git into a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{ref}:relay/_logging.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType("old_logging")
    exec(compile(source, "old_logging.py", "exec"), module.__dict__)  # our own file, from git
    module.register_secret(SECRET)
    module.set_stream(Sink())
    log = module.log

    def write() -> None:
        log("INFO", "prompt completed", **FIELDS)

    return write


def new_writer() -> Callable[[], None]:
    """The standard-library path, configured as the function configures it."""
    from relay.logs import configure_logging, log, register_secret

    register_secret(SECRET)
    configure_logging(logging.INFO, Sink())

    def write() -> None:
        log("INFO", "prompt completed", **FIELDS)

    return write


def per_line_us(write: Callable[[], None], number: int, repeat: int = 7) -> float:
    # CPU time of this thread: other processes on a shared machine do not count.
    times = timeit.repeat(write, number=number, repeat=repeat, timer=time.thread_time)
    return min(times) / number * 1e6  # the least disturbed run, as the timeit docs advise


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--old-ref", default="574ff20")
    args = parser.parse_args(argv)
    old = per_line_us(old_writer(args.old_ref), args.number)
    new = per_line_us(new_writer(), args.number)
    print(f"python {sys.version.split()[0]}, {args.number} lines x 7 repeats, best run")
    print(f"old (home-made writer, {args.old_ref}): {old:.2f} us/line")
    print(f"new (logging + JsonFormatter + SecretFilter): {new:.2f} us/line")
    print(f"difference: {new - old:+.2f} us/line")


if __name__ == "__main__":
    main()
