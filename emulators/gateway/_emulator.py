"""`GatewayEmulator`: accepts connections, records requests and answers each one in the order
the package docstring gives (auth, controls, fault step, cache, delay, answer)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import re
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import h11

from emulators._server import ThreadedAsyncServer
from emulators.gateway import _errors
from emulators.gateway._answers import (
    JSON,
    Answer,
    RecordedRequest,
    delay_seconds,
    json_answer,
    render_body,
    try_json,
)
from emulators.gateway._answers import (
    metadata as parse_metadata,
)
from emulators.gateway._cache import ResponseCache, cache_plan
from emulators.gateway._control_api import control
from emulators.gateway._controls import check_auth, check_controls
from emulators.gateway._errors import JsonObject
from emulators.gateway._faults import STATUS_STEPS, FaultScriptError, Step, parse_script, step_for
from emulators.gateway._http import HttpConnection, Request
from emulators.gateway._plan import RequestError, decode_body, plan_chat, plan_responses
from emulators.gateway._render import (
    chat_stream,
    json_bytes,
    responses_stream,
)
from emulators.gateway._routes import COMPAT_ROUTE, resolve_route, tier_error
from emulators.gateway._sending import send_stream, trickle

__all__ = ["GatewayEmulator", "RecordedRequest"]

_ROUTE = re.compile(r"/v1/[^/]+/[^/]+/openai/(responses|chat/completions)")
_CONTROL_PREFIX = "/_emulator/"
STALL_SECONDS = 120.0
_OK = Step("ok")
# Log ids only need to be unique; a process-wide counter keeps them deterministic.
_log_ids = itertools.count(1)


class GatewayEmulator(ThreadedAsyncServer):
    """Cloudflare AI Gateway (OpenAI provider) on 127.0.0.1, for tests and benchmarks.

    ``token``, ``openai_key``, ``require_openai_key`` and ``delay_ms`` may be changed while it runs.
    ``clock`` (monotonic seconds) only drives cache expiry, so tests can move time forward.
    ``max_recorded`` bounds the request log so long benchmark runs do not grow without limit.
    """

    name = "gateway emulator"

    def __init__(
        self,
        *,
        token: str,
        openai_key: str | None = None,
        require_openai_key: bool = False,
        delay_ms: int = 0,
        clock: Callable[[], float] = time.monotonic,
        max_recorded: int = 100_000,
    ) -> None:
        super().__init__()
        self.token = token
        self.openai_key = openai_key
        self.require_openai_key = require_openai_key
        self.delay_ms = delay_ms
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: collections.deque[RecordedRequest] = collections.deque(maxlen=max_recorded)
        self._counts = {"requests": 0, "connections_opened": 0, "cache_hits": 0}
        self._cache = ResponseCache(clock)
        self._attempts: dict[str, int] = {}

    # --- lifecycle (start, stop, port: ThreadedAsyncServer) ----------------------------------

    def base_url(self, account: str = "acct", gateway: str = "gw") -> str:
        return f"http://{self._host}:{self.port}/v1/{account}/{gateway}/openai"

    # --- observation -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request seen on non-control paths, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        """Forget recorded requests, stats, cache entries and fault attempt counters."""
        with self._lock:
            self._requests.clear()
            self._counts = dict.fromkeys(self._counts, 0)
            self._cache.clear()
            self._attempts.clear()

    # --- serving ---------------------------------------------------------------------------

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self._counts["connections_opened"] += 1
        http = HttpConnection(reader, writer)
        try:
            while (request := await http.read_request()) is not None:
                if not await self._dispatch(http, request) or not http.next_cycle():
                    break
        except (ConnectionError, h11.RemoteProtocolError):
            pass  # the client went away or spoke garbage: just close
        except Exception:
            traceback.print_exc()
        finally:
            http.close()

    async def _dispatch(self, http: HttpConnection, request: Request) -> bool:
        """Answer one request; False when the connection must close afterwards."""
        if request.path.startswith(_CONTROL_PREFIX):
            answer = control(self, request)
            await http.respond(answer.status, [("content-type", answer.content_type)], answer.body)
            return True
        parsed = try_json(request.body)
        with self._lock:
            self._requests.append(
                RecordedRequest(request.method, request.target, request.headers, parsed)
            )
            self._counts["requests"] += 1
        if COMPAT_ROUTE.fullmatch(request.path) and request.method == "POST":
            return await self._openai(http, request, "chat/completions", parsed, dynamic=True)
        route = _ROUTE.fullmatch(request.path)
        if route is None:
            body = _errors.openai_error(f"No route for {request.path}", "not_found", None, None)
            await http.respond(404, [("content-type", JSON)], json_bytes(body))
            return True
        if request.method != "POST":
            body = _errors.openai_error(
                f"Method {request.method} not allowed", "invalid_request_error", None, None
            )
            headers = [("content-type", JSON), ("allow", "POST")]
            await http.respond(405, headers, json_bytes(body))
            return True
        return await self._openai(http, request, route.group(1), parsed)

    async def _openai(
        self,
        http: HttpConnection,
        request: Request,
        api: str,
        parsed: Any,
        *,
        dynamic: bool = False,
    ) -> bool:
        headers = request.headers
        log_id = f"{next(_log_ids):026X}"

        step_headers: list[tuple[str, str]] = []

        cache_status: str | None = None  # no header until the request asks for caching

        def gateway_headers() -> list[tuple[str, str]]:
            cache = [("cf-aig-cache-status", cache_status)] if cache_status else []
            return [("cf-aig-log-id", log_id), *cache, *step_headers]

        async def send(answer: Answer) -> bool:
            """A complete answer with the gateway's headers (cache_status as it is by then)."""
            await http.respond(
                answer.status,
                [("content-type", answer.content_type), *gateway_headers()],
                answer.body,
            )
            return True

        rejection = check_auth(
            headers, self.token, self.openai_key, require_key=self.require_openai_key
        )
        if rejection is not None:
            return await send(rejection)
        malformed = check_controls(headers)
        if malformed is not None:
            return await send(json_answer(400, malformed))

        metadata_header = headers.get("cf-aig-metadata", "")
        metadata = parse_metadata(metadata_header)
        try:
            step = self._next_step(metadata, metadata_header)
        except FaultScriptError as exc:
            body = _errors.openai_error(f"emulator: {exc}", "emulator_error", None, None)
            return await send(json_answer(400, body))

        stream = isinstance(parsed, dict) and parsed.get("stream") is True
        cache_key, ttl = cache_plan(request, stream)
        if cache_key is not None:
            cache_status = "MISS"
            # Fault steps come before the cache: only an ``ok`` step may be answered from it.
            entry = self._cache.get(cache_key) if step.name == "ok" else None
            if entry is not None:
                with self._lock:
                    self._counts["cache_hits"] += 1
                cache_status = "HIT"
                return await send(Answer(200, entry.body, entry.content_type))

        seconds = delay_seconds(metadata.get("emulator_delay_ms", self.delay_ms))
        if seconds > 0:
            await asyncio.sleep(seconds)

        # Suffixes such as @ra=2 or @xsr=false add their headers to whatever this step answers;
        # a dynamic route's own headers come first, and a suffix naming the same one wins.
        suffixed = step.headers(time.time())
        if dynamic:
            routed = resolve_route(parsed)
            if isinstance(routed[0], int):
                return await send(Answer(routed[0], json_bytes(routed[1])))
            parsed, route_headers = routed
            named = {name for name, _ in suffixed}
            step_headers.extend(h for h in route_headers if h[0] not in named)
        step_headers.extend(suffixed)
        if step.name in STATUS_STEPS:
            status, error = STATUS_STEPS[step.name]
            return await send(json_answer(status, error))
        if step.name == "drop":
            return False
        if step.name == "stall":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(http.wait_for_eof(), STALL_SECONDS)
            return False
        if step.name == "notjson":
            return await send(Answer(200, b"<html>502 Bad Gateway</html>", "text/html"))
        if step.name == "badjson":
            return await send(json_answer(200, {"unexpected": True}))

        try:
            body = parsed if isinstance(parsed, dict) else decode_body(request.body)
            bad_tier = tier_error(body)
            if bad_tier is not None:
                return await send(json_answer(400, bad_tier))
            plan = (plan_chat if api == "chat/completions" else plan_responses)(body, request.body)
        except RequestError as exc:
            return await send(json_answer(exc.status, exc.body))

        extra = tuple(gateway_headers())
        if stream:
            frames = (chat_stream if api == "chat/completions" else responses_stream)(plan, body)
            return await send_stream(http, step, frames, extra)
        answer = Answer(200, json_bytes(render_body(api, plan, body)))
        if step.name == "trickle":
            return await trickle(http, answer, extra)
        if step.name == "midstream":
            # Not a stream: send half the promised body, then close.
            await http.start(
                200, [("content-type", JSON), *extra, ("content-length", str(len(answer.body)))]
            )
            await http.send(answer.body[: len(answer.body) // 2])
            return False
        if cache_key is not None and step.name == "ok":
            self._cache.put(cache_key, answer.body, answer.content_type, ttl)
        return await send(answer)

    def _next_step(self, metadata: JsonObject, header: str) -> Step:
        script = metadata.get("emulator_fault")
        if not isinstance(script, str) or not script:
            return _OK
        steps = parse_script(script)
        with self._lock:
            attempt = self._attempts.get(header, 0)
            self._attempts[header] = attempt + 1
        return step_for(steps, attempt)
