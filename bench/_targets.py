"""The servers under test, started once and shared by overhead, streaming and in flight.

Direct to the emulator (the baseline), the function, the function on the experimental stacks
(bench/_venvs.py), a hello-world aio function, and LiteLLM's proxy as a peer.
"""

from __future__ import annotations

import functools
import os

import msgspec

from bench import _litellm
from bench._procs import Server, poll_until_answers
from bench._suite import CREDENTIALS, PROMPT, PROMPT_BODY, Bench, Target, raw_request, upstream_copy

__all__ = ["start_targets"]


def start_targets(bench: Bench) -> list[Target]:
    """Start every target (each kept until the run ends) and warm it with one answer."""
    function_body = PROMPT_BODY
    stream_body = msgspec.json.encode({"prompt": PROMPT, "api": "chat", "stream": True})
    function = bench.keep(bench.start_function("function", secrets="env"))
    poll_until_answers(function, body=function_body)
    bench.upstream_request = bench.gateway.requests[-1]
    direct = upstream_copy(bench.gateway)
    poll_until_answers(function, body=stream_body)
    direct_stream = upstream_copy(bench.gateway)
    bench.memory("function", "idle (after 1 answer)", function)
    targets = [
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
            raw_request("/", function_body),
            b'"ok":true',
            function,
            raw_request("/", stream_body),
            b"event: result",
            in_flight=True,
            fresh=lambda: bench.warm_function("function-run", {}),
        ),
    ]
    experiments = [
        ("function_httpx2", "function on httpx2 (experiment)", [bench.httpx2], False),
        (
            "function_httpx2_speedups",
            "function on httpx2 + uvloop/httptools (experiment)",
            [bench.httpx2, bench.speedups],
            True,
        ),
    ]
    for key, label, paths, in_flight in experiments:
        if any(path is None for path in paths):
            bench.skipped[key] = "; ".join(
                bench.notes[name] for name in ("httpx2", "speedups") if bench.notes.get(name)
            )
            continue
        extra = {"PYTHONPATH": os.pathsep.join(str(path) for path in paths)}
        server = bench.keep(bench.warm_function(key.replace("_", "-"), extra))
        targets.append(
            Target(
                key,
                label,
                server.port,
                raw_request("/", function_body),
                b'"ok":true',
                server,
                in_flight=in_flight,
                fresh=functools.partial(bench.warm_function, key.replace("_", "-") + "-run", extra),
            )
        )
    hello = bench.keep(bench.start_hello("hello-aio", "aio_main.py"))
    poll_until_answers(hello, body=function_body)
    bench.memory("hello_aio", "idle (after 1 answer)", hello)
    targets.append(
        Target(
            "hello_aio",
            "hello-world aio function (no upstream call)",
            hello.port,
            raw_request("/", function_body),
            b'"ok":true',
            hello,
        )
    )
    litellm = _start_litellm(bench)
    if litellm is not None:
        auth = {"authorization": f"Bearer {_litellm.MASTER_KEY}"}
        targets.append(
            Target(
                "litellm",
                f"LiteLLM proxy {_litellm.LITELLM_VERSION} (reference)",
                litellm.port,
                raw_request("/v1/chat/completions", _litellm.chat_body(PROMPT), auth),
                b'"choices"',
                litellm,
                raw_request("/v1/chat/completions", _litellm.chat_body(PROMPT, stream=True), auth),
                b"[DONE]",
                in_flight=True,
            )
        )
        bench.memory("litellm", "idle (after 1 answer)", litellm)
    return targets


def _start_litellm(bench: Bench) -> Server | None:
    if not bench.use_litellm:
        bench.skipped["litellm"] = "--no-litellm"
        return None
    exe, note = _litellm.ensure_installed(bench.logs)
    bench.notes["litellm"] = note
    if exe is None:
        bench.skipped["litellm"] = note
        return None
    try:
        server, took = _litellm.start_litellm(
            exe,
            api_base=CREDENTIALS.base_url(bench.gateway),
            token=CREDENTIALS.token,
            openai_key=CREDENTIALS.openai_key,
            work_dir=bench.logs / "litellm",
            cpus=bench.cpus,
        )
    except Exception as exc:
        bench.skipped["litellm"] = f"did not start: {exc}"[:300]
        return None
    bench.notes["litellm"] = f"{note}; spawn to first answer {took:.1f} s"
    return bench.keep(server)
