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
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import msgspec

from ._errors import (
    ConfigError,
    InternalError,
    InvalidRequest,
    RelayError,
    UpstreamError,
    UpstreamTimeout,
)
from ._gateway import GatewayClient
from ._logging import log, redact
from ._normalize import normalize, parse_output_json
from ._request import (
    REQUEST_ID,
    BatchRequest,
    PromptRequest,
    decode_prompt,
    decode_request,
)
from ._secrets import Secrets, SecretStore
from ._settings import Settings
from ._streaming import UpstreamStream, sse
from ._translate import UpstreamCall, build_call

__all__ = ["Answer", "Context", "Relay"]


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


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP-shaped outcome: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    error: RelayError | None = None
    # For a streaming answer: the server-sent events to send (body is then empty).
    events: AsyncIterator[bytes] | None = None


class Relay:
    """Runs prompts through the gateway. One instance per process; safe to share across tasks."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        secret_store: Callable[[], SecretStore] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.secrets = Secrets(settings, secret_store, clock=clock)
        self.gateway = GatewayClient(settings, self.secrets, transport=transport, clock=clock)
        self._clock = clock

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Relay:
        """A Relay configured from the environment; raises ConfigError naming a bad setting."""
        return cls(Settings.from_env(os.environ if env is None else env))

    async def aclose(self) -> None:
        """Release pooled connections."""
        await self.gateway.aclose()

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
        try:
            call = build_call(request, self.settings, default_metadata=context.default_metadata)
            if call.stream and context.allow_stream:
                return await self._open_stream(call, request, request_id, started, context)
            if call.stream:
                call = replace(
                    call,
                    stream=False,
                    body={
                        k: v for k, v in call.body.items() if k not in ("stream", "stream_options")
                    },
                )
            result = await self._run(call, request, request_id, started)
        except RelayError as exc:
            return self._failure(exc, request_id, call, started, context, request)
        except Exception as exc:
            error = self._internal(exc, request_id)
            return self._failure(error, request_id, call, started, context, request)
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
            result["raw"] = raw[-1]
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
        if request.json_schema is not None:
            parse_output_json(fields)
        return {
            "ok": True,
            "request_id": request_id,
            "api": call.api,
            **fields,
            "model": fields["model"] or call.model,
            "gateway": {
                "log_id": headers.get("cf-aig-log-id"),
                "cache_status": headers.get("cf-aig-cache-status"),
            },
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
    ) -> Answer:
        """Open the upstream stream; failures up to its first byte are ordinary error answers."""
        deadline = started + self.settings.upstream_timeout
        reply = await self.gateway.open_stream(call, deadline=deadline)
        events = self._relay_stream(
            reply.value, call, request, request_id, started, reply.attempts, deadline, context
        )
        return Answer(
            200, {}, {"cache-control": "no-cache", "x-accel-buffering": "no"}, events=events
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
    ) -> AsyncIterator[bytes]:
        """Pass text on as `delta` events, then one `result` (or `error`) event."""
        upstream = UpstreamStream(response, call.api)
        ended = False
        try:
            async for text in upstream.texts(deadline, self._clock):
                yield sse("delta", {"text": text})
            assert upstream.fields is not None
            result = self._result(
                call, request, request_id, started, upstream.fields, response.headers, attempts
            )
            self._log_success(result, request, context)
            ended = True
            yield sse("result", result)
        except Exception as exc:
            error = self._stream_error(exc, request_id)
            error.attempts = attempts
            error.gateway_log_id = response.headers.get("cf-aig-log-id")
            failure = self._failure(error, request_id, call, started, context, request)
            ended = True
            yield sse("error", failure.body)
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
            if not ended:
                # The caller went away mid-stream: nothing was answered, but the call is logged.
                log(
                    "WARNING",
                    "stream ended by the caller",
                    request_id=request_id,
                    api=call.api,
                    model=call.model,
                    outcome="client_disconnected",
                    latency_ms=self._elapsed_ms(started),
                    attempts=attempts,
                    gateway_log_id=response.headers.get("cf-aig-log-id"),
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

    def _internal(self, exc: Exception, request_id: str) -> InternalError:
        """Log an unexpected failure in full; the caller gets only a pointer to the log."""
        log(
            "ERROR",
            "unexpected failure",
            event="internal_error",
            request_id=request_id,
            error=redact(f"{type(exc).__name__}: {exc}"),
            exc=exc,  # its traceback, causes included, becomes the line's `stack_trace`
        )
        return InternalError(f"internal error; the logs hold details under {request_id}")

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
