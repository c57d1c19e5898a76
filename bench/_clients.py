"""HTTP client cost per request: the gateway client's library against alternatives.

    python bench/_clients.py LIBRARY URL REQUESTS HEADERS_JSON BODY_FILE [IN_FLIGHT DELAY_MS]

Runs REQUESTS sequential POSTs (after a warm-up) with one pooled client configured as
relay/_gateway.py configures httpx, and prints {"cpu_us": ..., "wall_us": ...} per request.
With IN_FLIGHT, it then keeps that many requests in flight against an upstream that answers
after DELAY_MS (the emulator's `emulator_delay_ms` metadata) for a few seconds, and adds
{"in_flight_cpu_us": ..., "in_flight_fraction": ...}: CPU per request, and the throughput as a
share of IN_FLIGHT / delay. That isolates how the client's connection pool scales.
It is a script, not a module of the package, so that any interpreter can run it (the LiteLLM
virtualenv has aiohttp; the production one has httpx). Only the standard library and the client
library under test are imported (for `relay`: the function's transport, from this checkout).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

WARMUP = 200
IN_FLIGHT_SECONDS = 4.0
REQUEST_TIMEOUT_SECONDS = 15.0


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


async def _measure(send: Callable[[], Awaitable[Any]], requests: int) -> dict[str, float]:
    for _ in range(WARMUP):
        await send()
    cpu, wall = _cpu(), time.perf_counter()
    for _ in range(requests):
        await send()
    return {
        "cpu_us": round((_cpu() - cpu) / requests * 1e6, 1),
        "wall_us": round((time.perf_counter() - wall) / requests * 1e6, 1),
    }


async def _in_flight(
    send: Callable[[], Awaitable[Any]], clients: int, delay: float
) -> dict[str, float]:
    """Keep `clients` requests in flight (starts spread over one delay); measure a window."""
    started = time.perf_counter()
    window_start = started + 2 * delay
    window_end = window_start + IN_FLIGHT_SECONDS
    completed = 0
    total = 0

    async def worker(offset: float) -> None:
        nonlocal completed, total
        await asyncio.sleep(offset)  # the client's place in the ramp
        while time.perf_counter() < window_end:
            total += 1
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                    await send()
            except Exception:  # a timeout or a refused connection: not completed
                continue
            if window_start <= time.perf_counter() < window_end:
                completed += 1

    cpu = _cpu()
    await asyncio.gather(*(worker(i * delay / clients) for i in range(clients)))
    used = _cpu() - cpu
    return {
        "in_flight_cpu_us": round(used / max(total, 1) * 1e6, 1),
        "in_flight_fraction": round(completed / IN_FLIGHT_SECONDS / (clients / delay), 3),
    }


async def _measure_all(
    send: Callable[[], Awaitable[None]], requests: int, headers: dict[str, str], extra: list[str]
) -> dict[str, float]:
    """Sequential cost; then, when `extra` names clients and a delay, the cost in flight."""
    result = await _measure(send, requests)
    if extra:
        clients, delay_ms = int(extra[0]), int(extra[1])
        # `send` reads `headers` on every call: from here on the emulator delays each answer.
        headers["cf-aig-metadata"] = json.dumps({"emulator_delay_ms": delay_ms})
        result |= await _in_flight(send, clients, delay_ms / 1000)
    return result


async def _httpx(
    module: str, url: str, requests: int, headers: dict[str, str], body: bytes, extra: list[str]
) -> Any:
    httpx: Any = __import__(module)
    base, _, path = url.rpartition("/")
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=500, keepalive_expiry=30)
    async with httpx.AsyncClient(
        base_url=base, limits=limits, follow_redirects=False, trust_env=False
    ) as client:

        async def send() -> None:
            request = client.build_request(
                "POST",
                "/" + path,
                content=body,
                headers=headers,
                timeout=httpx.Timeout(120, connect=10),
            )
            response = await client.send(request)
            response.content  # noqa: B018 - the body is read, as the gateway client reads it

        return await _measure_all(send, requests, headers, extra)


async def _relay(
    url: str, requests: int, headers: dict[str, str], body: bytes, extra: list[str]
) -> Any:
    """httpx requests on the function's own transport, sent as relay.transport sends them."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pools: Any = __import__("relay.transport", fromlist=["GatewayPool"])
    base, _, path = url.rpartition("/")
    pool = pools.GatewayPool(base)

    async def send() -> None:
        request = pool.request("POST", "/" + path, body, headers, timeout=120, connect=10)
        response = await pool.send(request)
        await response.aread()
        await response.aclose()

    try:
        return await _measure_all(send, requests, headers, extra)
    finally:
        await pool.aclose()


async def _aiohttp(
    url: str, requests: int, headers: dict[str, str], body: bytes, extra: list[str]
) -> Any:
    aiohttp: Any = __import__("aiohttp")
    connector = aiohttp.TCPConnector(limit=1000)
    async with aiohttp.ClientSession(connector=connector) as session:
        timeout = aiohttp.ClientTimeout(total=120, connect=10)

        async def send() -> None:
            async with session.post(url, data=body, headers=headers, timeout=timeout) as response:
                await response.read()

        return await _measure_all(send, requests, headers, extra)


def main(argv: list[str]) -> int:
    library, url, count, headers_json, body_file = argv[1:6]
    extra = argv[6:8]
    headers = json.loads(headers_json)
    with open(body_file, "rb") as file:
        body = file.read()
    requests = int(count)
    if library == "aiohttp":
        result = asyncio.run(_aiohttp(url, requests, headers, body, extra))
    elif library == "relay":
        result = asyncio.run(_relay(url, requests, headers, body, extra))
    else:
        result = asyncio.run(_httpx(library, url, requests, headers, body, extra))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
