"""The gateway client's candidates in one table from one run: conformance and cost.

    python -m bench.clients [--requests N] [--in-flight CLIENTS] [--delay-ms MS]

For every candidate of tests/conformance/candidates.py: each behaviour of the conformance table
(correct, or what it did instead), the CPU microseconds per request of sequential calls to the
local gateway emulator, and the share of the ideal throughput it reaches with 1,000 calls in
flight against an emulator that answers after 2 s. Each candidate's cost is measured in a child
process of its own (`--measure NAME URL`), so its CPU is its alone, not the emulator's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop

from emulators.gateway import GatewayEmulator
from tests.conformance.behaviours import BEHAVIOURS
from tests.conformance.candidates import CANDIDATES, CHOSEN, WHOLE_BODY
from tests.conformance.runner import verdict

__all__ = ["main"]

TOKEN = "bench-token"
BODY = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello"}]}
).encode()
WARMUP = 200
WINDOW_SECONDS = 4.0
CALL_TIMEOUT_SECONDS = 15.0


def _cpu() -> float:
    # Every thread of the process: a client that works in threads of its own pays for them.
    return time.process_time()


def _request(url: str, headers: dict[str, str]) -> Any:
    import httpx

    return httpx.Request(
        "POST",
        url,
        content=BODY,
        headers=headers,
        extensions={"timeout": {"connect": 10.0, "read": 60.0, "pool": 60.0}},
    )


async def _measure(
    name: str, url: str, requests: int, clients: int, delay_ms: int
) -> dict[str, Any]:
    """Sequential CPU per call, then the in-flight share (in this process, one candidate)."""
    transport = CANDIDATES[name](None)
    headers = {
        "content-type": "application/json",
        "accept-encoding": "identity",
        "cf-aig-authorization": f"Bearer {TOKEN}",
    }

    async def call() -> None:
        response = await transport.handle_async_request(_request(url, headers))
        try:
            await response.aread()
        finally:
            await response.aclose()
        if response.status_code != 200:
            raise RuntimeError(f"answered {response.status_code}")

    try:
        for _ in range(WARMUP):
            await call()
        cpu = _cpu()
        for _ in range(requests):
            await call()
        result: dict[str, Any] = {"cpu_us": round((_cpu() - cpu) / requests * 1e6, 1)}
        if name not in WHOLE_BODY:  # those run on one connection here (candidates.FETCH_POOL)
            headers["cf-aig-metadata"] = json.dumps({"emulator_delay_ms": delay_ms})
            result["in_flight_fraction"] = await _in_flight(call, clients, delay_ms / 1000)
        return result
    finally:
        await transport.aclose()


async def _in_flight(call: Callable[[], Awaitable[None]], clients: int, delay: float) -> float:
    """Keep `clients` calls in flight (starts spread over one delay); count a window's answers
    against the ideal clients / delay per second."""
    window_start = time.perf_counter() + 2 * delay
    window_end = window_start + WINDOW_SECONDS
    completed = 0

    async def worker(offset: float) -> None:
        nonlocal completed
        await asyncio.sleep(offset)  # this client's place in the ramp
        while time.perf_counter() < window_end:
            try:
                async with asyncio.timeout(CALL_TIMEOUT_SECONDS):
                    await call()
            except Exception:  # a timeout or a refused connection: not completed
                continue
            if window_start <= time.perf_counter() < window_end:
                completed += 1

    await asyncio.gather(*(worker(i * delay / clients) for i in range(clients)))
    return round(completed / WINDOW_SECONDS / (clients / delay), 3)


def _child(name: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.clients", "--measure", name, url]
    command += ["--requests", str(args.requests), "--in-flight", str(args.in_flight)]
    command += ["--delay-ms", str(args.delay_ms)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _table(verdicts: dict[str, dict[str, str | None]], costs: dict[str, dict[str, Any]]) -> str:
    names = list(CANDIDATES)
    chosen = {n: f"{n} (chosen)" if n == CHOSEN else n for n in names}
    lines = [
        "| behaviour | " + " | ".join(chosen[n] for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for behaviour in BEHAVIOURS:
        cells = []
        for name in names:
            wrong = verdicts[name][behaviour.name]
            cells.append("correct" if wrong is None else f"**wrong**: {wrong}")
        lines.append(f"| {behaviour.says} (`{behaviour.name}`) | " + " | ".join(cells) + " |")
    total = len(BEHAVIOURS)
    right = [sum(v is None for v in verdicts[n].values()) for n in names]
    lines.append("| **rows correct** | " + " | ".join(f"{r}/{total}" for r in right) + " |")
    for key, label in (("cpu_us", "CPU µs per request (sequential)"),
                       ("in_flight_fraction", "1,000 in flight, share of ideal")):  # fmt: skip
        cells = [str(costs[n].get(key, costs[n].get("error", "-"))) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.clients")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=1000)
    parser.add_argument("--delay-ms", type=int, default=2000)
    parser.add_argument("--measure", nargs=2, metavar=("NAME", "URL"))
    args = parser.parse_args(argv)
    if args.measure:
        name, url = args.measure
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            work = _measure(name, url, args.requests, args.in_flight, args.delay_ms)
            print(json.dumps(runner.run(work)))
        return 0
    verdicts: dict[str, dict[str, str | None]] = {name: {} for name in CANDIDATES}
    for behaviour in BEHAVIOURS:
        for name, factory in CANDIDATES.items():
            verdicts[name][behaviour.name] = verdict(factory, behaviour, whole=name in WHOLE_BODY)
    gateway = GatewayEmulator(token=TOKEN)
    gateway.start()
    try:
        url = gateway.base_url() + "/chat/completions"
        costs = {}
        for name in CANDIDATES:
            print(f"measuring {name} ...", file=sys.stderr, flush=True)
            costs[name] = _child(name, url, args)
    finally:
        gateway.stop()
    print(_table(verdicts, costs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
