"""What result delivery costs: imports, cold start and per request (docs/delivery.md).

    .venv/bin/python -m bench.experiments.delivery_cost [--requests 200] [--starts 3]

It decided that the Pub/Sub and Cloud Storage clients load on first delivery, never at import:
a sink adds about 2 ms of CPU per request and 300-500 ms once, inside the first delivered
request (figures in docs/delivery.md and bench/RESULTS.md).

Needs Google's Pub/Sub emulator (emulators/google.py). Everything runs on 127.0.0.1 against
the gateway, Pub/Sub and Cloud Storage emulators; figures are wall-clock medians on whatever
machine runs it, so compare rows of one run, not runs on different machines.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator, emulator_env
from emulators.stack import function_process

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "bench-gateway-token"
PROJECT = "bench-project"
IMPORTS = {
    "google.pubsub_v1 (async GAPIC publisher)": "from google.pubsub_v1 import PublisherAsyncClient",
    "google.cloud.storage": "from google.cloud.storage import Client",
}


def import_ms(statement: str, runs: int = 5) -> float:
    """Median wall time of `statement` in a fresh interpreter, after `import main`."""
    code = (
        f"import time, main; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    )
    env = {"AIG_BASE_URL": "http://127.0.0.1:9/v1/a/g/openai", "AIG_TOKEN": TOKEN}
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()[-1]
        )
        for _ in range(runs)
    ]
    return statistics.median(times) * 1000


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of `root` and its descendants (gunicorn's arbiter and worker)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def post(client: httpx.Client, url: str, deliver: bool) -> float:
    body = {"prompt": "bench", "deliver": True} if deliver else {"prompt": "bench"}
    started = time.perf_counter()
    answer = client.post(url, json=body).json()
    elapsed = (time.perf_counter() - started) * 1000
    assert answer["ok"] and all(r["ok"] for r in answer.get("delivery", [])), answer
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--starts", type=int, default=3)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="delivery-cost-"))

    print("First-delivery imports (fresh interpreter, after `import main`), median of 5:")
    for name, statement in IMPORTS.items():
        print(f"  {name:45} {import_ms(statement):7.1f} ms")

    gateway = GatewayEmulator(token=TOKEN)
    gateway.start()
    pubsub = PubSubEmulator(PROJECT, logs / "pubsub.log")
    pubsub.start()
    pubsub.create_topic("results")
    storage = StorageEmulator("results-bucket", logs / "storage.log")
    storage.start()
    base = {
        "AIG_BASE_URL": gateway.base_url(),
        "AIG_TOKEN": TOKEN,
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        **emulator_env(pubsub, storage),
    }
    variants = {
        "no sinks": ({}, False),
        "Pub/Sub sink": ({"RESULTS_TOPIC": "results"}, True),
        "Cloud Storage sink": ({"RESULTS_BUCKET": "results-bucket"}, True),
        "both sinks": ({"RESULTS_TOPIC": "results", "RESULTS_BUCKET": "results-bucket"}, True),
    }
    try:
        print(
            f"\nPer variant: {args.starts} fresh processes (spawn to first answer, and that "
            f"first answer alone), then {args.requests} sequential requests in one process "
            "(latency, and the function's own CPU per request)."
        )
        print(
            f"  {'variant':20} {'spawn->1st (ms)':>16} {'1st call (ms)':>14} "
            f"{'p50 (ms)':>9} {'p95 (ms)':>9} {'CPU ms/req':>11}"
        )
        with httpx.Client(timeout=60) as client:
            for name, (extra, deliver) in variants.items():
                starts, firsts = [], []
                for _ in range(args.starts):
                    spawned = time.perf_counter()
                    with function_process("prompt", base | extra, logs / "function.log") as (
                        url,
                        _,
                    ):
                        firsts.append(post(client, url, deliver))
                        starts.append((time.perf_counter() - spawned) * 1000)
                with function_process("prompt", base | extra, logs / "function.log") as (url, pid):
                    post(client, url, deliver)  # warm
                    cpu = tree_cpu_seconds(pid)
                    times = sorted(post(client, url, deliver) for _ in range(args.requests))
                    cpu_ms = (tree_cpu_seconds(pid) - cpu) * 1000 / args.requests
                p95 = times[int(len(times) * 0.95) - 1]
                print(
                    f"  {name:20} {statistics.median(starts):16.0f} "
                    f"{statistics.median(firsts):14.1f} {statistics.median(times):9.2f} "
                    f"{p95:9.2f} {cpu_ms:11.2f}"
                )
    finally:
        storage.stop()
        pubsub.stop()
        gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
