"""4. Memory increments: the function plain, with both result sinks, with tracing, with both.

Each variant is a fresh process (env secrets): sampled idle after one answer, then after a load
of requests at 32 clients. With sinks every request asks for delivery ("deliver": true), so the
Pub/Sub and Cloud Storage clients are loaded and used; with TRACING=otel spans go to a local
OTLP/HTTP sink. The rows land in the memory table; the increments over the plain function are
rendered below it (bench/_report.py) and summarized as a goal row without a limit.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec

from bench._loadspec import LoadSpec
from bench._procs import Server, poll_until_answers, run_load, wait_idle
from bench._suite import CREDENTIALS, PROMPT, Bench, raw_request
from emulators.google import PubSubEmulator, StorageEmulator, emulator_env

__all__ = ["PLAIN", "VARIANTS", "increments"]

PLAIN = "function"
SINKS = "function + sinks"
TRACING = "function + tracing"
BOTH = "function + sinks + tracing"
VARIANTS = (PLAIN, SINKS, TRACING, BOTH)
LOAD_CLIENTS = 32
TOPIC = "bench-results"
BUCKET = "bench-results"


def increments(bench: Bench) -> None:
    print("4. memory increments (sinks, tracing) ...", flush=True)
    requests = bench.sizes.memory_requests
    with contextlib.ExitStack() as stack:
        sinks = _sinks(bench, stack)
        otlp = stack.enter_context(_otlp_sink())
        tracing = {"TRACING": "otel", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": otlp}
        variants: dict[str, dict[str, str] | None] = {
            PLAIN: {},
            SINKS: sinks,
            TRACING: tracing,
            BOTH: None if sinks is None else sinks | tracing,
        }
        for key, extra in variants.items():
            if extra is None:
                continue
            _measure(bench, key, extra, requests)


def _measure(bench: Bench, key: str, extra: dict[str, str], requests: int) -> None:
    deliver = "RESULTS_TOPIC" in extra
    body = msgspec.json.encode({"prompt": PROMPT, "api": "chat", "deliver": deliver})
    server = bench.start_function(key.replace(" + ", "-"), secrets="env", extra=extra)
    try:
        poll_until_answers(server, body=body)
        bench.memory(key, "idle (after 1 answer, own process)", server)
        _load(bench, server, body, requests)
        bench.memory(key, f"after {requests:,} requests at {LOAD_CLIENTS} clients", server)
    finally:
        server.stop()


def _load(bench: Bench, server: Server, body: bytes, requests: int) -> None:
    spec = LoadSpec(
        port=server.port,
        request=raw_request("/", body),
        clients=LOAD_CLIENTS,
        warmup=LOAD_CLIENTS,
        requests=requests,
        timeout=30.0,
        max_seconds=300.0,
        expect=b'"ok":true',
    )
    result = run_load(spec, bench.cpus)
    if result.errors:
        bench.notes[f"memory {server.name}"] = f"{result.errors} errors {result.error_kinds}"
    wait_idle(server.pid)


def _sinks(bench: Bench, stack: contextlib.ExitStack) -> dict[str, str] | None:
    """RESULTS_TOPIC and RESULTS_BUCKET on the Pub/Sub and Storage emulators, or None (noted)."""
    try:
        pubsub = PubSubEmulator(CREDENTIALS.project, bench.logs / "memory-pubsub.log")
        stack.callback(pubsub.stop)
        pubsub.start()
        pubsub.create_topic(TOPIC)
        storage = StorageEmulator(BUCKET, bench.logs / "memory-storage.log")
        stack.callback(storage.stop)
        storage.start()
    except Exception as exc:  # no emulator here: the sink rows are skipped, with the reason
        bench.skipped["memory with sinks"] = f"{type(exc).__name__}: {exc}"[:200]
        return None
    return {"RESULTS_TOPIC": TOPIC, "RESULTS_BUCKET": BUCKET} | emulator_env(pubsub, storage)


class _Accept(BaseHTTPRequestHandler):
    """Takes any OTLP/HTTP export and answers an empty ExportTraceServiceResponse."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Accept)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    finally:
        server.shutdown()
        server.server_close()
