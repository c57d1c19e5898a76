"""1. Overhead: the same request direct and through each target, sequentially and at 32
clients (6. the upstream connections the 32 clients cost); and the HTTP client libraries alone.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import msgspec

from bench import _litellm
from bench._loadspec import LoadSpec
from bench._procs import BENCH
from bench._results import ClientCost, Connections
from bench._suite import Bench, Target, upstream_headers

__all__ = ["client_costs", "overhead"]

# The client libraries alone: this many requests in flight against this upstream delay.
CLIENT_IN_FLIGHT = 1000
CLIENT_IN_FLIGHT_DELAY_MS = 2000


def overhead(bench: Bench, targets: list[Target]) -> None:
    """Sequential runs interleaved round by round, then each target at 32 clients."""
    sizes = bench.sizes
    print("1. overhead, sequential ...", flush=True)

    def sequential(target: Target) -> LoadSpec:
        count = sizes.seq_requests_litellm if target.key == "litellm" else sizes.seq_requests
        return LoadSpec(
            port=target.port,
            request=target.request,
            clients=1,
            requests=count,
            warmup=max(count // 10, 20),
            expect=target.expect,
            keep_samples=True,
            max_seconds=120,
        )

    bench.report.sequential = bench.interleaved(targets, sizes.seq_rounds, sequential)
    print("1. overhead, 32 clients (6. connections) ...", flush=True)
    for target in targets:
        count = sizes.c32_requests
        if target.key == "litellm":
            count = sizes.c32_requests_litellm
        elif target.key.startswith("function_"):
            count = sizes.c32_requests_experiments
        spec = LoadSpec(
            port=target.port,
            request=target.request,
            clients=32,
            requests=count,
            expect=target.expect,
            max_seconds=150,
        )
        opened_before = bench.gateway.stats()["connections_opened"]
        measured = bench.measure(target, spec)
        opened = bench.gateway.stats()["connections_opened"] - opened_before
        bench.report.concurrent.append(measured)
        if target.key in ("function", "function_httpx2", "litellm"):
            bench.report.connections.append(
                Connections(
                    target=target.key,
                    label=target.label,
                    requests=measured.result.ok + measured.result.errors,
                    clients=32,
                    opened=opened,
                )
            )


def client_costs(bench: Bench) -> None:
    """The HTTP client libraries on their own: CPU per sequential request."""
    print("1. HTTP client cost per request ...", flush=True)
    last = bench.upstream_request
    headers = upstream_headers(last)
    body_file = bench.logs / "client-body.json"
    body_file.write_bytes(msgspec.json.encode(last.json))
    url = f"http://127.0.0.1:{bench.gateway.port}{last.path}"
    script = str(BENCH / "_clients.py")
    runs: list[tuple[str, str, Path, dict[str, str]]] = [
        ("httpx", "httpx 0.28 (its default transport, httpcore)", bench.bin_dir / "python", {}),
        (
            "relay",
            "httpx 0.28 on relay/_transport.py, as relay/_pools.py sends (the function's)",
            bench.bin_dir / "python",
            {},
        ),
    ]
    if bench.httpx2 is not None:
        runs.append(
            ("httpx2", "httpx2 2.16", bench.bin_dir / "python", {"PYTHONPATH": str(bench.httpx2)})
        )
    litellm_python = _litellm.VENV / "bin" / "python"
    if "litellm" not in bench.skipped and litellm_python.exists():
        runs.append(("aiohttp", "aiohttp (from the LiteLLM venv)", litellm_python, {}))
    for library, note, python, extra in runs:
        env = {**os.environ, **extra}
        cmd = bench.cpus.server_cmd(
            [
                str(python),
                script,
                library,
                url,
                str(bench.sizes.client_requests),
                json.dumps(headers),
                str(body_file),
                str(CLIENT_IN_FLIGHT),
                str(CLIENT_IN_FLIGHT_DELAY_MS),
            ]
        )
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=300, check=False, env=env
        )
        if done.returncode != 0:
            bench.skipped[f"client_{library}"] = done.stderr.strip().splitlines()[-1:][0][:200]
            continue
        cost = json.loads(done.stdout)
        bench.report.clients.append(
            ClientCost(
                library=library,
                note=note,
                cpu_us=cost["cpu_us"],
                wall_us=cost["wall_us"],
                in_flight=CLIENT_IN_FLIGHT,
                in_flight_delay_ms=CLIENT_IN_FLIGHT_DELAY_MS,
                in_flight_cpu_us=cost.get("in_flight_cpu_us"),
                in_flight_fraction=cost.get("in_flight_fraction"),
            )
        )
