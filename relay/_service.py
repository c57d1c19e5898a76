"""The relay: a request body in, one contract answer out, with one log line per request.

Free of any web framework, so the HTTP handler, the CloudEvent handler, tests and benchmarks all
drive this same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import msgspec

from . import _tracing
from ._cost import call_cost, custom_cost_header
from ._errors import (
    ConfigError,
    InternalError,
    InvalidRequest,
    RelayError,
    UpstreamError,
    UpstreamTimeout,
)
from ._gateway import GatewayClient
from ._gateway_info import gateway_info, header_value
from ._logging import log, redact
from ._normalize import normalize, parse_output_json
from ._request import (
    REQUEST_ID,
    BatchRequest,
    PromptRequest,
    decode_prompt,
    decode_request,
)
from ._scrub import StreamScrubber, scrub_tree
from ._secrets import Secrets, SecretStore
from ._settings import Settings
from ._streaming import UpstreamStream, sse
from ._trace_context import TraceContext
from ._translate import UpstreamCall, build_call

__all__ = ["STREAM_READER_GRACE_SECONDS", "Answer", "Context", "Relay"]

# A streaming caller gets this long past the request's deadline to take the last events; a
# reader that stops reading cannot hold the request (and its upstream connection) longer.
STREAM_READER_GRACE_SECONDS = 5.0


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


class Relay:
    """Runs prompts through the gateway. One instance per process; safe to share across tasks."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        secret_store: Callable[[], SecretStore] | None = None,
        clock: Callable[[], float] = time.monotonic,
        tracer: _tracing.Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = Secrets(settings, secret_store, clock=clock)
        self.gateway = GatewayClient(settings, self.secrets, transport=transport, clock=clock)
        self._clock = clock
        self.tracer = tracer or _tracing.make_tracer(settings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Relay:
        """A Relay configured from the environment; raises ConfigError naming a bad setting."""
        return cls(Settings.from_env(os.environ if env is None else env))

    async def aclose(self) -> None:
        """Release pooled connections (and flush spans)."""
        await self.gateway.aclose()
        self.tracer.shutdown()

    async def answer(self, body: bytes, context: Context | None = None) -> Answer:
        """Answer a raw request body: one prompt or a batch."""
        context = context or Context()
        started = self._clock()
        try:
            request = decode_request(body)
        except InvalidRequest as exc:
            request_id = _request_id_from_raw(body) or context.request_id or _new_request_id()
            return self._failure(exc, request_id, None, started, context)
        if isinstance(request, BatchRequest):
            return await self.answer_batch(request, context)
        return await self.answer_request(request, context, started=started)

    def reject(self, error: RelayError, context: Context | None = None) -> Answer:
        """Answer a request refused before its body was read (method, media type, size)."""
        context = context or Context()
        request_id = context.request_id or _new_request_id()
        return self._failure(error, request_id, None, self._clock(), context)

    async def answer_request(
        self,
        request: PromptRequest,
        context: Context | None = None,
        *,
        started: float | None = None,
    ) -> Answer:
        """Answer one validated prompt."""
        context = context or Context()
        started = self._clock() if started is None else started
        request_id = request.request_id or context.request_id or _new_request_id()
        call: UpstreamCall | None = None
        trace = _tracing.NO_CALL
        try:
            call = self._priced(
                build_call(
                    request,
                    self.settings,
                    default_metadata=context.default_metadata,
                    trace=context.trace,
                )
            )
            trace = self.tracer.call(call.api, call.model, context.trace)
            if call.stream and context.allow_stream:
                with _tracing.current(trace):
                    return await self._open_stream(
                        call, request, request_id, started, context, trace
                    )
            if call.stream:
                call = replace(
                    call,
                    stream=False,
                    body={
                        k: v for k, v in call.body.items() if k not in ("stream", "stream_options")
                    },
                )
            with _tracing.current(trace):
                result = await self._run(call, request, request_id, started)
        except asyncio.CancelledError as exc:
            # The caller hung up (the handler cancels us): the upstream call is cancelled with
            # this task and nothing is retried for it.
            trace.end(error=exc)
            self._log_disconnect(request_id, call, started, context)
            raise
        except InternalError as exc:
            # A bug met on the way (a request HTTP refuses, say): its cause is logged in full.
            trace.end(error=exc)
            error = self._internal(exc.__cause__ or exc, request_id)
            return self._failure(error, request_id, call, started, context, request)
        except RelayError as exc:
            trace.end(error=exc)
            return self._failure(exc, request_id, call, started, context, request)
        except Exception as exc:
            trace.end(error=exc)
            error = self._internal(exc, request_id)
            return self._failure(error, request_id, call, started, context, request)
        except BaseException as exc:  # shutting down: the span still ends
            trace.end(error=exc)
            raise
        trace.end(result)
        self._log_success(result, request, context)
        return Answer(200, result)

    async def answer_batch(self, batch: BatchRequest, context: Context | None = None) -> Answer:
        """Answer `{"requests": [...]}`: items run concurrently, answered in order."""
        context = context or Context()
        limit = self.settings.batch_max_items
        if len(batch.requests) > limit:
            error = InvalidRequest(f"requests: at most {limit} items (BATCH_MAX_ITEMS)")
            return self._failure(error, _new_request_id(), None, self._clock(), context)
        gate = asyncio.Semaphore(self.settings.batch_concurrency)
        # One deadline for the whole batch: items waiting for a slot spend the same budget, so a
        # batch never outlives UPSTREAM_TIMEOUT_SECONDS (and the platform's timeout behind it).
        started = self._clock()

        async def one(index: int, raw: msgspec.Raw) -> dict[str, Any]:
            async with gate:
                item_context = Context(
                    log_fields={**context.log_fields, "batch_index": index},
                    default_metadata=context.default_metadata,
                    allow_stream=False,
                    trace=context.trace,
                )
                try:
                    request = decode_prompt(bytes(raw))
                except InvalidRequest as exc:
                    exc.message = f"requests[{index}]: {exc.message}"
                    rid = _request_id_from_raw(bytes(raw)) or _new_request_id()
                    return self._failure(exc, rid, None, started, item_context).body
                if request.stream:
                    error = InvalidRequest(f"requests[{index}].stream: batch items cannot stream")
                    rid = request.request_id or _new_request_id()
                    return self._failure(error, rid, None, started, item_context).body
                answer = await self.answer_request(request, item_context, started=started)
                if answer.error is not None:
                    answer.body["error"]["message"] = f"requests[{index}]: {answer.error.message}"
                return answer.body

        results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(batch.requests)))
        return Answer(200, {"ok": all(r["ok"] for r in results), "results": list(results)})

    def _priced(self, call: UpstreamCall) -> UpstreamCall:
        """With a negotiated price for the model, tell the gateway, so its analytics agree."""
        price = self.settings.custom_prices.get(call.model.lower())
        if price is None:
            return call
        return replace(
            call, headers={**call.headers, "cf-aig-custom-cost": custom_cost_header(price)}
        )

    async def _run(
        self, call: UpstreamCall, request: PromptRequest, request_id: str, started: float
    ) -> dict[str, Any]:
        deadline = started + self.settings.upstream_timeout
        raw: list[Any] = []

        def parse(data: Any) -> dict[str, Any]:
            raw.append(data)
            return normalize(call.api, data)

        reply = await self.gateway.send(call, parse, deadline=deadline)
        result = self._result(
            call, request, request_id, started, reply.value, reply.headers, reply.attempts
        )
        if request.include_raw:
            # Scrubbed like every other string from upstream: an upstream may echo a credential.
            result["raw"] = scrub_tree(raw[-1])
        return result

    def _result(
        self,
        call: UpstreamCall,
        request: PromptRequest,
        request_id: str,
        started: float,
        fields: dict[str, Any],
        headers: Mapping[str, str],
        attempts: int,
    ) -> dict[str, Any]:
        # Every string from upstream is scrubbed before it is used (output_json parses the
        # scrubbed text).
        fields = scrub_tree(fields)
        if request.json_schema is not None:
            parse_output_json(fields)
        model = fields["model"] or call.model
        gateway = gateway_info(headers)
        cost: float | None = 0.0  # a gateway cache hit reached no provider: it cost nothing
        if gateway["cache_status"] != "HIT":
            custom = self.settings.custom_prices
            cost = call_cost(fields.get("usage"), model, requested=call.model, custom=custom)
        return {
            "ok": True,
            "request_id": request_id,
            "api": call.api,
            **fields,
            "model": model,
            "gateway": gateway,
            "cost_usd": cost,
            "latency_ms": self._elapsed_ms(started),
            "attempts": attempts,
        }

    async def _open_stream(
        self,
        call: UpstreamCall,
        request: PromptRequest,
        request_id: str,
        started: float,
        context: Context,
        trace: _tracing.CallTrace = _tracing.NO_CALL,
    ) -> Answer:
        """Open the upstream stream; failures up to its first byte are ordinary error answers."""
        deadline = started + self.settings.upstream_timeout
        reply = await self.gateway.open_stream(call, deadline=deadline)
        events = self._relay_stream(
            reply.value,
            call,
            request,
            request_id,
            started,
            reply.attempts,
            deadline,
            context,
            trace,
        )
        return Answer(
            200,
            {},
            {"cache-control": "no-cache", "x-accel-buffering": "no"},
            events=events,
            events_deadline=deadline + STREAM_READER_GRACE_SECONDS,
        )

    async def _relay_stream(
        self,
        response: httpx.Response,
        call: UpstreamCall,
        request: PromptRequest,
        request_id: str,
        started: float,
        attempts: int,
        deadline: float,
        context: Context,
        trace: _tracing.CallTrace = _tracing.NO_CALL,
    ) -> AsyncGenerator[bytes, None]:
        """Pass text on as `delta` events, then one `result` (or `error`) event."""
        upstream = UpstreamStream(response, call.api)
        # A credential split across deltas is caught whole (see StreamScrubber).
        scrubber = StreamScrubber()
        ended = False
        try:
            async for text in upstream.texts(deadline, self._clock):
                if clean := scrubber.feed(text):
                    yield sse("delta", {"text": clean})
            if rest := scrubber.flush():
                yield sse("delta", {"text": rest})
            assert upstream.fields is not None
            result = self._result(
                call, request, request_id, started, upstream.fields, response.headers, attempts
            )
            trace.end(result)
            self._log_success(result, request, context)
            ended = True
            yield sse("result", result)
        except Exception as exc:
            error = self._stream_error(exc, request_id)
            error.attempts = attempts
            error.gateway_log_id = header_value(response.headers, "cf-aig-log-id")
            trace.end(error=error)
            failure = self._failure(error, request_id, call, started, context, request)
            ended = True
            yield sse("error", failure.body)
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
            if not ended:
                trace.end(error="client_disconnected")
                # The caller went away (or stopped reading) mid-stream: nothing was answered,
                # but the call is logged.
                self._log_disconnect(
                    request_id,
                    call,
                    started,
                    context,
                    attempts=attempts,
                    gateway_log_id=header_value(response.headers, "cf-aig-log-id"),
                )

    def _log_disconnect(
        self,
        request_id: str,
        call: UpstreamCall | None,
        started: float,
        context: Context,
        **fields: Any,
    ) -> None:
        log(
            "WARNING",
            "request ended by the caller",
            request_id=request_id,
            api=call.api if call else None,
            model=call.model if call else None,
            outcome="client_disconnected",
            latency_ms=self._elapsed_ms(started),
            **fields,
            **context.log_fields,
        )

    def _stream_error(self, exc: Exception, request_id: str) -> RelayError:
        """The contract error for a failure after a stream's first byte."""
        if isinstance(exc, RelayError):
            return exc
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout("UPSTREAM_TIMEOUT_SECONDS ran out during the stream")
        if isinstance(exc, httpx.HTTPError | msgspec.DecodeError):
            return UpstreamError(f"the upstream stream broke off ({type(exc).__name__})")
        return self._internal(exc, request_id)

    def _internal(self, exc: BaseException, request_id: str) -> InternalError:
        """Log an unexpected failure once, in full; the caller gets only a pointer to the log."""
        log(
            "ERROR",
            "unexpected failure",
            event="internal_error",
            request_id=request_id,
            error=redact(f"{type(exc).__name__}: {exc}"),
            exc=exc,  # its traceback, causes included, becomes the line's `stack_trace`
        )
        error = InternalError(f"internal error; the logs hold details under {request_id}")
        error.__cause__ = exc
        return error

    def _failure(
        self,
        error: RelayError,
        request_id: str,
        call: UpstreamCall | None,
        started: float,
        context: Context,
        request: PromptRequest | None = None,
    ) -> Answer:
        error.message = redact(error.message)
        headers: dict[str, str] = {}
        if error.retry_after is not None:
            headers["retry-after"] = str(max(1, int(-(-error.retry_after // 1))))
        if error.status == 405:
            headers["allow"] = "POST"
        latency_ms = self._elapsed_ms(started)
        severity = "ERROR" if error.status >= 500 else "WARNING"
        log(
            severity,
            f"prompt failed: {error.type}",
            request_id=request_id,
            api=call.api if call else None,
            model=call.model if call else None,
            outcome=error.type,
            http_status=error.status,
            latency_ms=latency_ms,
            attempts=error.attempts,
            error=error.message,
            upstream_status=error.upstream_status,
            upstream_code=error.upstream_code,
            gateway_log_id=error.gateway_log_id,
            **self._prompt_fields(request),
            **context.log_fields,
        )
        body = {"ok": False, "request_id": request_id, "error": error.to_dict()}
        return Answer(error.status, body, headers, error)

    def _log_success(
        self, result: dict[str, Any], request: PromptRequest, context: Context
    ) -> None:
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
            **self._prompt_fields(request, result),
            **context.log_fields,
        )

    def _prompt_fields(
        self, request: PromptRequest | None, result: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Prompt and answer text, only when LOG_PROMPTS asks for them."""
        if not self.settings.log_prompts or request is None:
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

    def _elapsed_ms(self, started: float) -> int:
        return round((self._clock() - started) * 1000)


def config_error_answer(error: ConfigError, context: Context | None = None) -> Answer:
    """The answer for every request while the settings themselves are wrong."""
    request_id = (context.request_id if context else None) or _new_request_id()
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


def _new_request_id() -> str:
    return uuid.uuid4().hex


def _request_id_from_raw(body: bytes) -> str | None:
    """Echo the caller's request_id even when the rest of the body is invalid."""
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and REQUEST_ID.match(value) else None
