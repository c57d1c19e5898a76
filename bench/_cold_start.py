"""3. Cold start: spawn to first successful answer, the function versus hello-world functions
(median of several starts, with the CPU seconds each start used). The "floor" rows
(bench/hello/relay_main.py) are a hello world that relays the prompt with httpx, with and
without reading the secrets from Secret Manager: what any relay on httpx and Google's client
library pays, so what is left for the function's own work.
"""

from __future__ import annotations

from collections.abc import Callable

from bench._procs import BENCH, Server, poll_until_answers, start_server, tree_cpu_seconds
from bench._results import ColdStart
from bench._stats import median
from bench._suite import PROMPT_BODY, Bench
from emulators.stack import free_port, function_command

__all__ = ["cold_starts"]


def cold_starts(bench: Bench) -> None:
    print("3. cold starts ...", flush=True)
    variants: list[tuple[str, str, Callable[[], Server]]] = [
        (
            "function",
            "the function (both secrets from Secret Manager)",
            lambda: bench.start_function("cold-function", secrets="manager"),
        ),
        (
            "function_env",
            "the function (secrets in env: secret_delivery = env)",
            lambda: bench.start_function("cold-function-env", secrets="env"),
        ),
        (
            "hello_aio",
            "hello world, functions_framework.aio",
            lambda: bench.start_hello("cold-hello-aio", "aio_main.py"),
        ),
        (
            "floor",
            "floor: hello world + one httpx call upstream (env secrets)",
            lambda: _floor(bench, "relay_env", secrets="env"),
        ),
        (
            "floor_secrets",
            "floor: hello world + Secret Manager client (2 fetches) + one httpx call",
            lambda: _floor(bench, "relay_secrets", secrets="manager"),
        ),
    ]
    answers: dict[str, list[float]] = {key: [] for key, _, _ in variants}
    ports: dict[str, list[float]] = {key: [] for key, _, _ in variants}
    cpu: dict[str, list[float]] = {key: [] for key, _, _ in variants}
    for _ in range(bench.sizes.cold_starts):
        for key, _, start in variants:
            server = start()
            try:
                port_open, answered = poll_until_answers(server, body=PROMPT_BODY, timeout=60)
                cpu[key].append(round(tree_cpu_seconds(server.pid), 3))
            finally:
                server.stop()
            answers[key].append(round(answered, 4))
            ports[key].append(round(port_open, 4))
    for key, label, _ in variants:
        bench.report.cold_start.append(
            ColdStart(
                variant=key,
                label=label,
                answer_s=answers[key],
                port_open_s=ports[key],
                median_answer_s=round(median(answers[key]), 4),
                median_port_open_s=round(median(ports[key]), 4),
                cpu_s=cpu[key],
                median_cpu_s=round(median(cpu[key]), 3),
            )
        )


def _floor(bench: Bench, target: str, *, secrets: str) -> Server:
    """bench/hello/relay_main.py: what any relay on httpx must do before its first answer."""
    port = free_port()
    cmd = [
        *function_command(target, bin_dir=bench.bin_dir),
        f"--source={BENCH / 'hello' / 'relay_main.py'}",
    ]
    env = bench.function_env(port, secrets=secrets)
    return start_server(
        f"cold-{target}", cmd, port=port, env=env, log_dir=bench.logs, cpus=bench.cpus
    )
