"""Tracing: off by default (OpenTelemetry not even imported), and when on, one GenAI span per
call with one span per attempt under it, joined to the caller's trace, its ids sent upstream.

In-process tests drive a Relay against the gateway emulator over HTTP and read spans from an
in-memory exporter (tests/process/test_tracing_export.py runs the function and counts the spans a
local OTLP/HTTP receiver gets).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from emulators.gateway import GatewayEmulator
from relay import Context, Relay, Settings, TraceContext, trace_field
from relay.tracing import OtelTracer
from tests.support.constants import PROJECT, TOKEN
from tests.support.paths import ROOT

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def settings_for(gateway: GatewayEmulator) -> Settings:
    return Settings.from_env(
        {
            "AIG_TOKEN": TOKEN,
            "AIG_BASE_URL": gateway.base_url("test-account", "test-gateway"),
            "GOOGLE_CLOUD_PROJECT": PROJECT,
            "TRACING": "otel",
        }
    )


def run(
    gateway: GatewayEmulator, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, Any], list[ReadableSpan]]:
    """Answer `body` in-process with tracing on; the answer and the spans it produced."""
    exporter = InMemorySpanExporter()
    settings = settings_for(gateway)
    tracer = OtelTracer.from_settings(settings, SimpleSpanProcessor(exporter))
    context = Context(
        log_fields=trace_field(headers or {}, PROJECT),
        trace=TraceContext.from_headers(headers or {}),
    )

    async def go() -> tuple[int, dict[str, Any]]:
        relay = Relay(settings, tracer=tracer)
        try:
            answer = await relay.answer(json.dumps(body).encode(), context)
            if answer.events is not None:  # a stream: drain it, as a caller would
                async for _ in answer.events:
                    pass
            return answer.status, answer.body
        finally:
            await relay.aclose()

    status, answer = asyncio.run(go())
    return status, answer, list(exporter.get_finished_spans())


def upstream_headers(gateway: GatewayEmulator, marker: str) -> list[dict[str, str]]:
    return [r.headers for r in gateway.requests if marker in r.headers.get("cf-aig-metadata", "")]


def split(spans: list[ReadableSpan]) -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The one call span and its attempt spans, in order."""
    calls = [s for s in spans if s.name.startswith("chat ")]
    assert len(calls) == 1, [s.name for s in spans]
    attempts = sorted((s for s in spans if s.name == "POST"), key=lambda s: s.start_time or 0)
    assert len(spans) == 1 + len(attempts), [s.name for s in spans]
    return calls[0], attempts


def hex_ids(span: ReadableSpan) -> tuple[str, str]:
    context = span.get_span_context()
    assert context is not None
    return f"{context.trace_id:032x}", f"{context.span_id:016x}"


def test_call_span_joins_the_callers_trace(gateway: GatewayEmulator) -> None:
    """traceparent in, a CLIENT span `chat {model}` under the caller's span, GenAI attributes
    from the result, one POST attempt under it, and that attempt's ids sent upstream."""
    marker = nonce()
    status, body, spans = run(
        gateway,
        {"prompt": "trace me", "api": "chat", "metadata": {"nonce": marker}},
        {"traceparent": TRACEPARENT},
    )
    assert status == 200, body
    call, attempts = split(spans)
    assert call.name == "chat gpt-4o-mini"
    assert call.kind == SpanKind.CLIENT
    assert hex_ids(call)[0] == TRACE_ID
    assert call.parent is not None and f"{call.parent.span_id:016x}" == PARENT_ID
    assert call.parent.is_remote
    usage = body["usage"]
    assert dict(call.attributes or {}) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.id": body["id"],
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": usage["input_tokens"],
        "gen_ai.usage.output_tokens": usage["output_tokens"],
        "gen_ai.usage.cache_read.input_tokens": usage["cached_input_tokens"],
        "relay.cost_usd": body["cost_usd"],
        "relay.attempts": 1,
        "relay.gateway.log_id": body["gateway"]["log_id"],
        "server.address": "127.0.0.1",
        "server.port": gateway.port,
    }
    assert call.status.status_code == StatusCode.UNSET
    (attempt,) = attempts
    assert attempt.kind == SpanKind.CLIENT
    assert attempt.parent is not None and attempt.parent.span_id == call.context.span_id
    assert str((attempt.attributes or {})["url.full"]).endswith("/openai/chat/completions")
    assert "error.type" not in (attempt.attributes or {})
    (sent,) = upstream_headers(gateway, marker)
    trace_id, attempt_id = hex_ids(attempt)
    assert (sent["cf-aig-otel-trace-id"], sent["cf-aig-otel-parent-span-id"]) == (
        TRACE_ID,
        attempt_id,
    )
    assert trace_id == TRACE_ID


