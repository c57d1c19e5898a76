"""What cost_usd and TRACING=otel add, measured (figures in docs/cost-and-tracing.md).

    .venv/bin/python -m tools.tracing_overhead

1. import: wall time of `import main` in a fresh interpreter, without and with the tracing
   modules (OpenTelemetry SDK + OTLP/HTTP exporter) imported too; median of several runs;
2. hooks: one call's span work (a call span, one attempt span, result attributes, ids for the
   upstream headers) per call, with spans handed to a BatchSpanProcessor whose exporter drops
   them, against the no-op default; and `call_cost` per call, plus the table's first load;
3. end to end: sequential prompts through an in-process Relay to the gateway emulator on
   127.0.0.1, tracing off and on, median per call.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from emulators.gateway import GatewayEmulator
from relay import Relay, Settings
from relay import cost as _cost
from relay.logs import set_stream
from relay.tracing import OtelTracer, Tracer

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token-0123456789"  # noqa: S105 - the emulator's made-up token
RESULT = {
    "model": "gpt-4o-mini-2024-07-18",
    "id": "resp_1",
    "finish_reason": "stop",
    "usage": {"input_tokens": 20, "output_tokens": 5, "cached_input_tokens": 0},
    "cost_usd": 0.000006,
    "attempts": 1,
    "gateway": {"log_id": "01"},
}
USAGE = {"input_tokens": 1000, "output_tokens": 500, "cached_input_tokens": 200}


class _Drop(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _import_ms(runs: int = 7) -> float:
    """Median time to import the tracing modules in a process that has imported main."""
    code = (
        "import time, main; t = time.perf_counter(); from relay.tracing import OtelTracer; import "
        "opentelemetry.exporter.otlp.proto.http.trace_exporter; "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {**os.environ, "AIG_TOKEN": TOKEN, "AIG_BASE_URL": "http://127.0.0.1:9/openai"}
    times = []
    for _ in range(runs):
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, env=env
        )
        times.append(float(done.stdout.decode().split()[-1]))
    return statistics.median(times)


def _settings(base_url: str, tracing: bool) -> Settings:
    env = {"AIG_TOKEN": TOKEN, "AIG_BASE_URL": base_url}
    if tracing:
        env |= {"TRACING": "otel", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/"}
    return Settings.from_env(env)


def _hook_us(tracer: Tracer, n: int = 20_000) -> float:
    def one() -> None:
        call = tracer.call("chat", "gpt-4o-mini", {})
        attempt = call.attempt()
        dict(attempt.headers)
        attempt.end()
        call.end(RESULT)

    return timeit.timeit(one, number=n) / n * 1e6


async def _end_to_end_ms(relay: Relay, n: int) -> float:
    body = json.dumps({"prompt": "hello", "api": "chat"}).encode()
    times = []
    for _ in range(n):
        started = time.perf_counter()
        answer = await relay.answer(body)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status == 200, answer.body
    return statistics.median(times[n // 10 :])  # the first tenth warms pools and caches


def main() -> int:
    print(f"importing the tracing modules after main: {_import_ms():.0f} ms (median of 7)")

    started = time.perf_counter()
    _cost.table_price("gpt-4o-mini")
    print(f"price table first load: {(time.perf_counter() - started) * 1000:.2f} ms")
    n = 50_000
    per_cost = timeit.timeit(lambda: _cost.call_cost(USAGE, "gpt-4o-mini-2024-07-18"), number=n)
    print(f"call_cost: {per_cost / n * 1e6:.1f} us per call")

    settings = _settings("http://127.0.0.1:9/openai", tracing=True)
    otel = OtelTracer.from_settings(settings, BatchSpanProcessor(_Drop()))
    print(f"span hooks per call: off {_hook_us(Tracer()):.2f} us, otel {_hook_us(otel):.1f} us")
    otel.shutdown()

    log = open(os.devnull, "w")  # noqa: SIM115 - the relay's log lines are not the point here
    set_stream(log)
    with GatewayEmulator(token=TOKEN) as gateway:
        url = gateway.base_url()
        # Alternating rounds; the best round of each mode, as the machine is shared and noisy.
        best: dict[bool, float] = {}
        for tracing in (False, True) * 5:
            settings = _settings(url, tracing)
            tracer = None
            if tracing:
                tracer = OtelTracer.from_settings(settings, BatchSpanProcessor(_Drop()))

            async def run(s: Settings = settings, t: Tracer | None = tracer) -> float:
                relay = Relay(s, tracer=t)
                try:
                    return await _end_to_end_ms(relay, 300)
                finally:
                    await relay.aclose()

            median = asyncio.run(run())
            best[tracing] = min(best.get(tracing, median), median)
        print(f"end to end, median per call: off {best[False]:.3f} ms, on {best[True]:.3f} ms")
    set_stream(None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
