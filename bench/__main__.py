"""`make bench`: the performance suite, side by side in one run, everything on 127.0.0.1.

    .venv/bin/python -m bench [--quick] [--no-litellm] [--out bench/results/latest.json]

Against the AI Gateway emulator as a fast upstream stand-in, it measures:

1. overhead: the same Chat Completions request sent directly to the emulator and through the
   function (a real `functions-framework --target=prompt` process), sequentially and at 32
   concurrent clients, with a hello-world aio function and LiteLLM's proxy as references;
2. calls in flight: 200 clients against a 1 s upstream for 10 s (ideal: 200/s), then 1,000
   clients against a 2 s upstream (ideal: 500/s), against ONE function process;
3. cold start: spawn to first successful answer (both secrets fetched from the Secret Manager
   emulator) versus hello-world functions, median of several starts, plus an import profile;
4. memory: resident set of the function's process tree (gunicorn arbiter + worker) idle, at
   the peak of (2) and after it;
5. secret fetches: 200 simultaneous first requests to a fresh function, fetches per secret;
6. upstream connections opened by the function for 10,000 requests at 32 clients;
7. streaming time to first event, through the function versus direct.

Experiments run beside the function as it is, to show what would move a number: the same code
on httpx2 (a fork of httpx whose connection pool is not quadratic) and with uvloop/httptools
(bench/_venvs.py), and the HTTP client libraries alone (bench/_clients.py).

It prints a markdown report and writes bench/results/latest.json. The goals live here, in
`GOALS`, never in tests. The load generator (bench/_load.py) runs in its own process, pinned off
the core the server under test runs on (see bench/_procs.py). Servers run from
bench/.venv-prod (requirements.txt only), LiteLLM from bench/.venv-litellm; both are built on
the first run and reused.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import msgspec

from bench import _litellm
from bench._imports import profile_imports
from bench._load import LoadSpec
from bench._procs import (
    BENCH,
    ROOT,
    Cpus,
    OthersWatch,
    Server,
    base_env,
    free_port,
    poll_until_answers,
    run_load,
    start_server,
    tree_cpu_seconds,
    tree_memory_kib,
    wait_idle,
)
from bench._report import render
from bench._results import (
    Burst,
    ClientCost,
    ColdStart,
    Connections,
    Goal,
    InFlight,
    Machine,
    Measured,
    MemorySample,
    Report,
    merge,
)
from bench._stats import median
from bench._venvs import ensure_httpx2, ensure_prod_venv, ensure_speedups
from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator

PROJECT = "bench-project"
TOKEN = "bench-gateway-token-5f1e2d3c"
OPENAI_KEY = "sk-bench-openai-key-9a8b7c6d"
TOKEN_SECRET = f"projects/{PROJECT}/secrets/aig-token"
KEY_SECRET = f"projects/{PROJECT}/secrets/openai-key"
PROMPT = "Say hello in one short sentence"
RESULTS = BENCH / "results"
# A call to a 1-2 s upstream that takes this long has failed, whatever it answers later.
IN_FLIGHT_TIMEOUT_SECONDS = 15.0
# Clients for the "where it bends" sweep of the experimental stack (2 s upstream).
SWEEP_HTTPX2 = (500,)
# The client libraries alone: this many requests in flight against this upstream delay.
CLIENT_IN_FLIGHT = 1000
CLIENT_IN_FLIGHT_DELAY_MS = 2000
# The lockstep ("waves") runs last this share of the steady window (they are the slow ones).
WAVES_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class Goals:
    """The speed goals of the "Performance" issue. They live here, never in tests."""

    overhead_p50_ms: float = 1.0
    overhead_p99_ms: float = 5.0
    in_flight_fraction: float = 0.95
    cold_start_ratio: float = 1.3
    memory_mb: float = 150.0  # 10^6 bytes
    fetches_per_secret: int = 1
    # "near the concurrency": at most this many connections per concurrent client.
    connections_per_client: float = 2.0


GOALS = Goals()


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much load each measurement sends (full run, or --quick for a smoke test)."""

    seq_rounds: int
    seq_requests: int
    seq_requests_litellm: int
    c32_requests: int
    c32_requests_litellm: int
    stream_rounds: int
    stream_requests: int
    in_flight_seconds: float
    big_seconds: float
    cold_starts: int
    client_requests: int
    sweep_seconds: float
    c32_requests_experiments: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(3, 800, 200, 10_000, 1000, 2, 300, 10.0, 8.0, 5, 1000, 5.0, 5000)

    @classmethod
    def quick(cls) -> Sizes:
        return cls(1, 200, 50, 1000, 300, 1, 50, 3.0, 4.0, 2, 300, 2.0, 500)


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


