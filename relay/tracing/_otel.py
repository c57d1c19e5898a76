"""OpenTelemetry spans for gateway calls (TRACING=otel); imported only when tracing is on.

Names and attributes follow the OpenTelemetry GenAI semantic conventions as of semantic
conventions v1.41.0 (gen-ai, status Development; unchanged in semantic-conventions-genai
v0.1.0 for the attributes used here): a CLIENT span `chat {gen_ai.request.model}` per call,
covering every retry, and under it one CLIENT span per HTTP attempt (HTTP conventions). The
strings are spelled out rather than imported from `opentelemetry.semconv._incubating`, a private
module that moves.

Spans leave over OTLP/HTTP (protobuf): to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT when set (a
collector, or a local receiver in tests), else to Cloud Trace's OTLP endpoint with the function's
own credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, SpanKind, TraceFlags
from opentelemetry.trace.status import Status, StatusCode

from ..errors import ConfigError
from ..settings import Settings
from ._context import TraceContext
from ._hooks import AttemptTrace, CallTrace, Tracer, error_type, remote_parent

__all__ = [
    "CLOUD_TRACE_OTLP_ENDPOINT",
    "SEMCONV_VERSION",
    "OtelTracer",
    "cloud_trace_session",
    "span_exporter",
]

SEMCONV_VERSION = "1.41.0"
CLOUD_TRACE_OTLP_ENDPOINT = "https://telemetry.googleapis.com/v1/traces"
_TRACE_APPEND_SCOPE = "https://www.googleapis.com/auth/trace.append"
# Cloud Run / Cloud Functions name the service in K_SERVICE.
_DEFAULT_SERVICE = "aig-prompt-function"
_PROVIDER = "openai"  # the gateway route this function calls: {base}/openai
_PATHS = {"responses": "/responses", "chat": "/chat/completions"}


class OtelTracer(Tracer):
    """Makes OpenTelemetry spans with its own TracerProvider (the global one is left alone)."""

    def __init__(self, provider: TracerProvider, base_url: str) -> None:
        self._provider = provider
        self._tracer = provider.get_tracer(
            "relay", schema_url=f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
        )
        self._base_url = base_url
        parts = urlsplit(base_url)
        self._server: dict[str, Any] = {"server.address": parts.hostname or ""}
        if parts.port is not None:
            self._server["server.port"] = parts.port

    @classmethod
    def from_settings(
        cls, settings: Settings, processor: SpanProcessor | None = None
    ) -> OtelTracer:
        """A tracer exporting per the settings, or to `processor` (tests)."""
        attributes: dict[str, Any] = {}
        if not os.environ.get("OTEL_SERVICE_NAME"):
            attributes["service.name"] = os.environ.get("K_SERVICE", _DEFAULT_SERVICE)
        if settings.project:
            attributes["gcp.project_id"] = settings.project  # Cloud Trace files spans by it
        provider = TracerProvider(resource=Resource.create(attributes))
        provider.add_span_processor(processor or BatchSpanProcessor(span_exporter(settings)))
        return cls(provider, settings.base_url)

    def call(self, api: str, model: str, caller: TraceContext | None) -> CallTrace:
        parent = remote_parent(caller)
        context = None
        if parent is not None:
            remote = SpanContext(
                trace_id=int(parent[0], 16),
                span_id=int(parent[1], 16),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
            context = trace.set_span_in_context(NonRecordingSpan(remote))
        span = self._tracer.start_span(
            f"chat {model}",
            context=context,
            kind=SpanKind.CLIENT,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": _PROVIDER,
                "gen_ai.request.model": model,
                **self._server,
            },
        )
        return _OtelCall(self, span, self._base_url + _PATHS.get(api, ""))

    def shutdown(self) -> None:
        self._provider.shutdown()

    def _attempt_span(self, parent: Span, url: str, resend: int) -> Span:
        attributes: dict[str, Any] = {"http.request.method": "POST", "url.full": url}
        attributes.update(self._server)
        if resend:
            attributes["http.request.resend_count"] = resend
        return self._tracer.start_span(
            "POST",
            context=trace.set_span_in_context(parent),
            kind=SpanKind.CLIENT,
            attributes=attributes,
        )


class _OtelCall(CallTrace):
    def __init__(self, tracer: OtelTracer, span: Span, url: str) -> None:
        self._tracer = tracer
        self._span = span
        self._url = url
        self._attempts = 0
        self._lock = threading.Lock()
        self._ended = False

    def attempt(self) -> AttemptTrace:
        self._attempts += 1
        return _OtelAttempt(self._tracer._attempt_span(self._span, self._url, self._attempts - 1))

    def end(
        self, result: Mapping[str, Any] | None = None, error: BaseException | str | None = None
    ) -> None:
        with self._lock:
            if self._ended:
                return
            self._ended = True
        span = self._span
        if result is not None:
            span.set_attributes(_result_attributes(result))
        if error is not None:
            # The type only: a message may quote upstream text, and spans leave this process.
            kind = error_type(error)
            span.set_attribute("error.type", kind)
            span.set_status(Status(StatusCode.ERROR, kind))
        span.end()


class _OtelAttempt(AttemptTrace):
    def __init__(self, span: Span) -> None:
        self._span = span
        context = span.get_span_context()
        # The gateway's spans become children of this attempt: these ids replace the caller's
        # in the attempt's headers.
        self.span_ids = (f"{context.trace_id:032x}", f"{context.span_id:016x}")

    def end(self, error: BaseException | None = None) -> None:
        span = self._span
        if error is not None:
            kind = error_type(error)
            status = getattr(error, "upstream_status", None)
            if isinstance(status, int):
                span.set_attribute("http.response.status_code", status)
            span.set_attribute("error.type", kind)
            span.set_status(Status(StatusCode.ERROR, kind))
        span.end()


def _result_attributes(result: Mapping[str, Any]) -> dict[str, Any]:
    usage = result.get("usage") or {}
    attributes: dict[str, Any] = {
        "gen_ai.response.model": result.get("model"),
        "gen_ai.response.id": result.get("id"),
        "gen_ai.response.finish_reasons": [result["finish_reason"]]
        if result.get("finish_reason")
        else None,
        "gen_ai.usage.input_tokens": usage.get("input_tokens"),
        "gen_ai.usage.output_tokens": usage.get("output_tokens"),
        "gen_ai.usage.cache_read.input_tokens": usage.get("cached_input_tokens"),
        # Not (yet) a convention: what the call cost, as in the result.
        "relay.cost_usd": result.get("cost_usd"),
        "relay.attempts": result.get("attempts"),
    }
    gateway = result.get("gateway") or {}
    if gateway.get("log_id"):
        attributes["relay.gateway.log_id"] = gateway["log_id"]
    return {k: v for k, v in attributes.items() if v is not None}


def span_exporter(settings: Settings) -> Any:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.tracing_endpoint or CLOUD_TRACE_OTLP_ENDPOINT
    session = None
    if urlsplit(endpoint).hostname == urlsplit(CLOUD_TRACE_OTLP_ENDPOINT).hostname:
        session = cloud_trace_session()
    return OTLPSpanExporter(endpoint=endpoint, session=session)


def cloud_trace_session() -> Any:
    """Requests signed as the function itself (Application Default Credentials), for Cloud Trace."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=[_TRACE_APPEND_SCOPE])
    except DefaultCredentialsError:
        raise ConfigError(
            "TRACING=otel exports to Cloud Trace, which needs Application Default "
            "Credentials; none were found (set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to send "
            "spans elsewhere)"
        ) from None
    return AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
