"""The gateway client's rules on the chosen transport, over raw sockets: a 2xx is never sent
twice, a connection that drops after the request went out is not retried, and an answer too
absurd to price is an upstream_error."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from relay import Relay, Settings

from ._server import HostileServer, Peer, Play, ok_answer

ANSWER = {
    "id": "chatcmpl-1",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
}


def _broken_200(peer: Peer, request: bytes) -> bool:
    peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nnot-hex\r\n")
    return False


def _drop(peer: Peer, request: bytes) -> bool:
    return False  # the whole request was read; no answer, the connection closed


def _huge_usage(peer: Peer, request: bytes) -> bool:
    usage = {"prompt_tokens": 10**30, "completion_tokens": 10**30, "total_tokens": 2 * 10**30}
    return peer.send(ok_answer(json.dumps({**ANSWER, "usage": usage}).encode()))


PLAYS: dict[str, Play] = {"broken_200": _broken_200, "drop": _drop, "huge_usage": _huge_usage}


def ask(server: HostileServer, play: str) -> dict[str, Any]:
    env = {
        "AIG_BASE_URL": server.url(f"/b/{play}"),
        "DEFAULT_API": "chat",
        "AIG_TOKEN": "env-token-123",
        "MAX_RETRIES": "2",
        "UPSTREAM_TIMEOUT_SECONDS": "10",
    }
    relay = Relay(Settings.from_env(env))

    async def go() -> dict[str, Any]:
        try:
            answer = await relay.answer(json.dumps({"prompt": "hi"}).encode())
        finally:
            await relay.aclose()
        assert answer.status == 502, answer.body
        return answer.body

    return asyncio.run(go())


def test_a_2xx_head_with_broken_framing_is_sent_once() -> None:
    server = HostileServer(PLAYS)
    try:
        body = ask(server, "broken_200")
    finally:
        server.close()
    assert body["error"]["type"] == "upstream_error"
    # Read as a 2xx whose body broke (the head came first), not as a connection that failed.
    assert "broke off" in body["error"]["message"]
    assert "not sent again" not in body["error"]["message"]
    assert server.count("/b/broken_200/chat/completions") == 1


def test_a_drop_after_the_request_was_sent_is_not_retried() -> None:
    server = HostileServer(PLAYS)
    try:
        body = ask(server, "drop")
    finally:
        server.close()
    error = body["error"]
    assert error["type"] == "upstream_error"
    assert "not sent again" in error["message"]
    assert server.count("/b/drop/chat/completions") == 1


def test_usage_too_large_to_price_is_an_upstream_error() -> None:
    server = HostileServer(PLAYS)
    try:
        body = ask(server, "huge_usage")
    finally:
        server.close()
    assert body["error"]["type"] == "upstream_error"
    assert "input_tokens" in body["error"]["message"]
    assert server.count("/b/huge_usage/chat/completions") == 1