def upstream_copy(gateway: GatewayEmulator) -> bytes:
    """The last request the emulator received, as a raw request to send it again directly."""
    last = gateway.requests[-1]
    skip = {"host", "content-length", "connection", "accept-encoding", "accept"}
    headers = {k: v for k, v in last.headers.items() if k not in skip}
    return raw_request(last.path, msgspec.json.encode(last.json), headers)


def mib(kib: int) -> float:
    return round(kib / 1024, 1)


class MemoryPeak(threading.Thread):
    """Samples a process tree's RSS/PSS while a load runs; keeps the peak."""

    INTERVAL_SECONDS = 0.25

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._pid = pid
        self._halt = threading.Event()
        self.rss_kib = 0
        self.pss_kib = 0

    def run(self) -> None:
        while not self._halt.is_set():
            rss, pss = tree_memory_kib(self._pid)
            self.rss_kib = max(self.rss_kib, rss)
            self.pss_kib = max(self.pss_kib, pss)
            self._halt.wait(self.INTERVAL_SECONDS)

    def finish(self) -> None:
        self._halt.set()
        self.join(timeout=5)


class Bench:
    """One run of the suite: starts what it needs, measures, stops everything it started."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.sizes = Sizes.quick() if args.quick else Sizes.full()
        self.use_litellm = not args.no_litellm
        self.cpus = Cpus.plan()
        self.logs = RESULTS / "logs"
        self.stack = ExitStack()
        self.notes: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.started = time.monotonic()
        self.report = Report(
            machine=_machine(self.cpus, "quick" if args.quick else "full"),
            notes=self.notes,
            skipped=self.skipped,
        )
        self.bin_dir = Path(sys.executable).parent
        self.speedups: Path | None = None
        self.httpx2: Path | None = None

    # --- set-up ----------------------------------------------------------------------------

    def function_env(self, port: int, *, secrets: str) -> dict[str, str]:
        env = {"AIG_BASE_URL": self.gateway.base_url("bench-account", "bench-gateway")}
        if secrets == "env":
            env |= {"AIG_TOKEN": TOKEN, "OPENAI_API_KEY": OPENAI_KEY}
        else:
            env |= {
                "GOOGLE_CLOUD_PROJECT": PROJECT,
                "AIG_TOKEN_SECRET": "aig-token",
                "OPENAI_API_KEY_SECRET": KEY_SECRET,
                "SECRETMANAGER_EMULATOR_HOST": self.secret_manager.address,
            }
        return base_env(port, env) | {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}

    def start_function(
        self, name: str, *, secrets: str, extra: dict[str, str] | None = None
    ) -> Server:
        port = free_port()
        env = self.function_env(port, secrets=secrets) | (extra or {})
        cmd = [str(self.bin_dir / "functions-framework"), "--target=prompt"]
        return start_server(name, cmd, port=port, env=env, log_dir=self.logs, cpus=self.cpus)

    def warm_function(self, name: str, extra: dict[str, str]) -> Server:
        """A function process (env secrets) that has answered one prompt."""
        server = self.start_function(name, secrets="env", extra=extra)
        try:
            poll_until_answers(server, body=msgspec.json.encode({"prompt": PROMPT, "api": "chat"}))
        except Exception:
            server.stop()
            raise
        return server

    def start_hello(self, name: str, source: str) -> Server:
        port = free_port()
        env = base_env(port, {}) | {"PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}
        cmd = [
            str(self.bin_dir / "functions-framework"),
            f"--source={BENCH / 'hello' / source}",
            "--target=hello",
        ]
        return start_server(name, cmd, port=port, env=env, log_dir=self.logs, cpus=self.cpus)

    def setup(self) -> None:
        self.cpus.pin_self()
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        # 1,000 clients mean ~3,000 sockets across the processes; children inherit this.
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
        self.bin_dir, self.notes["server_venv"] = ensure_prod_venv(self.logs)
        self.report.machine.server_venv = self.notes["server_venv"]
        self.report.machine.python = _python_version(self.bin_dir / "python")
        self.speedups, self.notes["speedups"] = ensure_speedups(self.logs)
        self.httpx2, self.notes["httpx2"] = ensure_httpx2(self.logs)
        self.secret_manager = SecretManagerEmulator({TOKEN_SECRET: TOKEN, KEY_SECRET: OPENAI_KEY})
        self.secret_manager.start()
        self.stack.callback(self.secret_manager.stop)
        self.gateway = GatewayEmulator(token=TOKEN, openai_key=OPENAI_KEY, max_recorded=1000)
        self.gateway.start()
        self.stack.callback(self.gateway.stop)

    def keep(self, server: Server) -> Server:
        self.stack.callback(server.stop)
        return server

    # --- measuring -------------------------------------------------------------------------

    def measure(self, target: Target, spec: LoadSpec) -> Measured:
        root = target.server.pid if target.server else None
        before = tree_cpu_seconds(root) if root else 0.0
        others = OthersWatch()
        result = run_load(spec, self.cpus)
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
            merged.append(
                Measured(
                    target=target.key,
                    label=target.label,
                    clients=done[0].clients,
                    result=merge([m.result for m in done]),
                    server_cpu_ms_per_request=cpu_ms,
                    server_cpu_cores=None,
                    others_cores=round(max(m.others_cores for m in done), 2),
                )
            )
        return merged

    def memory(self, target: str, stage: str, server: Server) -> None:
        rss, pss = tree_memory_kib(server.pid)
        self.report.memory.append(
            MemorySample(target=target, stage=stage, rss_mib=mib(rss), pss_mib=mib(pss))
        )

    # --- the suite -------------------------------------------------------------------------

    def section(self, name: str, work: Callable[[], None]) -> None:
        started = time.monotonic()
        work()
        self.report.machine.sections[name] = round(time.monotonic() - started, 1)

    def run(self) -> Report:
        with self.stack:
            self.section("setup", self.setup)
            targets: list[Target] = []
            self.section("start servers", lambda: targets.extend(self.overhead_targets()))
            self.section("overhead", lambda: self.overhead(targets))
            self.section("client libraries", self.client_costs)
            self.section("streaming", lambda: self.streaming(targets))
            self.section("in flight", lambda: self.in_flight(targets))
            for target in targets:  # free the server core and memory for what follows
                if target.server is not None:
                    target.server.stop()
            self.section("burst", self.burst)
            self.section("cold starts", self.cold_starts)
            self.section("imports", self.imports)
        self.report.machine.load_after = _loadavg()
        self.report.machine.duration_s = round(time.monotonic() - self.started, 1)
        self.report.goals = evaluate(self.report)
        return self.report

    def overhead_targets(self) -> list[Target]:
        function_body = msgspec.json.encode({"prompt": PROMPT, "api": "chat"})
        stream_body = msgspec.json.encode({"prompt": PROMPT, "api": "chat", "stream": True})
        function = self.keep(self.start_function("function", secrets="env"))
        poll_until_answers(function, body=function_body)
        self.upstream_request = self.gateway.requests[-1]
        direct = upstream_copy(self.gateway)
        poll_until_answers(function, body=stream_body)
        direct_stream = upstream_copy(self.gateway)
        self.memory("function", "idle (after 1 answer)", function)
        targets = [
            Target(
                "direct",
                "direct to the emulator (baseline)",
                self.gateway.port,
                direct,
                b'"choices"',
                None,
                direct_stream,
                b"[DONE]",
                in_flight=True,
            ),
            Target(
                "function",
                "through the function",
                function.port,
                raw_request("/", function_body),
                b'"ok":true',
                function,
                raw_request("/", stream_body),
                b"event: result",
                in_flight=True,
                fresh=lambda: self.warm_function("function-run", {}),
            ),
        ]
        experiments = [
            ("function_httpx2", "function on httpx2 (experiment)", [self.httpx2], False),
            (
                "function_httpx2_speedups",
                "function on httpx2 + uvloop/httptools (experiment)",
                [self.httpx2, self.speedups],
                True,
            ),
        ]
        for key, label, paths, in_flight in experiments:
            if any(path is None for path in paths):
                self.skipped[key] = "; ".join(
                    self.notes[name] for name in ("httpx2", "speedups") if self.notes.get(name)
                )
                continue
            extra = {"PYTHONPATH": os.pathsep.join(str(path) for path in paths)}
            server = self.keep(self.warm_function(key.replace("_", "-"), extra))
            targets.append(
                Target(
                    key,
                    label,
                    server.port,
                    raw_request("/", function_body),
                    b'"ok":true',
                    server,
                    in_flight=in_flight,
                    fresh=functools.partial(
                        self.warm_function, key.replace("_", "-") + "-run", extra
                    ),
                )
            )
        hello = self.keep(self.start_hello("hello-aio", "aio_main.py"))
        poll_until_answers(hello, body=function_body)
        self.memory("hello_aio", "idle (after 1 answer)", hello)
        targets.append(
            Target(
                "hello_aio",
                "hello-world aio function (no upstream call)",
                hello.port,
                raw_request("/", function_body),
                b'"ok":true',
                hello,
            )
        )
        litellm = self.start_litellm()
        if litellm is not None:
            auth = {"authorization": f"Bearer {_litellm.MASTER_KEY}"}
            targets.append(
                Target(
                    "litellm",
                    f"LiteLLM proxy {_litellm.LITELLM_VERSION} (reference)",
                    litellm.port,
                    raw_request("/v1/chat/completions", _litellm.chat_body(PROMPT), auth),
                    b'"choices"',
                    litellm,
                    raw_request(
                        "/v1/chat/completions", _litellm.chat_body(PROMPT, stream=True), auth
                    ),
                    b"[DONE]",
                    in_flight=True,
                )
            )
            self.memory("litellm", "idle (after 1 answer)", litellm)
        return targets

    def start_litellm(self) -> Server | None:
        if not self.use_litellm:
            self.skipped["litellm"] = "--no-litellm"
            return None
        exe, note = _litellm.ensure_installed(self.logs)
        self.notes["litellm"] = note
        if exe is None:
            self.skipped["litellm"] = note
            return None
        try:
            server, took = _litellm.start_litellm(
                exe,
                api_base=self.gateway.base_url("bench-account", "bench-gateway"),
                token=TOKEN,
                openai_key=OPENAI_KEY,
                work_dir=self.logs / "litellm",
                cpus=self.cpus,
            )
        except Exception as exc:
            self.skipped["litellm"] = f"did not start: {exc}"[:300]
            return None
        self.notes["litellm"] = f"{note}; spawn to first answer {took:.1f} s"
        return self.keep(server)

    def overhead(self, targets: list[Target]) -> None:
        sizes = self.sizes
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

        self.report.sequential = self.interleaved(targets, sizes.seq_rounds, sequential)
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
            opened_before = self.gateway.stats()["connections_opened"]
            measured = self.measure(target, spec)
            opened = self.gateway.stats()["connections_opened"] - opened_before
            self.report.concurrent.append(measured)
            if target.key in ("function", "function_httpx2", "litellm"):
                self.report.connections.append(
                    Connections(
                        target=target.key,
                        label=target.label,
                        requests=measured.result.ok + measured.result.errors,
                        clients=32,
                        opened=opened,
                    )
                )

    def streaming(self, targets: list[Target]) -> None:
        print("7. streaming time to first event ...", flush=True)
        streamed = [t for t in targets if t.stream_request is not None]

        def spec(target: Target) -> LoadSpec:
            assert target.stream_request is not None
            count = self.sizes.stream_requests
            if target.key == "litellm":
                count = max(count // 4, 20)
            return LoadSpec(
                port=target.port,
                request=target.stream_request,
                clients=1,
                requests=count,
                warmup=20,
                expect=target.stream_expect,
                keep_samples=True,
                max_seconds=120,
            )

        self.report.streaming = self.interleaved(streamed, self.sizes.stream_rounds, spec)

    def fresh_run(self, target: Target, work: Callable[[Target], InFlight]) -> InFlight:
        """Run `work` on a new process of the target's server when it has a factory."""
        if target.fresh is None:
            return work(target)
        server = target.fresh()
        try:
            return work(replace(target, port=server.port, server=server))
        finally:
            server.stop()

    def in_flight(self, targets: list[Target]) -> None:
        sizes = self.sizes
        chosen = [t for t in targets if t.in_flight]
        by_key = {t.key: t for t in targets}
        try:
            print("2. in flight: 200 clients, upstream 1000 ms ...", flush=True)
            self.gateway.delay_ms = 1000
            for target in chosen:
                self.fresh_run(
                    target,
                    lambda t: self.in_flight_one(
                        t, 200, 1000, sizes.in_flight_seconds, steady=True
                    ),
                )
            for target in chosen:
                if target.key in ("direct", "function", "function_httpx2_speedups"):
                    self.fresh_run(
                        target,
                        lambda t: self.in_flight_one(
                            t, 200, 1000, sizes.in_flight_seconds, steady=False
                        ),
                    )
            print("2. in flight: 1000 clients, upstream 2000 ms ...", flush=True)
            for target in chosen:
                self.gateway.delay_ms = 2000
                self.fresh_run(target, self.big_then_small)
            print("2. where it bends: httpx2 + uvloop, upstream 2000 ms ...", flush=True)
            self.gateway.delay_ms = 2000
            if "function_httpx2_speedups" in by_key:
                for clients in SWEEP_HTTPX2:
                    self.report.bend.append(
                        self.fresh_run(
                            by_key["function_httpx2_speedups"],
                            functools.partial(self.sweep_point, clients=clients, delay_ms=2000),
                        )
                    )
        finally:
            self.gateway.delay_ms = 0

    def sweep_point(self, target: Target, *, clients: int, delay_ms: int) -> InFlight:
        """One steady point of a "where it bends" sweep (not in the main table)."""
        return self.in_flight_one(
            target, clients, delay_ms, self.sizes.sweep_seconds, steady=True, record=False
        )

    def big_then_small(self, target: Target) -> InFlight:
        """1,000 clients on a 2 s upstream; for the function, then 100 on the same process."""
        flight = self.in_flight_one(target, 1000, 2000, self.sizes.big_seconds, steady=True)
        if target.key == "function":
            # The same process, right after the spike: does it recover at a load it handles?
            self.gateway.delay_ms = 1000
            after = self.in_flight_one(
                target, 100, 1000, self.sizes.sweep_seconds, steady=True, record=False
            )
            after.note = "right after the 1,000-client run, same process"
            self.report.bend.append(after)
        return flight

    def in_flight_one(
        self,
        target: Target,
        clients: int,
        delay_ms: int,
        seconds: float,
        *,
        steady: bool,
        record: bool = True,
    ) -> InFlight:
        delay = delay_ms / 1000
        if steady:
            # Client starts spread over one upstream delay: requests arrive evenly, as they do
            # from many independent callers. Answers completed in the window count.
            spec = LoadSpec(
                port=target.port,
                request=target.request,
                clients=clients,
                ramp=delay,
                warmup_seconds=2 * delay,
                duration=seconds,
                timeout=IN_FLIGHT_TIMEOUT_SECONDS,
                max_seconds=2 * delay + seconds,
                expect=target.expect,
            )
        else:
            # Every client at once, in lockstep: each wave of `clients` requests arrives together.
            waves = max(round(seconds / delay * WAVES_SHARE), 2)
            spec = LoadSpec(
                port=target.port,
                request=target.request,
                clients=clients,
                warmup=clients,
                requests=clients * waves,
                timeout=IN_FLIGHT_TIMEOUT_SECONDS,
                max_seconds=2 * waves * delay,
                expect=target.expect,
            )
        if target.server is not None:
            # A server that fell behind in the previous run may still be working off abandoned
            # requests: poll until it is idle, so that work is not billed to this run.
            wait_idle(target.server.pid)
        peak = MemoryPeak(target.server.pid) if target.server else None
        if peak is not None:
            peak.start()
        opened = self.gateway.stats()["connections_opened"]
        try:
            measured = self.measure(target, spec)
        finally:
            if peak is not None:
                peak.finish()
        opened = self.gateway.stats()["connections_opened"] - opened
        ideal = clients / delay
        arrivals = "steady" if steady else "waves"
        flight = InFlight(
            arrivals=arrivals,
            delay_ms=delay_ms,
            ideal_rps=ideal,
            fraction=round(measured.result.throughput / ideal, 3),
            measured=measured,
            rss_peak_mib=mib(peak.rss_kib) if peak else None,
            pss_peak_mib=mib(peak.pss_kib) if peak else None,
            upstream_connections=opened if target.server else None,
        )
        if not record:
            return flight
        self.report.in_flight.append(flight)
        if target.server is not None and target.key in ("function", "litellm"):
            stage = f"{clients} clients ({arrivals})"
            self.memory(target.key, f"after {stage}", target.server)
            if peak is not None:
                self.report.memory.append(
                    MemorySample(
                        target=target.key,
                        stage=f"peak during {stage}",
                        rss_mib=mib(peak.rss_kib),
                        pss_mib=mib(peak.pss_kib),
                    )
                )
        return flight

    def client_costs(self) -> None:
        """The HTTP client libraries on their own: CPU per sequential request."""
        print("1. HTTP client cost per request ...", flush=True)
        last = self.upstream_request
        skip = {"host", "content-length", "connection", "accept-encoding", "accept"}
        headers = {k: v for k, v in last.headers.items() if k not in skip}
        body_file = self.logs / "client-body.json"
        body_file.write_bytes(msgspec.json.encode(last.json))
        url = f"http://127.0.0.1:{self.gateway.port}{last.path}"
        script = str(BENCH / "_clients.py")
        runs: list[tuple[str, str, Path, dict[str, str]]] = [
            ("httpx", "httpx 0.28 (the function's)", self.bin_dir / "python", {}),
        ]
        if self.httpx2 is not None:
            runs.append(
                ("httpx2", "httpx2 2.16", self.bin_dir / "python", {"PYTHONPATH": str(self.httpx2)})
            )
        litellm_python = _litellm.VENV / "bin" / "python"
        if "litellm" not in self.skipped and litellm_python.exists():
            runs.append(("aiohttp", "aiohttp (from the LiteLLM venv)", litellm_python, {}))
        for library, note, python, extra in runs:
            env = {**os.environ, **extra}
            cmd = self.cpus.server_cmd(
                [
                    str(python),
                    script,
                    library,
                    url,
                    str(self.sizes.client_requests),
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
                self.skipped[f"client_{library}"] = done.stderr.strip().splitlines()[-1:][0][:200]
                continue
            cost = json.loads(done.stdout)
            self.report.clients.append(
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

    def burst(self) -> None:
        print("5. secret fetches under a burst of first requests ...", flush=True)
        server = self.start_function("function-burst", secrets="manager")
        try:
            # A GET is answered 405 without reading any secret: the worker is up, nothing fetched.
            poll_until_answers(server, method="GET", want_status=None)
            self.secret_manager.reset_counts()
            body = msgspec.json.encode({"prompt": PROMPT, "api": "chat"})
            spec = LoadSpec(
                port=server.port,
                request=raw_request("/", body),
                clients=200,
                requests=200,
                simultaneous=True,
                timeout=30,
                max_seconds=30,
                expect=b'"ok":true',
            )
            result = run_load(spec, self.cpus)
            fetches = {
                name: self.secret_manager.access_count(name) for name in (TOKEN_SECRET, KEY_SECRET)
            }
            self.report.burst = Burst(clients=200, result=result, fetches=fetches)
        finally:
            server.stop()

    def cold_starts(self) -> None:
        print("3. cold starts ...", flush=True)
        body = msgspec.json.encode({"prompt": PROMPT, "api": "chat"})
        variants: list[tuple[str, str, Callable[[], Server]]] = [
            (
                "function",
                "the function (both secrets from Secret Manager)",
                lambda: self.start_function("cold-function", secrets="manager"),
            ),
            (
                "function_env",
                "the function (secrets in env: secret_delivery = env)",
                lambda: self.start_function("cold-function-env", secrets="env"),
            ),
            (
                "hello_aio",
                "hello world, functions_framework.aio",
                lambda: self.start_hello("cold-hello-aio", "aio_main.py"),
            ),
            (
                "hello_flask",
                "hello world, @functions_framework.http (Flask)",
                lambda: self.start_hello("cold-hello-flask", "main.py"),
            ),
        ]
        answers: dict[str, list[float]] = {key: [] for key, _, _ in variants}
        ports: dict[str, list[float]] = {key: [] for key, _, _ in variants}
        for _ in range(self.sizes.cold_starts):
            for key, _, start in variants:
                server = start()
                try:
                    port_open, answered = poll_until_answers(server, body=body, timeout=60)
                finally:
                    server.stop()
                answers[key].append(round(answered, 4))
                ports[key].append(round(port_open, 4))
        for key, label, _ in variants:
            self.report.cold_start.append(
                ColdStart(
                    variant=key,
                    label=label,
                    answer_s=answers[key],
                    port_open_s=ports[key],
                    median_answer_s=round(median(answers[key]), 4),
                    median_port_open_s=round(median(ports[key]), 4),
                )
            )

    def imports(self) -> None:
        print("3. import profile ...", flush=True)
        env = self.function_env(free_port(), secrets="manager")
        self.report.imports = profile_imports(env, python=self.bin_dir / "python")


def evaluate(report: Report) -> list[Goal]:
    """Each goal of the issue: measured value and met / not met."""
    goals: list[Goal] = []

    def find(rows: list[Measured], key: str) -> Measured | None:
        return next((m for m in rows if m.target == key), None)

    for rows, how in ((report.sequential, "sequential"), (report.concurrent, "32 clients")):
        direct, function = find(rows, "direct"), find(rows, "function")
        if direct is None or function is None:
            continue
        d50 = function.result.p50 - direct.result.p50
        d99 = function.result.p99 - direct.result.p99
        goals.append(
            Goal(
                number=1,
                goal=f"overhead p50 <= {GOALS.overhead_p50_ms:g} ms ({how})",
                measured=f"{d50:.2f} ms",
                met=d50 <= GOALS.overhead_p50_ms,
            )
        )
        goals.append(
            Goal(
                number=1,
                goal=f"overhead p99 <= {GOALS.overhead_p99_ms:g} ms ({how})",
                measured=f"{d99:.2f} ms",
                met=d99 <= GOALS.overhead_p99_ms,
            )
        )
    for flight in report.in_flight:
        if flight.measured.target != "function":
            continue
        result = flight.measured.result
        summary = (
            f"{flight.fraction:.3f} of {flight.ideal_rps:.0f}/s, {result.errors} errors, "
            f"p99 {result.p99:,.0f} ms"
        )
        if flight.measured.clients == 200:
            goals.append(
                Goal(
                    number=2,
                    goal=f"200 in flight ({flight.arrivals}): >= {GOALS.in_flight_fraction:g} "
                    "of 200/s, 0 errors",
                    measured=summary,
                    met=flight.fraction >= GOALS.in_flight_fraction and result.errors == 0,
                )
            )
        else:
            goals.append(
                Goal(
                    number=2,
                    goal=f"{flight.measured.clients} in flight ({flight.arrivals}; where it "
                    "bends, no goal)",
                    measured=summary,
                    met=None,
                )
            )
    cold = {c.variant: c for c in report.cold_start}
    hello = cold.get("hello_aio")
    for key, how in (("function", "secrets from Secret Manager"), ("function_env", "env secrets")):
        start = cold.get(key)
        if start is None or hello is None:
            continue
        ratio = start.median_answer_s / hello.median_answer_s
        flask = cold.get("hello_flask")
        vs_flask = (
            f"; {start.median_answer_s / flask.median_answer_s:.2f}x Flask hello" if flask else ""
        )
        goals.append(
            Goal(
                number=3,
                goal=f"cold start <= {GOALS.cold_start_ratio:g}x hello world aio ({how})",
                measured=f"{start.median_answer_s:.2f} s vs {hello.median_answer_s:.2f} s = "
                f"{ratio:.2f}x{vs_flask}",
                met=ratio <= GOALS.cold_start_ratio,
            )
        )
    function_memory = [m for m in report.memory if m.target == "function"]
    if function_memory:
        worst = max(function_memory, key=lambda m: m.rss_mib)
        megabytes = worst.rss_mib * 1.048576
        goals.append(
            Goal(
                number=4,
                goal=f"memory (RSS of the process tree) <= {GOALS.memory_mb:g} MB",
                measured=f"max {megabytes:.0f} MB = {worst.rss_mib:.0f} MiB ({worst.stage}); "
                f"PSS {worst.pss_mib:.0f} MiB",
                met=megabytes <= GOALS.memory_mb,
            )
        )
    if report.burst is not None:
        fetches = report.burst.fetches
        goals.append(
            Goal(
                number=5,
                goal="200 simultaneous first requests: 1 fetch per secret",
                measured=", ".join(f"{k.rsplit('/', 1)[-1]}: {v}" for k, v in fetches.items())
                + f"; {report.burst.result.errors} errors",
                met=all(v <= GOALS.fetches_per_secret for v in fetches.values())
                and report.burst.result.errors == 0,
            )
        )
    for conn in report.connections:
        if conn.target != "function":
            continue
        limit = GOALS.connections_per_client * conn.clients
        goals.append(
            Goal(
                number=6,
                goal=f"connections for {conn.requests:,} requests at {conn.clients} clients "
                f"<= {limit:.0f}",
                measured=f"{conn.opened}",
                met=conn.opened <= limit,
            )
        )
    stream = {m.target: m for m in report.streaming}
    if "function" in stream and "direct" in stream:
        via, straight = stream["function"].result, stream["direct"].result
        goals.append(
            Goal(
                number=7,
                goal="streaming time to first event (no goal)",
                measured=f"{via.first_body_p50:.2f} ms vs {straight.first_body_p50:.2f} ms direct "
                f"(+{via.first_body_p50 - straight.first_body_p50:.2f} ms)",
                met=None,
            )
        )
    return goals


def _loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as file:
        return " ".join(file.read().split()[:3])


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _python_version(python: Path) -> str:
    try:
        done = subprocess.run(
            [str(python), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return platform.python_version()


def _git() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} + uncommitted changes" if dirty else head


def _machine(cpus: Cpus, mode: str) -> Machine:
    return Machine(
        cores=os.cpu_count() or 0,
        cpu_model=_cpu_model(),
        python=platform.python_version(),
        kernel=platform.release(),
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        git=_git(),
        pinning=cpus.describe(),
        server_venv="",
        mode=mode,
        load_before=_loadavg(),
    )


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
    parser.add_argument("--out", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args(argv)
    with _timer("bench took"):
        report = Bench(args).run()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n")
    print()
    print(render(report))
    print(f"\nwritten: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
