"""The relay: a request body in, one contract answer out, with one log line per request.

Free of any web framework, so the HTTP handler, the CloudEvent handler, tests and benchmarks all
drive this same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import replace
from typing import Any

import httpx
import msgspec

from . import _tracing
from ._answer import Answer, Context, new_request_id, request_id_from_raw
from ._batch import answer_batch
from ._cost import call_cost, custom_cost_header
from ._errors import (
    InternalError,
    InvalidRequest,
    RelayError,
    UpstreamError,
    UpstreamTimeout,
)
from ._gateway import GatewayClient
from ._gateway_info import gateway_info, header_value
from ._normalize import normalize, parse_output_json
from ._outcome import Outcomes, config_error_answer
from ._request import (
    BatchRequest,
    PromptRequest,
    decode_request,
)
from ._scrub import StreamScrubber, scrub_tree
from ._secrets import Secrets, SecretStore
from ._settings import Settings
from ._streaming import UpstreamStream, sse
from ._translate import UpstreamCall, build_call

__all__ = ["STREAM_READER_GRACE_SECONDS", "Answer", "Context", "Relay", "config_error_answer"]

# A streaming caller gets this long past the request's deadline to take the last events; a
# reader that stops reading cannot hold the request (and its upstream connection) longer.
STREAM_READER_GRACE_SECONDS = 5.0


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
        self.clock = clock
        self.outcomes = Outcomes(settings.log_prompts, clock)
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
        started = self.clock()
        try:
            request = decode_request(body)
        except InvalidRequest as exc:
            request_id = request_id_from_raw(body) or context.request_id or new_request_id()
            return self.outcomes.failure(exc, request_id, None, started, context)
        if isinstance(request, BatchRequest):
            return await answer_batch(self, request, context)
        return await self.answer_request(request, context, started=started)

    def reject(self, error: RelayError, context: Context | None = None) -> Answer:
        """Answer a request refused before its body was read (method, media type, size)."""
        context = context or Context()
        request_id = context.request_id or new_request_id()
        return self.outcomes.failure(error, request_id, None, self.clock(), context)

    async def answer_request(
        self,
        request: PromptRequest,
        context: Context | None = None,
        *,
        started: float | None = None,
    ) -> Answer:
        """Answer one validated prompt."""
        context = context or Context()
        started = self.clock() if started is None else started
        request_id = request.request_id or context.request_id or new_request_id()
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
            self.outcomes.disconnect(request_id, call, started, context)
            raise
        except InternalError as exc:
            # A bug met on the way (a request HTTP refuses, say): its cause is logged in full.
            trace.end(error=exc)
            error = self.outcomes.internal(exc.__cause__ or exc, request_id)
            return self.outcomes.failure(error, request_id, call, started, context, request)
        except RelayError as exc:
            trace.end(error=exc)
            return self.outcomes.failure(exc, request_id, call, started, context, request)
        except Exception as exc:
            trace.end(error=exc)
            error = self.outcomes.internal(exc, request_id)
            return self.outcomes.failure(error, request_id, call, started, context, request)
        except BaseException as exc:  # shutting down: the span still ends
            trace.end(error=exc)
            raise
        trace.end(result)
        self.outcomes.success(result, request, context)
        return Answer(200, result)

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
            "latency_ms": self.outcomes.elapsed_ms(started),
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
            async for text in upstream.texts(deadline, self.clock):
                if clean := scrubber.feed(text):
                    yield sse("delta", {"text": clean})
            if rest := scrubber.flush():
                yield sse("delta", {"text": rest})
            assert upstream.fields is not None
            result = self._result(
                call, request, request_id, started, upstream.fields, response.headers, attempts
            )
            trace.end(result)
            self.outcomes.success(result, request, context)
            ended = True
            yield sse("result", result)
        except Exception as exc:
            error = self._stream_error(exc, request_id)
            error.attempts = attempts
            error.gateway_log_id = header_value(response.headers, "cf-aig-log-id")
            trace.end(error=error)
            failure = self.outcomes.failure(error, request_id, call, started, context, request)
            ended = True
            yield sse("error", failure.body)
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
            if not ended:
                trace.end(error="client_disconnected")
                # The caller went away (or stopped reading) mid-stream: nothing was answered,
                # but the call is logged.
                self.outcomes.disconnect(
                    request_id,
                    call,
                    started,
                    context,
                    attempts=attempts,
                    gateway_log_id=header_value(response.headers, "cf-aig-log-id"),
                )

    def _stream_error(self, exc: Exception, request_id: str) -> RelayError:
        """The contract error for a failure after a stream's first byte."""
        if isinstance(exc, RelayError):
            return exc
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout("UPSTREAM_TIMEOUT_SECONDS ran out during the stream")
        if isinstance(exc, httpx.HTTPError | msgspec.DecodeError):
            return UpstreamError(f"the upstream stream broke off ({type(exc).__name__})")
        return self.outcomes.internal(exc, request_id)