def test_cloud_trace_header_is_a_parent_too(gateway: GatewayEmulator) -> None:
    """X-Cloud-Trace-Context (decimal span id) continues the trace like traceparent."""
    _, _, spans = run(
        gateway, {"prompt": "gcp"}, {"x-cloud-trace-context": f"{TRACE_ID}/123456789;o=1"}
    )
    call, _ = split(spans)
    assert hex_ids(call)[0] == TRACE_ID
    assert call.parent is not None and call.parent.span_id == 123456789


@pytest.mark.parametrize(
    "headers", [{}, {"traceparent": "00-zz-00f067aa0ba902b7-01"}, {"traceparent": "x" * 5000}]
)
def test_without_a_valid_caller_trace_a_new_one_starts(
    gateway: GatewayEmulator, headers: dict[str, str]
) -> None:
    """No (or a malformed) trace header: the call span is a root, and the upstream call still
    carries its ids so the gateway's spans join it."""
    marker = nonce()
    status, _, spans = run(gateway, {"prompt": "root", "metadata": {"nonce": marker}}, headers)
    assert status == 200
    call, (attempt,) = split(spans)
    assert call.parent is None
    assert hex_ids(call)[0] != TRACE_ID
    (sent,) = upstream_headers(gateway, marker)
    assert sent["cf-aig-otel-trace-id"] == hex_ids(call)[0]
    assert sent["cf-aig-otel-parent-span-id"] == hex_ids(attempt)[1]


def test_one_span_per_attempt_with_the_failed_ones_marked(gateway: GatewayEmulator) -> None:
    """A retried call: one span per attempt, the failed one with error.type and status code,
    each attempt's own span id sent upstream; the call span covers them all and succeeds."""
    marker = nonce()
    status, body, spans = run(
        gateway,
        {"prompt": "retry", "metadata": {"nonce": marker, "emulator_fault": "503,ok"}},
        {"traceparent": TRACEPARENT},
    )
    assert status == 200, body
    assert body["attempts"] == 2
    call, attempts = split(spans)
    assert len(attempts) == 2
    first, second = (dict(a.attributes or {}) for a in attempts)
    assert first["error.type"] == "upstream_error"
    assert first["http.response.status_code"] == 503
    assert attempts[0].status.status_code == StatusCode.ERROR
    assert "error.type" not in second and second["http.request.resend_count"] == 1
    assert all(a.parent is not None and a.parent.span_id == call.context.span_id for a in attempts)
    sent = [h["cf-aig-otel-parent-span-id"] for h in upstream_headers(gateway, marker)]
    assert sent == [hex_ids(a)[1] for a in attempts]
    assert call.status.status_code == StatusCode.UNSET
    assert (call.attributes or {})["relay.attempts"] == 2
    assert call.start_time is not None and attempts[0].start_time is not None
    assert call.start_time <= attempts[0].start_time
    assert (call.end_time or 0) >= (attempts[1].end_time or 0)


def test_a_failed_call_is_an_error_span(gateway: GatewayEmulator) -> None:
    """An upstream rejection: the call span and its attempt carry error.type and ERROR status,
    and no message text (it may quote upstream content)."""
    status, body, spans = run(gateway, {"prompt": "no", "model": "unknown-model"})
    assert status == 400 and body["error"]["type"] == "upstream_rejected"
    call, (attempt,) = split(spans)
    assert (call.attributes or {})["error.type"] == "upstream_rejected"
    assert call.status.status_code == StatusCode.ERROR
    assert call.status.description == "upstream_rejected"
    assert "gen_ai.response.model" not in (call.attributes or {})
    assert (attempt.attributes or {})["http.response.status_code"] == 400
    assert attempt.status.status_code == StatusCode.ERROR


