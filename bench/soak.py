"""Soak: 10,000 requests mixing successes, every fault and a hostile upstream.

    .venv/bin/python -m bench.soak [--requests 10000] [--concurrency 64]

Reports requests lost (no contract answer at all: must be 0), `internal` errors (must be 0), the
answers by outcome, and the resident memory of the function's process tree after warm-up and at
the end (growth must stay under 10 %). A share of the requests goes to a second function process
whose upstream is hostile (tests/support/hostile.py: it echoes our credentials back in every field
it can, stalls for callers that hang up): no piece of a credential (8 characters) may come out in an
answer or a log line. Exits non-zero when a goal is missed. Everything runs on 127.0.0.1: the
emulators in this process, the functions as `functions-framework --target=prompt`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import httpx

from bench._procs import tree_memory_kib
from emulators.stack import Credentials, function_env
from relay.streaming import SSEParser
from tests.support.contract import ERROR_KEYS, RESULT_KEYS
from tests.support.hostile import HostileUpstream
from tests.support.servers import FunctionServer

CREDENTIALS = Credentials(
    name="soak", token="soak-gateway-token-1234", openai_key="sk-soak-openai-key-5678"
)
WARMUP_REQUESTS = 300
MAX_MEMORY_GROWTH = 0.10
# A run of this many characters of a credential counts as a leak.
PIECE_CHARS = 8
# Hostile modes (tests/support/hostile.py); "hangup" stalls upstream while the caller leaves early.
HOSTILE = ["echo_code", "echo_code_401", "echo_code_500", "echo_internal", "padded", "echo_200"]
HOSTILE_STREAMS = ["sse_error", "sse_split"]
HANG_UP_AFTER_SECONDS = 0.3

# The mix: (weight, name, body maker). Faults come from the gateway emulator's scripts.
FAULTS = [
    "429@ram=20,ok",
    "429q",
    "500",
    "503,ok",
    "gw401",
    "401",
    "400",
    "drop,ok",
    "drop",
    "stall",
    "notjson",
    "badjson",
    "trickle",
    "gw429",
    "502@xsr=false",
    "404",
]


def _body(kind: str, index: int) -> tuple[dict[str, Any] | bytes, dict[str, str]]:
    """A request of `kind`: (JSON body or raw bytes, extra headers)."""
    nonce = f"soak-{index}"
    if kind == "responses":
        return {"prompt": f"hello {index}", "metadata": {"nonce": nonce}}, {}
    if kind == "chat":
        return {"api": "chat", "messages": [{"role": "user", "content": f"hi {index}"}]}, {}
    if kind == "stream":
        return {
            "prompt": f"stream {index}",
            "stream": True,
            "api": random.choice(["chat", "responses"]),
        }, {}
    if kind == "batch":
        return {"requests": [{"prompt": "a"}, {"promt": "b"}, {"prompt": "c", "api": "chat"}]}, {}
    if kind == "invalid":
        return random.choice([b"{not json", b"[]", b'{"promt": "x"}', b'{"prompt": ""}']), {}
    if kind == "too_large":
        return json.dumps({"prompt": "x" * 70_000}).encode(), {}
    if kind == "scheduler":
        return {"prompt": "job"}, {
            "X-CloudScheduler-JobName": f"job-{index % 7}",
            "Authorization": "Bearer oidc",
        }
    if kind.startswith("hostile:"):
        mode = kind.removeprefix("hostile:")
        body: dict[str, Any] = {"prompt": "x", "api": "chat", "metadata": {"hostile": mode}}
        if mode == "echo_200":
            body["include_raw"] = True
        if mode in HOSTILE_STREAMS:
            body["stream"] = True
        if mode == "hangup":
            body["metadata"]["hostile"] = "stall"
        return body, {}
    fault = kind.removeprefix("fault:")
    return {"prompt": "fault", "metadata": {"emulator_fault": fault, "nonce": nonce}}, {}


KINDS = (
    ["responses"] * 30
    + ["chat"] * 20
    + ["stream"] * 8
    + ["batch"] * 3
    + ["invalid"] * 5
    + ["too_large"] * 2
    + ["scheduler"] * 4
    + [f"fault:{f}" for f in FAULTS] * 2
    + [f"hostile:{mode}" for mode in [*HOSTILE, *HOSTILE_STREAMS, "hangup"]]
)


def _pieces(*secrets: str) -> set[str]:
    return {s[i : i + PIECE_CHARS] for s in secrets for i in range(len(s) - PIECE_CHARS + 1)}


PIECES = _pieces(CREDENTIALS.token, CREDENTIALS.openai_key)


def _leaks(text: str) -> bool:
    return any(piece in text for piece in PIECES)


def _check(status: int, content_type: str, text: str) -> str:
    """The outcome of one answer: 'ok', an error type, or 'lost' when it is no contract answer."""
    if content_type.startswith("text/event-stream"):
        events = SSEParser().feed(text.encode())
        if not events or events[-1].name not in ("result", "error"):
            return "lost"
        return _check(
            200 if events[-1].name == "result" else 502, "application/json", events[-1].data
        )
    try:
        body = json.loads(text)
    except ValueError:
        return "lost"
    if "results" in body:
        outcomes = [_check(200, "application/json", json.dumps(item)) for item in body["results"]]
        return "lost" if "lost" in outcomes else ("internal" if "internal" in outcomes else "ok")
    if body.get("ok") is True and set(body) >= RESULT_KEYS:
        return "ok"
    if body.get("ok") is False and set(body.get("error", {})) == ERROR_KEYS:
        return str(body["error"]["type"])
    return "lost"


LOST_SAMPLES: list[str] = []
BY_KIND: Counter[tuple[str, str]] = Counter()


async def _drive(urls: tuple[str, str], total: int, concurrency: int, start: int) -> Counter[str]:
    """Send `total` requests: hostile kinds to urls[1], the rest to urls[0]."""
    outcomes: Counter[str] = Counter()
    counter = itertools.count(start)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker() -> None:
            while (index := next(counter)) < start + total:
                kind = random.choice(KINDS)
                body, headers = _body(kind, index)
                content = body if isinstance(body, bytes) else json.dumps(body).encode()
                hang_up = kind == "hostile:hangup"
                try:
                    response = await client.post(
                        urls[kind.startswith("hostile:")],
                        content=content,
                        headers={"content-type": "application/json", **headers},
                        timeout=HANG_UP_AFTER_SECONDS if hang_up else 60,
                    )
                    outcome = _check(
                        response.status_code,
                        response.headers.get("content-type", ""),
                        response.text,
                    )
                    if _leaks(response.text):
                        outcome = "secret_out"
                    sample = f"{kind}: {response.status_code} {response.text[:300]!r}"
                except httpx.TimeoutException as exc:
                    outcome, sample = "hung_up" if hang_up else "lost", f"{kind}: {exc!r}"
                except httpx.HTTPError as exc:
                    outcome, sample = "lost", f"{kind}: {type(exc).__name__} {exc}"
                outcomes[outcome] += 1
                BY_KIND[kind, outcome] += 1
                if outcome in ("lost", "internal", "secret_out"):
                    LOST_SAMPLES.append(sample)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


def main() -> int:
    """Run the soak and print its report; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    random.seed(20261125)

    with (
        tempfile.TemporaryDirectory() as tmp,
        CREDENTIALS.secret_manager() as secrets,
        CREDENTIALS.gateway(max_recorded=1000) as gateway,
    ):
        env = function_env(CREDENTIALS, gateway=gateway, secret_manager=secrets) | {
            "SECRET_CACHE_TTL_SECONDS": "5",
            "UPSTREAM_TIMEOUT_SECONDS": "2",
            "MAX_BODY_BYTES": "65536",
        }
        server = FunctionServer("prompt", env, Path(tmp) / "function.log")
        hostile = HostileUpstream()
        hostile.start()
        victim = FunctionServer(
            "prompt", env | {"AIG_BASE_URL": hostile.base_url}, Path(tmp) / "victim.log"
        )
        urls = (server.url, victim.url)
        try:
            started = time.monotonic()
            warm = asyncio.run(_drive(urls, WARMUP_REQUESTS, args.concurrency, 0))
            rss_before = tree_memory_kib(server.process.pid)[0]
            BY_KIND.clear()  # the report covers the measured run only
            LOST_SAMPLES.clear()
            # Half-way through, Secret Manager goes down for a while: stale values must carry on.
            secrets.set_fault(None, grpc.StatusCode.UNAVAILABLE, times=200)
            outcomes = asyncio.run(_drive(urls, args.requests, args.concurrency, WARMUP_REQUESTS))
            rss_after = tree_memory_kib(server.process.pid)[0]
            elapsed = time.monotonic() - started
            log_text = server.log_path.read_text(errors="replace")
            log_text += victim.log_path.read_text(errors="replace")
        finally:
            server.stop()
            victim.stop()
            hostile.stop()

    lost, internal = outcomes["lost"], outcomes["internal"]
    growth = (rss_after - rss_before) / rss_before
    leaked = _leaks(log_text)
    secret_out = outcomes["secret_out"]
    print(
        f"\nSoak: {args.requests} requests at {args.concurrency} concurrent clients, "
        f"{elapsed:.1f} s, {os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    print(f"(warm-up {sum(warm.values())} requests first, not counted)\n")
    print("| measure | value | goal |\n|---|---|---|")
    print(f"| requests answered | {sum(outcomes.values()) - lost} of {args.requests} | all |")
    print(f"| requests lost (no contract answer) | {lost} | 0 |")
    print(f"| `internal` errors | {internal} | 0 |")
    print(f"| function RSS after warm-up | {rss_before / 1024:.1f} MiB | |")
    print(f"| function RSS at the end | {rss_after / 1024:.1f} MiB | |")
    print(f"| RSS growth | {growth:+.1%} | < +10% |")
    print(f"| answers carrying a piece of a credential | {secret_out} | 0 |")
    found = "FOUND" if leaked else "none"
    print(f"| pieces of a credential in the functions' logs | {found} | none |")
    print("\n| outcome | answers |\n|---|---|")
    for outcome, count in sorted(outcomes.items(), key=lambda item: -item[1]):
        print(f"| {outcome} | {count} |")
    print("\n| request kind | outcome | answers |\n|---|---|---|")
    for (kind, outcome), count in sorted(BY_KIND.items()):
        print(f"| {kind} | {outcome} | {count} |")
    for sample in LOST_SAMPLES[:10]:
        print(f"\nlost, internal or secret out: {sample}")
    missed = lost or internal or secret_out or growth >= MAX_MEMORY_GROWTH or leaked
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
