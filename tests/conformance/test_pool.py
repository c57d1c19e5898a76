"""The pool (relay.transport.OriginPool) on the chosen transport, over raw sockets: what it
sends, by `send` and by `fetch`, and that a compressed answer reaches the caller as the bytes
that came."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import pytest

from relay.transport import OriginPool

from ._server import HostileServer, Peer, Play

COMPRESSED = gzip.compress(b'{"a": "' + b"x" * 100_000 + b'"}')
seen: list[bytes] = []


def _gzip(peer: Peer, request: bytes) -> bool:
    seen.append(request)
    head = b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n"
    return peer.send(head % len(COMPRESSED) + COMPRESSED)


def _echo(peer: Peer, request: bytes) -> bool:
    seen.append(request)
    return peer.send(b"HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\nmade")


PLAYS: dict[str, Play] = {"gzip": _gzip, "echo": _echo}


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


def test_fetch_sends_what_send_would_and_reads_the_whole_answer() -> None:
    """`fetch` (no httpx Request or Response) puts the path under the base URL's, sends host,
    the default headers, the caller's and a length, and answers (status, whole body); more calls
    than the pool has connections all go out, one after another on one kept connection."""
    server = HostileServer(PLAYS)
    pool = OriginPool(server.url("/b"), max_connections=2)

    async def go() -> list[tuple[int, bytes]]:
        try:
            return [
                await pool.fetch(
                    "POST", "echo/o%20n?x=1", b"{}", {"x-k": "v"}, timeout=5.0, connect=5.0
                )
                for _ in range(5)
            ]
        finally:
            await pool.aclose()

    try:
        answers = asyncio.run(go())
    finally:
        server.close()
    assert answers == [(201, b"made")] * 5
    assert server.connections == 1
    head, _, body = seen[-1].partition(b"\r\n\r\n")
    lines = head.lower().split(b"\r\n")
    assert lines[0] == b"post /b/echo/o%20n?x=1 http/1.1"
    port = server.url("/").split(":")[2].split("/")[0]
    for line in (b"host: 127.0.0.1:" + port.encode(), b"accept-encoding: identity", b"x-k: v"):
        assert line in lines
    assert (b"content-length: 2", body) == (lines[-1], b"{}")
    assert server.count("/b/echo/o%20n?x=1") == 5


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("echo bad", {}),
        ("echo\r\nx: y", {}),
        ("echo", {"x-k": "a\r\nb"}),
        ("\u00e9cho", {}),
        ("echo", {"x-k": "\u00e9"}),
    ],
)
def test_fetch_refuses_what_http_forbids_before_sending(path: str, headers: dict[str, str]) -> None:
    server = HostileServer(PLAYS)
    pool = OriginPool(server.url("/b"))

    async def go() -> None:
        try:
            await pool.fetch("GET", path, b"", headers, timeout=5.0, connect=5.0)
        finally:
            await pool.aclose()

    try:
        with pytest.raises(httpx.LocalProtocolError):
            asyncio.run(go())
    finally:
        server.close()
    assert server.paths == []


def test_fetch_sends_one_host_header_the_callers_if_given() -> None:
    server = HostileServer(PLAYS)
    pool = OriginPool(server.url("/b"))

    async def go() -> tuple[int, bytes]:
        try:
            headers = {"Host": "storage.test"}
            return await pool.fetch("GET", "echo/h", b"", headers, timeout=5.0, connect=5.0)
        finally:
            await pool.aclose()

    try:
        assert asyncio.run(go()) == (201, b"made")
    finally:
        server.close()
    lines = seen[-1].split(b"\r\n\r\n")[0].lower().split(b"\r\n")
    assert [line for line in lines if line.startswith(b"host:")] == [b"host: storage.test"]
