"""The relay: a request body in, one contract answer out, with one log line per request.

Free of any web framework, so the HTTP handler, the CloudEvent handler, tests and benchmarks all
drive this same code.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from dataclasses import replace
from typing import Any

import httpx
import msgspec

from . import tracing
from .errors import InternalError, InvalidRequest, RelayError, UpstreamError, UpstreamTimeout
from .fallbacks import checked_models, in_turn
from .gateway import GatewayClient
from .gateway_info import header_value
from .normalize import normalize
from .outcome import Answer, Context, Outcomes, Run, new_request_id
from .request import (
    BatchRequest,
    BulkBody,
    PromptRequest,
    body_fields,
    decode_body,
    decode_prompt,
    decode_request,
)
from .result import build_result
from .scrub import StreamScrubber, scrub_tree
from .secrets import Secrets, SecretStore
from .settings import Settings
from .streaming import UpstreamStream, sse
from .translate import UpstreamCall, build_call

__all__ = ["STREAM_READER_GRACE_SECONDS", "Relay"]

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
        tracer: tracing.Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.secrets = Secrets(settings, secret_store, clock=clock)
        self.gateway = GatewayClient(settings, self.secrets, transport=transport, clock=clock)
        self.clock = clock
        self.outcomes = Outcomes(settings.log_prompts, clock)
        self.tracer = tracer or tracing.make_tracer(settings)

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
            return self._refuse_body(exc, body, context, started)
        return await self.answer_decoded(request, context, started=started)

    def read(
        self, body: bytes, context: Context | None = None, *, started: float | None = None
    ) -> PromptRequest | BatchRequest | BulkBody | Answer:
        """Decode an HTTP body once: the request, a bulk body, or its refusal (logged)."""
        try:
            return decode_body(body)
        except InvalidRequest as exc:
            return self._refuse_body(exc, body, context or Context(), started)

    async def answer_decoded(
        self,
        request: PromptRequest | BatchRequest,
        context: Context | None = None,
        *,
        started: float | None = None,
    ) -> Answer:
        """Answer a decoded prompt or batch; the answer carries the body's `deliver` flag."""
        if isinstance(request, BatchRequest):
            answer = await self.answer_batch(request, context)
        else:
            answer = await self.answer_request(request, context, started=started)
        return answer if request.deliver is None else replace(answer, deliver=request.deliver)

    def _refuse_body(
        self, error: InvalidRequest, body: bytes, context: Context, started: float | None
    ) -> Answer:
        """An unusable body's answer: its request_id echoed and its `deliver` kept when readable."""
        fields = body_fields(body)
        request_id = fields.request_id or context.request_id or new_request_id()
        answer = self.refuse(error, request_id, context, started=started)
        return answer if fields.deliver is None else replace(answer, deliver=fields.deliver)

    async def answer_batch(self, batch: BatchRequest, context: Context | None = None) -> Answer:
        """Answer `{"requests": [...]}`: items run concurrently, under one deadline, in order."""
        context = context or Context()
        limit = self.settings.batch_max_items
        if len(batch.requests) > limit:
            error = InvalidRequest(f"requests: at most {limit} items (BATCH_MAX_ITEMS)")
            return self.refuse(error, new_request_id(), context)
        gate = asyncio.Semaphore(self.settings.batch_concurrency)
        # One deadline for the whole batch: items waiting for a slot spend the same budget, so a
        # batch never outlives UPSTREAM_TIMEOUT_SECONDS (and the platform's timeout behind it).
        started = self.clock()

        async def one(index: int, raw: msgspec.Raw) -> dict[str, Any]:
            async with gate:
                key = context.default_cache_key
                item_context = Context(
                    log_fields={**context.log_fields, "batch_index": index},
                    default_metadata=context.default_metadata,
                    allow_stream=False,
                    trace=context.trace,
                    identity=context.identity,
                    default_service_tier=context.default_service_tier,
                    default_cache_key=f"{key}:{index}" if key else None,  # one key per item
                )
                try:
                    request = decode_prompt(bytes(raw))
                except InvalidRequest as exc:
                    exc.message = f"requests[{index}]: {exc.message}"
                    rid = body_fields(bytes(raw)).request_id or new_request_id()
                    return self.refuse(exc, rid, item_context, started=started).body
                if request.stream:
                    error = InvalidRequest(f"requests[{index}].stream: batch items cannot stream")
                    rid = request.request_id or new_request_id()
                    return self.refuse(error, rid, item_context, started=started).body
                answer = await self.answer_request(request, item_context, started=started)
                if answer.error is not None:
                    answer.body["error"]["message"] = f"requests[{index}]: {answer.error.message}"
                return answer.body

        results = await asyncio.gather(*(one(i, raw) for i, raw in enumerate(batch.requests)))
        return Answer(200, {"ok": all(r["ok"] for r in results), "results": list(results)})

    def reject(self, error: RelayError, context: Context | None = None) -> Answer:
        """Answer a request refused before its body was read (method, media type, size)."""
        context = context or Context()
        return self.refuse(error, context.request_id or new_request_id(), context)

    def refuse(
        self,
        error: RelayError,
        request_id: str,
        context: Context,
        *,
        started: float | None = None,
    ) -> Answer:
        """Answer a request refused before it ran (its body, a batch's limits): one log line."""
        return self.outcomes.failure(error, self._begin(request_id, context, started))

    async def answer_request(
        self,
        request: PromptRequest,
        context: Context | None = None,
        *,
        started: float | None = None,
    ) -> Answer:
        """Answer one validated prompt."""
        context = context or Context()
        request_id = request.request_id or context.request_id or new_request_id()
        run = self._begin(request_id, context, started, request)
        try:
            calls = self._calls_for(request, context)  # every model checked before any call
            run.call = calls[0]
            run.trace = self.tracer.call(run.call.api, run.call.model, context.trace)
            with tracing.current(run.trace):
                answered = await in_turn(
                    calls,
                    functools.partial(self._answer_call, run),
                    time_left=lambda: run.deadline - self.clock(),
                    fell_back=run.fell_back,
                )
            if isinstance(answered, Answer):
                return answered  # a stream, open: it logs its own outcome
            result = answered
        except asyncio.CancelledError as exc:
            # The caller hung up (the handler cancels us): the upstream call is cancelled with
            # this task and nothing is retried for it.
            run.trace.end(error=exc)
            self.outcomes.disconnect(run)
            raise
        except InternalError as exc:
            # A bug met on the way (a request HTTP refuses, say): its cause is logged in full.
            run.trace.end(error=exc)
            return self.outcomes.failure(self.outcomes.internal(exc.__cause__ or exc, run), run)
        except RelayError as exc:
            run.trace.end(error=exc)
            return self.outcomes.failure(exc, run)
        except Exception as exc:
            run.trace.end(error=exc)
            return self.outcomes.failure(self.outcomes.internal(exc, run), run)
        except BaseException as exc:  # shutting down: the span still ends
            run.trace.end(error=exc)
            raise
        run.trace.end(result)
        self.outcomes.success(result, run)
        return Answer(200, result)

    def _begin(
        self,
        request_id: str,
        context: Context,
        started: float | None,
        request: PromptRequest | None = None,
    ) -> Run:
        """The request's Run: its deadline is UPSTREAM_TIMEOUT_SECONDS after it `started`; its log
        line carries the identity keys that IDENTITY_METADATA sends upstream."""
        started = self.clock() if started is None else started
        deadline = started + self.settings.upstream_timeout
        if who := context.identity.fields(self.settings.identity_metadata):
            context = replace(context, log_fields={**context.log_fields, **who})
        return Run(request_id, started, deadline, context, request)

    def _calls_for(self, request: PromptRequest, context: Context) -> list[UpstreamCall]:
        """One call per model the request may try: its own, then its fallback_models."""
        primary = request.model or self.settings.default_model
        models = checked_models(primary, request.fallback_models, self.settings.allowed_models)
        return [
            build_call(
                request,
                self.settings,
                default_metadata=context.default_metadata,
                trace=context.trace,
                allow_stream=context.allow_stream,
                model=model,
                identity=context.identity,
                default_service_tier=context.default_service_tier,
                default_cache_key=context.default_cache_key,
            )
            for model in models
        ]

    async def _answer_call(self, run: Run, call: UpstreamCall) -> dict[str, Any] | Answer:
        """Answer with `call` (one of the request's models): a result, or an open stream."""
        run.call = call
        run.models_tried.append(call.model)
        return await (self._open_stream(run) if call.stream else self._answer_plain(run))

    async def _answer_plain(self, run: Run) -> dict[str, Any]:
        """One call, its JSON answer normalized into the result."""
        assert run.call is not None and run.request is not None
        reply = await self.gateway.send(run.call, deadline=run.deadline, tally=run.tally)
        try:
            fields = normalize(run.call.api, reply.value)
        except UpstreamError as exc:
            # A 2xx of the wrong shape (or a failed run): not retried, said with its status.
            exc.upstream_status = exc.upstream_status or reply.status
            raise
        result = self._result(run, fields, reply.headers)
        if run.request.include_raw:
            # Scrubbed like every other string from upstream: an upstream may echo a credential.
            result["raw"] = scrub_tree(reply.value)
        return result

    def _result(
        self, run: Run, fields: dict[str, Any], headers: Mapping[str, str]
    ) -> dict[str, Any]:
        """The contract's result from upstream's normalized `fields` and the gateway's headers."""
        latency_ms = self.outcomes.elapsed_ms(run.started)
        custom = self.settings.custom_prices
        return build_result(run, fields, headers, custom_prices=custom, latency_ms=latency_ms)

    async def _open_stream(self, run: Run) -> Answer:
        """Open the upstream stream; failures up to its first byte are ordinary error answers."""
        assert run.call is not None
        reply = await self.gateway.open_stream(run.call, deadline=run.deadline, tally=run.tally)
        run.tally.gateway_log_id = header_value(reply.headers, "cf-aig-log-id")
        return Answer(
            200,
            {},
            {"cache-control": "no-cache", "x-accel-buffering": "no"},
            events=self._relay_stream(reply.value, run),
            events_deadline=run.deadline + STREAM_READER_GRACE_SECONDS,
        )

    async def _relay_stream(
        self, response: httpx.Response, run: Run
    ) -> AsyncGenerator[bytes, None]:
        """Pass text on as `delta` events, then one `result` (or `error`) event."""
        assert run.call is not None
        upstream = UpstreamStream(response, run.call.api)
        # A credential split across deltas is caught whole (see StreamScrubber).
        scrubber = StreamScrubber()
        ended = False
        try:
            async for text in upstream.texts(run.deadline, self.clock):
                if clean := scrubber.feed(text):
                    yield sse("delta", {"text": clean})
            if rest := scrubber.flush():
                yield sse("delta", {"text": rest})
            assert upstream.fields is not None
            result = self._result(run, upstream.fields, response.headers)
            run.trace.end(result)
            self.outcomes.success(result, run)
            ended = True
            yield sse("result", result)
        except Exception as exc:
            error = self._stream_error(exc, run)
            run.trace.end(error=error)
            failure = self.outcomes.failure(error, run)
            ended = True
            yield sse("error", failure.body)
        finally:
            with contextlib.suppress(Exception):
                await response.aclose()
            if not ended:
                run.trace.end(error="client_disconnected")
                # The caller went away (or stopped reading) mid-stream: nothing was answered,
                # but the call is logged.
                self.outcomes.disconnect(run)

    def _stream_error(self, exc: Exception, run: Run) -> RelayError:
        """The contract error for a failure after a stream's first byte."""
        if isinstance(exc, RelayError):
            return exc
        if isinstance(exc, TimeoutError):
            return UpstreamTimeout("UPSTREAM_TIMEOUT_SECONDS ran out during the stream")
        if isinstance(exc, httpx.HTTPError | msgspec.DecodeError):
            return UpstreamError(f"the upstream stream broke off ({type(exc).__name__})")
        return self.outcomes.internal(exc, run)