def test_a_streamed_call_span_ends_with_the_stream(gateway: GatewayEmulator) -> None:
    """A stream's call span ends after the last event, with the usage the stream reported."""
    status, _, spans = run(gateway, {"prompt": "stream it", "stream": True, "api": "chat"})
    assert status == 200
    call, (attempt,) = split(spans)
    attributes: dict[str, Any] = dict(call.attributes or {})
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert (call.end_time or 0) >= (attempt.end_time or 0)


def test_a_batch_makes_one_call_span_per_item(gateway: GatewayEmulator) -> None:
    """Batch items run concurrently; each gets its own call span under the caller's span."""
    status, _, spans = run(
        gateway,
        {"requests": [{"prompt": "one"}, {"prompt": "two"}, {"prompt": "three"}]},
        {"traceparent": TRACEPARENT},
    )
    assert status == 200
    calls = [s for s in spans if s.name.startswith("chat ")]
    attempts = [s for s in spans if s.name == "POST"]
    assert len(calls) == len(attempts) == 3
    call_ids = {c.context.span_id for c in calls}
    assert {a.parent.span_id for a in attempts if a.parent} == call_ids
    assert all(c.parent is not None and f"{c.parent.span_id:016x}" == PARENT_ID for c in calls)


# --- off by default ---------------------------------------------------------------------------

_PROBE = """
import asyncio, sys
import main
from handlers import get_relay
relay = get_relay()
print(type(relay.tracer).__name__, any(m.split(".")[0] == "opentelemetry" for m in sys.modules))
"""


@pytest.mark.parametrize(
    ("tracing", "expected"), [(None, "Tracer False"), ("otel", "OtelTracer True")]
)
def test_opentelemetry_is_imported_only_when_tracing_is_on(
    tracing: str | None, expected: str
) -> None:
    """A plain process (main imported, its Relay built) has no opentelemetry module loaded."""
    env = {
        "AIG_TOKEN": TOKEN,
        "AIG_BASE_URL": "http://127.0.0.1:9/openai",
        "PATH": "/usr/bin:/bin",
        # Keep a local endpoint: building the exporter must not look for Google credentials.
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/v1/traces",
    }
    if tracing:
        env["TRACING"] = tracing
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip().splitlines()[-1] == expected


def test_bad_tracing_setting_is_named() -> None:
    """TRACING takes off or otel; anything else is a ConfigError naming it."""
    from relay import ConfigError

    with pytest.raises(ConfigError, match="TRACING must be 'off' or 'otel'"):
        Settings.from_env({"AIG_TOKEN": TOKEN, "AIG_BASE_URL": "http://x/openai", "TRACING": "on"})
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be"):
        Settings.from_env(
            {
                "AIG_TOKEN": TOKEN,
                "AIG_BASE_URL": "http://x/openai",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "collector:4318",
            }
        )


def test_cloud_trace_is_the_default_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an endpoint, spans go to Cloud Trace's OTLP endpoint, signed with the
    function's credentials (fetched lazily: nothing is sent here)."""
    from google.auth.transport.requests import AuthorizedSession

    from relay.tracing import CLOUD_TRACE_OTLP_ENDPOINT
    from relay.tracing import cloud_trace_session as _google_session
    from relay.tracing import span_exporter as _exporter

    key = tmp_path / "adc.json"
    key.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "c",
                "client_secret": "s",
                "refresh_token": "r",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    settings = Settings.from_env({"AIG_TOKEN": TOKEN, "AIG_BASE_URL": "http://x/openai"})
    exporter = _exporter(settings)
    assert exporter._endpoint == CLOUD_TRACE_OTLP_ENDPOINT
    assert isinstance(_google_session(), AuthorizedSession)


def test_cloud_trace_without_credentials_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No credentials for Cloud Trace: a ConfigError that says what to set, not a traceback."""
    from relay import ConfigError
    from relay.tracing import make_tracer

    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    settings = Settings.from_env(
        {"AIG_TOKEN": TOKEN, "AIG_BASE_URL": "http://x/openai", "TRACING": "otel"}
    )
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        make_tracer(settings)
