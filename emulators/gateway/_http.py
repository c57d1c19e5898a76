"""A minimal HTTP/1.1 server connection: asyncio streams plus h11.

The gateway emulator uses this instead of an ASGI server because its fault steps need the raw
connection (close without answering, send a body a byte at a time, stall) and its stats count
TCP connections. h11 does the parsing and framing (keep-alive, chunked encoding, HTTP/1.0).
"""

from __future__ import annotations

import asyncio
import http
from dataclasses import dataclass

import h11

_READ_SIZE = 65536
_REASONS = {status.value: status.phrase.encode() for status in http.HTTPStatus}


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    target: str  # path and query, as sent
    path: str  # without the query
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


class HttpConnection:
    """One accepted TCP connection; requests are read and answered one at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._h11 = h11.Connection(h11.SERVER)

    async def read_request(self) -> Request | None:
        """The next request with its whole body, or None once the client has closed."""
        event = await self._next_event()
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
        chunks: list[bytes] = []
        while True:
            part = await self._next_event()
            if isinstance(part, h11.Data):
                chunks.append(bytes(part.data))
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                raise h11.RemoteProtocolError(f"unexpected {type(part).__name__}")
        headers: dict[str, str] = {}
        for raw_name, raw_value in event.headers:
            name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        target = event.target.decode("latin-1")
        return Request(
            method=event.method.decode("ascii"),
            target=target,
            path=target.partition("?")[0],
            headers=headers,
            body=b"".join(chunks),
        )

    async def _next_event(self) -> object:
        while True:
            event = self._h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self._h11.they_are_waiting_for_100_continue:
                self._write(h11.InformationalResponse(status_code=100, headers=[]))
            # b"" at end of file tells h11 the peer closed.
            self._h11.receive_data(await self._reader.read(_READ_SIZE))

    def _write(self, *events: h11.Event) -> None:
        data = b"".join(self._h11.send(event) or b"" for event in events)
        self._writer.write(data)

    async def respond(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        """A complete response with a Content-Length."""
        self._write(
            h11.Response(
                status_code=status,
                headers=[*headers, ("content-length", str(len(body)))],
                reason=_REASONS.get(status, b""),
            ),
            h11.Data(data=body),
            h11.EndOfMessage(),
        )
        await self._writer.drain()

    async def start(self, status: int, headers: list[tuple[str, str]]) -> None:
        """Send the status line and headers now; the body follows through ``send``.

        Without a content-length in ``headers`` the body is sent chunked (or close-delimited to an
        HTTP/1.0 client), one chunk per ``send``.
        """
        self._write(
            h11.Response(status_code=status, headers=headers, reason=_REASONS.get(status, b""))
        )
        await self._writer.drain()

    async def send(self, data: bytes) -> None:
        self._write(h11.Data(data=data))
        await self._writer.drain()

    async def finish(self) -> None:
        self._write(h11.EndOfMessage())
        await self._writer.drain()

    def next_cycle(self) -> bool:
        """Get ready for the next request on this connection; False if it must close instead."""
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
            return True
        return False

    @property
    def closing(self) -> bool:
        return self._writer.is_closing()

    async def wait_for_eof(self) -> None:
        """Return once the client closes its side (whatever it sends meanwhile is discarded)."""
        try:
            while await self._reader.read(_READ_SIZE):
                pass
        except ConnectionError:
            pass

    def close(self) -> None:
        self._writer.close()
