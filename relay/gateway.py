"""The gateway client: one upstream call, retried by the policy in `retry`, inside one deadline.

One keep-alive pool per process (`transport`) carries every attempt; credentials come from
`secrets.CredentialSource`. The whole call (every attempt, every wait, and every byte of every
body) ends by the deadline: each attempt runs under a timer for the time that is left
(`deadline`), so a trickling body cannot outlive it. A plain answer comes back as decoded JSON
with its headers and status (`Reply`); making a result of it is the service's job.
The caller's `Tally` is kept up to date as attempts are made, so however the call ends, the
request's answer and log line say how many upstream calls it took.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from . import tracing
from .deadline import timer
from .errors import (
    BudgetExceeded,
    ContentBlocked,
    InternalError,
    PolicyDenied,
    RateLimited,
    RelayError,
    UpstreamAuth,
    UpstreamError,
    UpstreamTimeout,
)
from .fallbacks import unified_base_url
from .logs import log
from .normalize import classify_error
from .outcome import Tally
from .retry import (
    MIN_ATTEMPT_SECONDS,
    capacity_unavailable,
    parse_retry_after,
    retry_delay,
    should_retry_status,
)
from .secrets import Credentials, CredentialSource, Secrets
from .settings import Settings
from .translate import UpstreamCall
from .transport import OriginPool
from .upstream_headers import attempt_headers

__all__ = ["GatewayClient", "Reply"]

T = TypeVar("T")
# An attempt's (trace id, span id) when tracing records it.
SpanIds = tuple[str, str] | None

CONNECT_TIMEOUT_SECONDS = 10.0
# Bodies larger than this are not what an LLM answers; refuse rather than buffer them.
MAX_UPSTREAM_BODY_BYTES = 32 * 1024 * 1024
# An error body is read for its message and code only.
MAX_ERROR_BODY_BYTES = 64 * 1024
# Failures before the request left whole: nothing reached the gateway, so they are retried.
_UNSENT = (httpx.ConnectError, httpx.WriteError)


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """A successful upstream answer: its decoded JSON (or the open stream), headers and status."""

    value: T
    headers: httpx.Headers
    status: int


class _Retryable(Exception):
    """One attempt failed in a way the policy may retry."""

    def __init__(self, error: RelayError, retry_after: float | None = None) -> None:
        self.error = error
        self.retry_after = retry_after


class GatewayClient:
    """Sends UpstreamCalls to the gateway with credentials, retries and a deadline."""

    def __init__(
        self,
        settings: Settings,
        secrets: Secrets,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._rand = rand
        self._pools = OriginPool(settings.base_url, transport)
        # The gateway's unified endpoint, for dynamic routes (only when the base URL allows it).
        unified = unified_base_url(settings.base_url)
        self._unified = OriginPool(unified, transport) if unified is not None else None
        self._credentials = CredentialSource(settings, secrets, clock, self._pools.warm)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._pools.aclose()
        if self._unified is not None:
            await self._unified.aclose()

    async def send(self, call: UpstreamCall, *, deadline: float, tally: Tally) -> Reply[Any]:
        """POST `call`, retrying per policy until `deadline` (a `clock()` value); the answer's
        JSON decoded. Its shape is the caller's to check (see `_attempt` on unusable answers).
        """

        async def attempt(credentials: Credentials, span_ids: SpanIds) -> Reply[Any]:
            return await self._attempt(call, credentials, deadline, span_ids, tally)

        return await self._retrying(attempt, deadline, tally)

    async def open_stream(
        self, call: UpstreamCall, *, deadline: float, tally: Tally
    ) -> Reply[httpx.Response]:
        """POST a streaming `call` and return the open response once upstream said 200.

        Failures before the first byte of the body are retried like any other; after that the
        caller owns the response (and must close it).
        """

        async def attempt(credentials: Credentials, span_ids: SpanIds) -> Reply[httpx.Response]:
            response = await self._post(call, credentials, deadline, span_ids, tally)
            return Reply(response, response.headers, response.status_code)

        return await self._retrying(attempt, deadline, tally)

    async def _retrying(
        self,
        attempt: Callable[[Credentials, SpanIds], Awaitable[Reply[T]]],
        deadline: float,
        tally: Tally,
    ) -> Reply[T]:
        retries = 0
        rotated = False
        while True:
            if tally.attempts and deadline - self._clock() < MIN_ATTEMPT_SECONDS:
                raise UpstreamTimeout(
                    "UPSTREAM_TIMEOUT_SECONDS ran out before the gateway answered"
                )
            credentials = await self._credentials.current(deadline)
            tally.attempts += 1
            tally.gateway_log_id = None  # only the attempt that decides the call reports one
            span = tracing.attempt()
            try:
                reply = await attempt(credentials, span.span_ids)
                span.end()
                return reply
            except _Retryable as failed:
                span.end(failed.error)
                error = failed.error
                if isinstance(error, UpstreamAuth):
                    if rotated or not await self._credentials.rotated(error, deadline):
                        raise error from failed
                    rotated = True
                    continue
                delay = self._retry_delay(error, failed.retry_after, retries, deadline)
                if delay is None:
                    raise error from failed
                retries += 1
                log(
                    "DEBUG",
                    "retrying upstream call",
                    event="upstream_retry",
                    retry=retries,
                    wait_seconds=round(delay, 3),
                    error_type=error.type,
                    upstream_status=error.upstream_status,
                )
                await asyncio.sleep(delay)
            except BaseException as exc:
                span.end(exc)
                raise

    def _retry_delay(
        self, error: RelayError, retry_after: float | None, retries: int, deadline: float
    ) -> float | None:
        """The wait before another attempt, or None when there is to be none."""
        if isinstance(error, UpstreamTimeout) or retries >= self._settings.max_retries:
            return None
        slow = isinstance(error, RateLimited) and capacity_unavailable(
            error.message, error.upstream_code
        )
        delay = retry_delay(retries, retry_after, self._rand, slow=slow)
        if delay is None or delay + MIN_ATTEMPT_SECONDS > deadline - self._clock():
            return None  # no wait is started that the deadline would cut short
        return delay

    async def _attempt(
        self,
        call: UpstreamCall,
        credentials: Credentials,
        deadline: float,
        span_ids: SpanIds,
        tally: Tally,
    ) -> Reply[Any]:
        response = await self._post(call, credentials, deadline, span_ids, tally)
        # One rule for "upstream said 2xx but we cannot use the answer" (cut off, not JSON, and
        # in the service the wrong shape or a failed run): never retried. The provider may have
        # run and billed it, so another attempt could bill it again; the caller gets
        # upstream_error (with upstream_status) and decides.
        try:
            body = await self._read(response, deadline, MAX_UPSTREAM_BODY_BYTES)
        except _Retryable as failed:
            raise failed.error from failed
        try:
            data = msgspec.json.decode(body)
        except (msgspec.DecodeError, RecursionError) as exc:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise UpstreamError(
                f"gateway answered {response.status_code} with a body that is not JSON "
                f"({kind[:60]})",
                upstream_status=response.status_code,
            ) from exc
        return Reply(data, response.headers, response.status_code)

    async def _post(
        self,
        call: UpstreamCall,
        credentials: Credentials,
        deadline: float,
        span_ids: SpanIds,
        tally: Tally,
    ) -> httpx.Response:
        """One POST; returns a 2xx response with its body unread, raises for anything else."""
        remaining = deadline - self._clock()
        pools = self._unified if call.unified and self._unified is not None else self._pools
        request = pools.request(
            "POST",
            call.path,
            msgspec.json.encode(call.body),
            attempt_headers(
                call.headers, credentials, remaining, span_ids, provider_key=not call.unified
            ),
            timeout=remaining,
            connect=min(CONNECT_TIMEOUT_SECONDS, remaining),
        )
        try:
            async with timer(deadline, self._clock):
                response = await pools.send(request)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise self._timed_out(exc, deadline) from exc
        except httpx.LocalProtocolError as exc:
            # We built a request HTTP refuses: a bug, not a gateway fault, so never retried.
            raise InternalError("the upstream request could not be sent") from exc
        except _UNSENT as exc:
            raise _Retryable(
                UpstreamError(f"could not reach the gateway ({type(exc).__name__})")
            ) from exc
        except httpx.TransportError as exc:
            # The whole request went out, then the connection dropped or the answer broke before
            # its head: the provider may have run (and billed) it, so, like an unusable 2xx,
            # never retried.
            raise UpstreamError(
                f"the connection broke before the gateway's answer began ({type(exc).__name__});"
                " the request was sent whole and may have run, so it was not sent again"
            ) from exc
        if response.status_code < 400:
            return response
        body = await self._read(response, deadline, MAX_ERROR_BODY_BYTES, truncate=True)
        retry_after = parse_retry_after(response.headers)
        error = classify_error(response.status_code, body, retry_after=retry_after)
        tally.gateway_log_id = (response.headers.get("cf-aig-log-id") or "")[:256] or None
        if isinstance(error, ContentBlocked | BudgetExceeded | PolicyDenied):
            # The same content would be blocked again, a used-up budget stays used up until its
            # window resets, a policy refuses again: whatever the headers say, never retried.
            raise error
        if should_retry_status(response.status_code, response.headers, error.upstream_code):
            raise _Retryable(error, retry_after)
        if isinstance(error, UpstreamAuth):
            raise _Retryable(error)  # a 401 may mean rotated secrets: _retrying decides
        raise error

    async def _read(
        self, response: httpx.Response, deadline: float, limit: int, *, truncate: bool = False
    ) -> bytes:
        """The body, read within the deadline and at most `limit` bytes (refused, or cut)."""
        body = bytearray()
        try:
            async with timer(deadline, self._clock):
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        if truncate:
                            return bytes(body[:limit])
                        raise UpstreamError("gateway answered with a body too large to relay")
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise self._timed_out(exc, deadline) from exc
        except httpx.TransportError as exc:
            raise _Retryable(
                UpstreamError(f"the gateway's answer broke off ({type(exc).__name__})")
            ) from exc
        finally:
            await response.aclose()
        return bytes(body)

    def _timed_out(self, exc: Exception, deadline: float) -> _Retryable:
        """The request's own deadline, or httpx's per-read timeout with no time left after it."""
        if isinstance(exc, TimeoutError) or deadline - self._clock() < MIN_ATTEMPT_SECONDS:
            return _Retryable(
                UpstreamTimeout("UPSTREAM_TIMEOUT_SECONDS ran out waiting for the gateway")
            )
        return _Retryable(UpstreamError(f"gateway timed out ({type(exc).__name__})"))
