"""Tracing hooks: one span per gateway call, one per attempt; no-ops unless TRACING=otel.

The service opens a `CallTrace` around each call and makes it current; the gateway client asks
`attempt()` for the current call's next attempt, whose `span_ids` go upstream (so the gateway's
own spans join the trace under that attempt). The default tracer does nothing and imports
nothing: OpenTelemetry is loaded (from `_otel`) only when the setting asks for it, so a
cold start without tracing pays nothing for it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from ._context import TraceContext

__all__ = [
    "NO_CALL",
    "AttemptTrace",
    "CallTrace",
    "Tracer",
    "attempt",
    "current",
    "error_type",
    "remote_parent",
]


class AttemptTrace:
    """One upstream attempt. This base class records nothing."""

    # (trace id, span id) of this attempt's span, for the gateway's spans to join; None when
    # nothing is recorded.
    span_ids: tuple[str, str] | None = None

    def end(self, error: BaseException | None = None) -> None:
        """The attempt is over: answered (`error` None) or failed."""


class CallTrace:
    """One gateway call, retries included. This base class records nothing."""

    def attempt(self) -> AttemptTrace:
        """Start the call's next attempt."""
        return _NO_ATTEMPT

    def end(
        self, result: Mapping[str, Any] | None = None, error: BaseException | str | None = None
    ) -> None:
        """The call is over: `result` is the contract result, `error` what ended it instead.

        Ending twice is harmless; the first end counts.
        """


class Tracer:
    """Makes a CallTrace per call. This base class is the default: tracing off."""

    def call(self, api: str, model: str, caller: TraceContext | None) -> CallTrace:
        """A trace for one call, under the caller's trace when it sent one."""
        return NO_CALL

    def shutdown(self) -> None:
        """Flush and stop exporting."""


NO_CALL = CallTrace()
_NO_ATTEMPT = AttemptTrace()
_current: ContextVar[CallTrace] = ContextVar("relay_call_trace", default=NO_CALL)


@contextlib.contextmanager
def current(trace: CallTrace) -> Iterator[None]:
    """Make `trace` the call that `attempt()` belongs to, for the code inside."""
    token = _current.set(trace)
    try:
        yield
    finally:
        _current.reset(token)


def attempt() -> AttemptTrace:
    """The next attempt of the current call (a no-op outside one)."""
    return _current.get().attempt()


def error_type(error: BaseException | str) -> str:
    """`error.type` for a span: the contract's error type, else the exception's class name."""
    if isinstance(error, str):
        return error
    kind = getattr(error, "type", None)
    return kind if isinstance(kind, str) else type(error).__qualname__


def remote_parent(caller: TraceContext | None) -> tuple[str, str] | None:
    """The caller's (trace id, span id), 32 and 16 hex, when both are known and valid."""
    if caller is None or caller.span_id is None:
        return None
    if int(caller.trace_id, 16) == 0 or int(caller.span_id, 16) == 0:
        return None  # all-zero ids are invalid in W3C trace context
    return caller.trace_id, caller.span_id
