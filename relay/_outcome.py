"""Outcomes: the one place a request's log line and its error answer are built.

Every request ends in exactly one of `success`, `failure` or `disconnect` (one JSON log line each);
`internal` logs an unexpected exception once, with its traceback, and gives the caller a pointer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from ._answer import Answer, Context, new_request_id
from ._errors import ConfigError, InternalError, RelayError
from ._logging import log, redact
from ._request import PromptRequest
from ._run import Run

__all__ = ["Outcomes", "config_error_answer"]


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
