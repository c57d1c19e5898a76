"""How a request is carried and how it ends: `Context` in, `Answer` out, the `Run` between.

`Context` is what a handler knows about a request beyond its body, and `Answer` what the core
answers: the two types every entry point, the core and the tests share. `Outcomes` is the one
place a request's log line and its error answer are built: every request ends in exactly one of
`success`, `failure` or `disconnect` (one JSON log line each); `internal` logs an unexpected
exception once, with its traceback, and gives the caller a pointer.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from .errors import ConfigError, InternalError, RelayError
from .identity import Identity
from .logs import log, redact
from .request import PromptRequest
from .tracing import NO_CALL, CallTrace, TraceContext
from .translate import UpstreamCall

__all__ = [
    "Answer",
    "Context",
    "Outcomes",
    "Run",
    "Tally",
    "config_error_answer",
    "new_request_id",
]


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler knows about a request beyond its body."""

    # Extra fields for the request's log line (trace, scheduler job, Pub/Sub message id).
    log_fields: Mapping[str, Any] = field(default_factory=dict)
    # Used when the body carries no request_id (a Pub/Sub attribute or message id).
    request_id: str | None = None
    # cf-aig-metadata when the body sets none (a scheduler job's name).
    default_metadata: Mapping[str, str] | None = None
    # Whether `stream: true` is honoured (HTTP); elsewhere the prompt runs without streaming.
    allow_stream: bool = True
    # The caller's trace (traceparent / X-Cloud-Trace-Context), passed on to the gateway.
    trace: TraceContext | None = None
    # Who the call is for (caller, source, job, bulk run): cf-aig-metadata per IDENTITY_METADATA.
    identity: Identity = field(default_factory=Identity)
    # service_tier when the body sets none (a bulk run's tier for all its lines).
    default_service_tier: str | None = None
    # cf-aig-cache-key when the body sets none and does not skip the cache (a Pub/Sub message's,
    # so a redelivery that runs again is answered from the gateway's cache); batch items get
    # it with `:{index}` added.
    default_cache_key: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP-shaped outcome: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    error: RelayError | None = None
    # For a streaming answer: the server-sent events to send (body is then empty), and the
    # `time.monotonic()` by which the caller must have taken them.
    events: AsyncGenerator[bytes, None] | None = None
    events_deadline: float | None = None
    # The body's own `deliver` flag (a prompt's or a batch's), for the handler that delivers.
    deliver: bool | None = None


def new_request_id() -> str:
    return uuid.uuid4().hex


@dataclass(slots=True)
class Tally:
    """The upstream calls a request made, as the gateway client counts them while it works."""

    attempts: int = 0
    # The gateway's log id for the answer that decided the call (an error it answered, or the
    # stream being relayed); None when the gateway gave none.
    gateway_log_id: str | None = None


@dataclass(slots=True)
class Run:
    """A request from the moment it arrived: who asked, for what, by when, and how it went.

    `call` and `trace` are filled in once the upstream call is built; a request refused before
    that (a bad body, a batch limit) is a Run with neither.
    """

    request_id: str
    started: float
    # The clock() value by which everything, every retry and every streamed byte, is done.
    deadline: float
    context: Context
    request: PromptRequest | None = None
    call: UpstreamCall | None = None
    trace: CallTrace = NO_CALL
    tally: Tally = field(default_factory=Tally)
    # The models asked for so far, in order, and why each one before the last was given up.
    models_tried: list[str] = field(default_factory=list)
    fallbacks: list[dict[str, Any]] = field(default_factory=list)

    def fell_back(self, call: UpstreamCall, error: RelayError) -> None:
        """`call`'s model was given up for the next one after `error`."""
        self.fallbacks.append(
            {
                "model": call.model,
                "error_type": error.type,
                "upstream_status": error.upstream_status,
            }
        )


