"""TLS on the chosen transport: the certificate is verified, and the host name goes out as SNI.
A throwaway CA (trustme) signs the server's certificate for `localhost`."""

from __future__ import annotations

import asyncio
import socket
import ssl

import httpx
import pytest
import trustme

from ._server import HostileServer
from .candidates import CANDIDATES, CHOSEN
from .runner import send


class TlsServer(HostileServer):
    def __init__(self, context: ssl.SSLContext) -> None:
        self.names: list[str | None] = []
        context.sni_callback = lambda sock, name, ctx: self.names.append(name)
        self.context = context
        super().__init__({})

    def wrap(self, sock: socket.socket) -> socket.socket:
        return self.context.wrap_socket(sock, server_side=True)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def serve(ca: trustme.CA) -> TlsServer:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return TlsServer(context)


def fetch(server: TlsServer, trusted: ssl.SSLContext | None) -> tuple[int, bytes]:
    transport = CANDIDATES[CHOSEN](trusted)

    async def go() -> tuple[int, bytes]:
        try:
            return await send(transport, server.url("/ok/secure", "https", "localhost"))
        finally:
            await transport.aclose()

    return asyncio.run(go())


def test_a_trusted_certificate_is_accepted_and_sni_names_the_host(ca: trustme.CA) -> None:
    server = serve(ca)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    try:
        assert fetch(server, trusting) == (200, b"secure")
    finally:
        server.close()
    assert server.names and set(server.names) == {"localhost"}


def test_an_untrusted_certificate_is_refused(ca: trustme.CA) -> None:
    server = serve(ca)
    try:
        with pytest.raises(httpx.ConnectError):
            fetch(server, None)  # the system's CAs do not know this one
    finally:
        server.close()
    assert server.count("/ok/secure") == 0
