"""Tracing: the caller's trace context, and one span per gateway call and per attempt.

`TraceContext` reads the caller's trace headers (for log lines and for the gateway). The hooks
(`Tracer`, `CallTrace`, `AttemptTrace`) do nothing unless TRACING=otel; then `make_tracer`
loads the OpenTelemetry tracer from `_otel`, and only then: a cold start without tracing never
imports OpenTelemetry. Its names (`OtelTracer`, ...) load it on first access too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._context import (
    SPAN_FIELD,
    TRACE_FIELD,
    TRACEPARENT_ATTRIBUTES,
    TraceContext,
)
from ._hooks import (
    NO_CALL,
    AttemptTrace,
    CallTrace,
    Tracer,
    attempt,
    current,
    error_type,
    remote_parent,
)

if TYPE_CHECKING:
    from ..settings import Settings
    from ._otel import (
        CLOUD_TRACE_OTLP_ENDPOINT,
        SEMCONV_VERSION,
        OtelTracer,
        cloud_trace_session,
        span_exporter,
    )

__all__ = [
    "CLOUD_TRACE_OTLP_ENDPOINT",
    "NO_CALL",
    "SEMCONV_VERSION",
    "SPAN_FIELD",
    "TRACEPARENT_ATTRIBUTES",
    "TRACE_FIELD",
    "AttemptTrace",
    "CallTrace",
    "OtelTracer",
    "TraceContext",
    "Tracer",
    "attempt",
    "cloud_trace_session",
    "current",
    "error_type",
    "make_tracer",
    "remote_parent",
    "span_exporter",
]

# Names of the OpenTelemetry part, imported from `_otel` on first access.
_OTEL_NAMES = frozenset(
    {
        "CLOUD_TRACE_OTLP_ENDPOINT",
        "SEMCONV_VERSION",
        "OtelTracer",
        "cloud_trace_session",
        "span_exporter",
    }
)


def make_tracer(settings: Settings) -> Tracer:
    """The tracer the settings ask for: OpenTelemetry (TRACING=otel) or none."""
    if not settings.tracing:
        return Tracer()
    from ._otel import OtelTracer  # only now: OpenTelemetry is heavy to import

    return OtelTracer.from_settings(settings)


def __getattr__(name: str) -> Any:
    if name in _OTEL_NAMES:
        from . import _otel

        return getattr(_otel, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