class Outcomes:
    """Writes the request log lines; `log_prompts` adds prompt and answer text to them."""

    def __init__(self, log_prompts: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self._log_prompts = log_prompts
        self._clock = clock

    def disconnect(self, run: Run) -> None:
        """The line of a request whose caller hung up (or stopped reading) before the end."""
        call = run.call
        log(
            "WARNING",
            "request ended by the caller",
            request_id=run.request_id,
            api=call.api if call else None,
            model=call.model if call else None,
            outcome="client_disconnected",
            latency_ms=self.elapsed_ms(run.started),
            attempts=run.tally.attempts or None,
            gateway_log_id=run.tally.gateway_log_id,
            **run.context.log_fields,
        )

    def internal(self, exc: BaseException, run: Run) -> InternalError:
        """Log an unexpected failure once, in full; the caller gets only a pointer to the log."""
        log(
            "ERROR",
            "unexpected failure",
            event="internal_error",
            request_id=run.request_id,
            error=redact(f"{type(exc).__name__}: {exc}"),
            exc=exc,  # its traceback, causes included, becomes the line's `stack_trace`
        )
        error = InternalError(f"internal error; the logs hold details under {run.request_id}")
        error.__cause__ = exc
        return error

    def failure(self, error: RelayError, run: Run) -> Answer:
        """The error answer, and the request's line saying why it failed."""
        error.message = redact(error.message)
        headers: dict[str, str] = {}
        if error.retry_after is not None:
            headers["retry-after"] = str(max(1, int(-(-error.retry_after // 1))))
        if error.status == 405:
            headers["allow"] = "POST"
        call = run.call
        severity = "ERROR" if error.status >= 500 else "WARNING"
        log(
            severity,
            f"prompt failed: {error.type}",
            request_id=run.request_id,
            api=call.api if call else None,
            model=call.model if call else None,
            outcome=error.type,
            http_status=error.status,
            latency_ms=self.elapsed_ms(run.started),
            attempts=run.tally.attempts,
            error=error.message,
            upstream_status=error.upstream_status,
            upstream_code=error.upstream_code,
            gateway_log_id=run.tally.gateway_log_id,
            **_fallback_fields(run),
            **self._prompt_fields(run.request),
            **run.context.log_fields,
        )
        body = {"ok": False, "request_id": run.request_id, "error": error.to_dict()}
        return Answer(error.status, body, headers, error)

    def success(self, result: dict[str, Any], run: Run) -> None:
        """The line of a request answered in full (`result` is the answer's body)."""
        gateway = result["gateway"]
        log(
            "INFO",
            "prompt completed",
            request_id=result["request_id"],
            api=result["api"],
            model=result["model"],
            outcome="ok",
            http_status=200,
            status=result["status"],
            finish_reason=result["finish_reason"],
            latency_ms=result["latency_ms"],
            attempts=result["attempts"],
            usage=result["usage"],
            cost_usd=result["cost_usd"],
            service_tier=result.get("service_tier"),
            **_fallback_fields(run),
            gateway_log_id=gateway["log_id"],
            cache_status=gateway["cache_status"],
            **self._prompt_fields(run.request, result),
            **run.context.log_fields,
        )

    def _prompt_fields(
        self, request: PromptRequest | None, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Prompt and answer text, only when LOG_PROMPTS asks for them."""
        if not self._log_prompts or request is None:
            return {}
        fields: dict[str, Any] = {
            "prompt": request.prompt,
            "messages": msgspec.to_builtins(request.messages) if request.messages else None,
            "input": request.input,
            "instructions": request.instructions,
        }
        if result is not None:
            fields["output_text"] = result["output_text"]
        return fields

    def elapsed_ms(self, started: float) -> int:
        return round((self._clock() - started) * 1000)


def _fallback_fields(run: Run) -> dict[str, Any]:
    """The models a request tried and the fallbacks it took, on its one log line."""
    if not run.models_tried:
        return {}
    fields: dict[str, Any] = {"models_tried": list(run.models_tried)}
    if run.fallbacks:
        fields["fallbacks"] = list(run.fallbacks)
    return fields


def config_error_answer(error: ConfigError, context: Context | None = None) -> Answer:
    """The answer for every request while the settings themselves are wrong."""
    request_id = (context.request_id if context else None) or new_request_id()
    log(
        "ERROR",
        "prompt failed: config_error",
        request_id=request_id,
        outcome=error.type,
        http_status=error.status,
        error=error.message,
        **(context.log_fields if context else {}),
    )
    body = {"ok": False, "request_id": request_id, "error": error.to_dict()}
    return Answer(error.status, body, {}, error)
