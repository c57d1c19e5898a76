"""What every measurement shares: the sizes of a run, the targets, and `Bench`, the run itself.

`Bench` starts the stand-ins and the servers under test, sends a load and bills the server's
CPU to it, and stops everything it started. The measurements (bench/_overhead.py,
bench/_in_flight.py, ...) are functions of a `Bench`; bench/__main__.py runs them in order.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import msgspec

from bench import _memory
from bench._loadspec import LoadSpec
from bench._machine import machine, python_version
from bench._procs import (
    BENCH,
    Cpus,
    OthersWatch,
    Server,
    poll_until_answers,
    run_load,
    start_server,
    tree_cpu_seconds,
)
from bench._results import Measured, Report, merge
from bench._venvs import ensure_prod_venv
from emulators.gateway import GatewayEmulator, RecordedRequest
from emulators.secretmanager import SecretManagerEmulator
from emulators.stack import Credentials, free_port, function_command, function_env, process_env

__all__ = [
    "CREDENTIALS",
    "PROMPT",
    "PROMPT_BODY",
    "RESULTS",
    "Bench",
    "Sizes",
    "Target",
    "raw_request",
    "upstream_copy",
    "upstream_headers",
]

CREDENTIALS = Credentials(
    name="bench", token="bench-gateway-token-5f1e2d3c", openai_key="sk-bench-openai-key-9a8b7c6d"
)
PROMPT = "Say hello in one short sentence"
# The function's request for one plain Chat Completions answer.
PROMPT_BODY = msgspec.json.encode({"prompt": PROMPT, "api": "chat"})
RESULTS = BENCH / "results"
# Headers of a recorded upstream request that the load generator sets (or must not repeat).
_HOP_HEADERS = frozenset({"host", "content-length", "connection", "accept-encoding", "accept"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Sizes:
    """How much load each measurement sends (full run, or --quick for a smoke test)."""

    seq_rounds: int  # interleaved rounds of the sequential overhead runs
    seq_requests: int
    c32_requests: int  # requests at 32 clients
    stream_rounds: int
    stream_requests: int
    in_flight_seconds: float  # steady window of the 200-client run
    big_seconds: float  # steady window of the 1,000-client run
    cold_starts: int
    memory_requests: int = 2000  # per variant of the memory increments (at 32 clients)

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            seq_rounds=3,
            seq_requests=800,
            c32_requests=10_000,
            stream_rounds=2,
            stream_requests=300,
            in_flight_seconds=10.0,
            big_seconds=8.0,
            cold_starts=5,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            seq_rounds=1,
            seq_requests=200,
            c32_requests=1000,
            stream_rounds=1,
            stream_requests=50,
            in_flight_seconds=3.0,
            big_seconds=4.0,
            cold_starts=2,
            memory_requests=200,
        )


@dataclass(frozen=True, slots=True)
class Target:
    """One server the same load is sent to."""

    key: str
    label: str
    port: int
    request: bytes
    expect: bytes
    server: Server | None  # None: the emulator itself (in this process)
    stream_request: bytes | None = None
    stream_expect: bytes | None = None
    in_flight: bool = False  # also measured under the slow-upstream loads
    # Starts a new, warmed-up process of the same server: each slow-upstream run gets its own,
    # so that one run's leftovers (a bloated connection pool, say) do not bill the next.
    fresh: Callable[[], Server] | None = None


def raw_request(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    """A keep-alive HTTP/1.1 POST."""
    lines = [f"POST {path} HTTP/1.1", "host: 127.0.0.1", "content-type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def upstream_headers(recorded: RecordedRequest) -> dict[str, str]:
    """The headers of a request the emulator received, less those a client sets itself."""
    return {k: v for k, v in recorded.headers.items() if k not in _HOP_HEADERS}


def upstream_copy(gateway: GatewayEmulator) -> bytes:
    """The last request the emulator received, as a raw request to send it again directly."""
    last = gateway.requests[-1]
    return raw_request(last.path, msgspec.json.encode(last.json), upstream_headers(last))


class Bench:
    """One run of the suite: starts what it needs, measures, stops everything it started."""

    gateway: GatewayEmulator
    secret_manager: SecretManagerEmulator
    upstream_request: RecordedRequest  # what the function sent upstream for one prompt

    def __init__(self, args: argparse.Namespace) -> None:
        self.sizes = Sizes.quick() if args.quick else Sizes.full()
        self.cpus = Cpus.plan()
        self.logs = RESULTS / "logs"
        self.stack = ExitStack()
        self.notes: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.started = time.monotonic()
        self.report = Report(
            machine=machine(self.cpus, "quick" if args.quick else "full"),
            notes=self.notes,
            skipped=self.skipped,
        )
        self.bin_dir = Path(sys.executable).parent

    # --- set-up ----------------------------------------------------------------------------

    def function_env(self, port: int, *, secrets: str) -> dict[str, str]:
        """secrets="env": token and key in the environment; "manager": from the emulator."""
        manager = self.secret_manager if secrets == "manager" else None
        settings = function_env(CREDENTIALS, gateway=self.gateway, secret_manager=manager)
        return process_env(port, bin_dir=self.bin_dir) | settings

    def start_function(
        self, name: str, *, secrets: str, extra: dict[str, str] | None = None
    ) -> Server:
        port = free_port()
        env = self.function_env(port, secrets=secrets) | (extra or {})
        cmd = function_command(bin_dir=self.bin_dir)
        return start_server(name, cmd, port=port, env=env, log_dir=self.logs, cpus=self.cpus)

    def warm_function(self, name: str, extra: dict[str, str]) -> Server:
        """A function process (env secrets) that has answered one prompt."""
        server = self.start_function(name, secrets="env", extra=extra)
        try:
            poll_until_answers(server, body=PROMPT_BODY)
        except Exception:
            server.stop()
            raise
        return server

    def start_hello(self, name: str, source: str) -> Server:
        port = free_port()
        env = process_env(port, bin_dir=self.bin_dir)
        cmd = [
            *function_command("hello", bin_dir=self.bin_dir),
            f"--source={BENCH / 'hello' / source}",
        ]
        return start_server(name, cmd, port=port, env=env, log_dir=self.logs, cpus=self.cpus)

    def setup(self) -> None:
        self.cpus.pin_self()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # 1,000 clients mean ~3,000 sockets across the processes; children inherit this.
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
        self.bin_dir, self.notes["server_venv"] = ensure_prod_venv(self.logs)
        self.report.machine.server_venv = self.notes["server_venv"]
        self.report.machine.python = python_version(self.bin_dir / "python")
        self.secret_manager = CREDENTIALS.secret_manager()
        self.secret_manager.start()
        self.stack.callback(self.secret_manager.stop)
        self.gateway = CREDENTIALS.gateway(max_recorded=1000)
        self.gateway.start()
        self.stack.callback(self.gateway.stop)

    def keep(self, server: Server) -> Server:
        self.stack.callback(server.stop)
        return server

    def section(self, name: str, work: Callable[[], None]) -> None:
        started = time.monotonic()
        work()
        self.report.machine.sections[name] = round(time.monotonic() - started, 1)

    # --- measuring -------------------------------------------------------------------------

    def measure(self, target: Target, spec: LoadSpec) -> Measured:
        root = target.server.pid if target.server else None
        before = tree_cpu_seconds(root) if root else 0.0
        others = OthersWatch()
        own = _own_cpu_seconds()
        result = run_load(spec, self.cpus)
        own = _own_cpu_seconds() - own
        cores = others.cores()
        cpu_ms = cpu_cores = None
        if root is not None:
            used = tree_cpu_seconds(root) - before
            cpu_ms = round(used / max(result.total_requests, 1) * 1000, 3)
            cpu_cores = round(used / max(result.total_seconds, 1e-9), 2)
        return Measured(
            target=target.key,
            label=target.label,
            clients=spec.clients,
            result=result,
            server_cpu_ms_per_request=cpu_ms,
            server_cpu_cores=cpu_cores,
            others_cores=cores,
            upstream_cpu_ms_per_request=round(own / max(result.total_requests, 1) * 1000, 3),
        )

    def interleaved(
        self, targets: list[Target], rounds: int, spec_for: Callable[[Target], LoadSpec | None]
    ) -> list[Measured]:
        """Rounds of one run per target, in turn, so drift on a shared machine hits all alike."""
        runs: dict[str, list[Measured]] = {t.key: [] for t in targets}
        for _ in range(rounds):
            for target in targets:
                spec = spec_for(target)
                if spec is not None:
                    runs[target.key].append(self.measure(target, spec))
        merged = []
        for target in targets:
            done = runs[target.key]
            if not done:
                continue
            cpu_ms = None
            if all(m.server_cpu_ms_per_request is not None for m in done):
                # Weighted by the requests each run served (warm-up included, as measured).
                served = sum(m.result.total_requests for m in done)
                spent = sum(
                    (m.server_cpu_ms_per_request or 0.0) * m.result.total_requests for m in done
                )
                cpu_ms = round(spent / max(served, 1), 3)
            upstream = [m.upstream_cpu_ms_per_request or 0.0 for m in done]
            merged.append(
                Measured(
                    target=target.key,
                    label=target.label,
                    clients=done[0].clients,
                    result=merge([m.result for m in done]),
                    server_cpu_ms_per_request=cpu_ms,
                    server_cpu_cores=None,
                    others_cores=round(max(m.others_cores for m in done), 2),
                    upstream_cpu_ms_per_request=round(sum(upstream) / len(upstream), 3),
                )
            )
        return merged

    def connections_opened(self) -> int:
        """Upstream connections the emulator has accepted so far."""
        return self.gateway.stats()["connections_opened"]

    def memory(self, target: str, stage: str, server: Server) -> None:
        self.report.memory.append(_memory.sample(target, stage, server))


def _own_cpu_seconds() -> float:
    """CPU used so far by this process, every thread (the emulators run in it), no children."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
