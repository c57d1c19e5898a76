"""relay/transport over real sockets: a scripted HTTP/1.1 server on 127.0.0.1 answers each
connection; the transport must keep httpx's semantics (exception types, keep-alive, bodies)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from relay.transport import BODY_HIGH_WATER_BYTES, MAX_HEAD_BYTES, HttpToolsTransport

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def answer(body: bytes, *, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n" % (len(body), extra) + body


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return head + await reader.readexactly(length)


class Server:
    """Runs `script` per connection; counts connections and keeps every request received."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self.port = 0

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/v1/chat"


def transport(context: ssl.SSLContext | None = None) -> HttpToolsTransport:
    return HttpToolsTransport(
        ssl_context=context or httpx.create_ssl_context(),
        max_connections=8,
        keepalive_expiry=30.0,
    )


def request(url: str, headers: dict[str, str] | None = None, read: float = 5.0) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        content=b'{"a":1}',
        headers=headers or {},
        extensions={"timeout": {"connect": 5.0, "read": read, "pool": 5.0}},
    )


async def fetch(pool: HttpToolsTransport, req: httpx.Request) -> tuple[httpx.Response, bytes]:
    response = await pool.handle_async_request(req)
    try:
        body = b"".join([chunk async for chunk in response.aiter_bytes()])
    finally:
        await response.aclose()
    return response, body


def run(work: Awaitable[Any]) -> Any:
    return asyncio.run(asyncio.wait_for(work, 30))


def test_keep_alive_reuses_one_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            server.requests.append(await read_request(reader))
            writer.write(answer(b'{"n":%d}' % len(server.requests)))

    server = Server(script)

    async def go() -> list[bytes]:
        async with server:
            pool = transport()
            bodies = [(await fetch(pool, request(server.url())))[1] for _ in range(3)]
            await pool.aclose()
            return bodies

    assert run(go()) == [b'{"n":1}', b'{"n":2}', b'{"n":3}']
    assert server.connections == 1
    first = server.requests[0]
    assert first.startswith(b"POST /v1/chat HTTP/1.1\r\n")
    assert b"\r\ncontent-length: 7\r\n" in first.lower() and first.endswith(b'{"a":1}')


def test_connection_close_is_not_reused() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"{}", extra=b"connection: close\r\n"))

    server = Server(script)

    async def go() -> None:
        async with server:
            pool = transport()
            for _ in range(2):
                await fetch(pool, request(server.url()))

    run(go())
    assert server.connections == 2


def test_a_large_body_arrives_whole_with_reading_paused_between() -> None:
    big = bytes(range(256)) * (4 * BODY_HIGH_WATER_BYTES // 256)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(big))
        await writer.drain()

    server = Server(script)

    async def go() -> bytes:
        async with server:
            response = await transport().handle_async_request(request(server.url()))
            body = await response.aread()
            await response.aclose()
            return body

    assert run(go()) == big


def test_a_body_without_length_ends_with_the_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nall of it")

    server = Server(script)

    async def go() -> tuple[httpx.Response, bytes]:
        async with server:
            return await fetch(transport(), request(server.url()))

    response, body = run(go())
    assert response.status_code == 200
    assert body == b"all of it"


def test_a_header_http_forbids_is_refused_before_anything_is_sent() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.requests.append(await read_request(reader))

    server = Server(script)

    async def go() -> None:
        async with server:
            bad = request(server.url(), {"x-meta": "a\r\nx-injected: 1"})
            await transport().handle_async_request(bad)

    with pytest.raises(httpx.LocalProtocolError):
        run(go())
    assert server.connections == 0


def test_refused_connection_is_a_connect_error() -> None:
    async def go() -> None:
        probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = probe.sockets[0].getsockname()[1]
        probe.close()
        await probe.wait_closed()
        await transport().handle_async_request(request(f"http://127.0.0.1:{port}/"))

    with pytest.raises(httpx.ConnectError):
        run(go())


def test_silence_is_a_read_timeout() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # says nothing until the client hangs up

    server = Server(script)

    async def go() -> None:
        async with server:
            await transport().handle_async_request(request(server.url(), read=0.2))

    with pytest.raises(httpx.ReadTimeout):
        run(go())


def test_a_body_cut_short_is_a_transport_error_and_the_connection_is_dropped() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        if server.connections == 1:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b")
            return  # closes mid-body
        writer.write(answer(b"fresh"))

    server = Server(script)

    async def go() -> bytes:
        async with server:
            pool = transport()
            with pytest.raises(httpx.RemoteProtocolError):
                await fetch(pool, request(server.url()))
            return (await fetch(pool, request(server.url())))[1]

    assert run(go()) == b"fresh"
    assert server.connections == 2


def test_a_malformed_answer_is_a_protocol_error() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 2x0 NOPE\r\n\r\n")

    server = Server(script)

    async def go() -> None:
        async with server:
            await transport().handle_async_request(request(server.url()))

    with pytest.raises(httpx.RemoteProtocolError):
        run(go())


def test_headers_without_end_are_cut_off() -> None:
    # A server that sends headers for ever is refused once MAX_HEAD_BYTES have come with no end.
    sent = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\n")
        while sent < 64 * MAX_HEAD_BYTES:
            line = b"x-pad: " + b"p" * 1000 + b"\r\n"
            writer.write(line)
            sent += len(line)
            await writer.drain()

    server = Server(script)

    async def go() -> None:
        async with server:
            await transport().handle_async_request(request(server.url()))

    with pytest.raises(httpx.RemoteProtocolError, match="headers are too large"):
        run(go())
    assert sent < 64 * MAX_HEAD_BYTES  # cut off long before the server was done


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (trusted by nobody unless told)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_server(certificate: tuple[Path, Path]) -> Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*certificate)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"secure"))

    return Server(script, tls=context)


def test_tls_verifies_the_certificate(certificate: tuple[Path, Path]) -> None:
    server = tls_server(certificate)

    async def go() -> None:
        async with server:
            await transport().handle_async_request(request(server.url("https")))

    with pytest.raises(httpx.ConnectError):
        run(go())


# About 20 s on its own on a 2-core machine.
@pytest.mark.slow
def test_tls_with_a_trusted_certificate(certificate: tuple[Path, Path]) -> None:
    server = tls_server(certificate)
    trusting = ssl.create_default_context(cafile=str(certificate[0]))

    async def go() -> bytes:
        async with server:
            return (await fetch(transport(trusting), request(server.url("https"))))[1]

    assert run(go()) == b"secure"
