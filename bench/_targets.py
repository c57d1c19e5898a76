"""The servers under test, started once and shared by overhead, streaming and in flight.

Direct to the emulator (the baseline), the function, and a hello-world aio function (the
serving stack alone, no upstream call: the floor of any function's overhead).
"""

from __future__ import annotations

import msgspec

from bench._procs import poll_until_answers
from bench._suite import PROMPT, PROMPT_BODY, Bench, Target, raw_request, upstream_copy

__all__ = ["start_targets"]


def start_targets(bench: Bench) -> list[Target]:
    """Start every target (each kept until the run ends) and warm it with one answer."""
    stream_body = msgspec.json.encode({"prompt": PROMPT, "api": "chat", "stream": True})
    function = bench.keep(bench.start_function("function", secrets="env"))
    poll_until_answers(function, body=PROMPT_BODY)
    bench.upstream_request = bench.gateway.requests[-1]
    direct = upstream_copy(bench.gateway)
    poll_until_answers(function, body=stream_body)
    direct_stream = upstream_copy(bench.gateway)
    bench.memory("function", "idle (after 1 answer)", function)
    hello = bench.keep(bench.start_hello("hello-aio", "aio_main.py"))
    poll_until_answers(hello, body=PROMPT_BODY)
    bench.memory("hello_aio", "idle (after 1 answer)", hello)
    return [
        Target(
            "direct",
            "direct to the emulator (baseline)",
            bench.gateway.port,
            direct,
            b'"choices"',
            None,
            direct_stream,
            b"[DONE]",
            in_flight=True,
        ),
        Target(
            "function",
            "through the function",
            function.port,
            raw_request("/", PROMPT_BODY),
            b'"ok":true',
            function,
            raw_request("/", stream_body),
            b"event: result",
            in_flight=True,
            fresh=lambda: bench.warm_function("function-run", {}),
        ),
        Target(
            "hello_aio",
            "hello-world aio function (no upstream call)",
            hello.port,
            raw_request("/", PROMPT_BODY),
            b'"ok":true',
            hello,
        ),
    ]
