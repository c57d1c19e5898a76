"""The gateway pool (relay.transport.OriginPool) on the chosen transport, over raw sockets:
what it sends, and that a compressed answer reaches the caller as the bytes that came."""

from __future__ import annotations

import asyncio
import gzip

from relay.transport import OriginPool

from ._server import HostileServer, Peer, Play

COMPRESSED = gzip.compress(b'{"a": "' + b"x" * 100_000 + b'"}')
seen: list[bytes] = []


def _gzip(peer: Peer, request: bytes) -> bool:
    seen.append(request)
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n"
    return peer.send(head % len(COMPRESSED) + COMPRESSED)


PLAYS: dict[str, Play] = {"gzip": _gzip}


def test_a_compressed_answer_is_passed_on_unpacked_never() -> None:
    server = HostileServer(PLAYS)
    pool = OriginPool(server.url("/b/gzip"))

    async def go() -> tuple[int, bytes, str | None]:
        try:
            request = pool.request("POST", "chat", b"{}", {}, timeout=5.0, connect=5.0)
            response = await pool.send(request)
            body = await response.aread()
            await response.aclose()
            return response.status_code, body, response.headers.get("content-encoding")
        finally:
            await pool.aclose()

    try:
        status, body, encoding = asyncio.run(go())
    finally:
        server.close()
    assert (status, body, encoding) == (200, COMPRESSED, None)
    head = seen[-1].split(b"\r\n\r\n")[0].lower()
    assert b"\r\naccept-encoding: identity\r\n" in head
    assert head.startswith(b"post /b/gzip/chat http/1.1\r\n")
