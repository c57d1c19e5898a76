"""Plays one behaviour against one candidate, then checks the next request on the same client.

`verdict` answers None when the candidate got the row right, else what it did instead.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import replace

import httpx
import uvloop

from ._server import HostileServer
from .behaviours import Behaviour, Expect
from .candidates import Factory

__all__ = ["ROW_SECONDS", "play_row", "send", "verdict"]

READ_TIMEOUT = 2.0
# A row that takes longer than this has hung, whatever it would have answered.
ROW_SECONDS = 15.0


def request(url: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        url,
        content=b'{"prompt":"hi"}',
        headers={"host": "gateway.test", "accept-encoding": "identity"},
        extensions={"timeout": {"connect": 3.0, "read": READ_TIMEOUT, "pool": 3.0}},
    )


async def send(transport: httpx.AsyncBaseTransport, url: str) -> tuple[int, bytes]:
    """One request read whole, as the gateway client reads it."""
    response = await transport.handle_async_request(request(url))
    try:
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    finally:
        await response.aclose()
    return response.status_code, body


async def _own_answer(transport: httpx.AsyncBaseTransport, server: HostileServer) -> str | None:
    tag = uuid.uuid4().hex
    try:
        got = await send(transport, server.url(f"/ok/{tag}"))
    except Exception as exc:
        return f"the next request failed ({type(exc).__name__})"
    if got != (200, tag.encode()):
        return f"the next request was answered {got[0]} {got[1][:20]!r}, not its own answer"
    if server.count(f"/ok/{tag}") != 1:
        return f"the next request was sent {server.count(f'/ok/{tag}')} times"
    return None


async def _wait_until(probe: Callable[[], bool], seconds: float) -> bool:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        if probe():
            return True
        await asyncio.sleep(0.01)  # polling interval
    return False


async def _behaviour(
    transport: httpx.AsyncBaseTransport, server: HostileServer, url: str, expect: Expect
) -> str | None:
    kind = expect.kind
    if kind == "cancel_head":
        task = asyncio.ensure_future(send(transport, url))
        if not await _wait_until(lambda: server.count(url_path(url)) == 1, 3.0):
            return "the request never reached the server"
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.client_left.set()
        return None
    try:
        response = await transport.handle_async_request(request(url))
    except httpx.TimeoutException as exc:
        return f"timed out ({type(exc).__name__}) instead of refusing"
    except httpx.TransportError as exc:
        if kind == "refused":
            return None
        return f"refused the answer ({type(exc).__name__})"
    except Exception as exc:
        return f"raised {type(exc).__name__}, not an httpx error"
    if kind == "refused":
        await response.aclose()
        return f"took it as an answer ({response.status_code})"
    if response.status_code != expect.status:
        await response.aclose()
        return f"answered {response.status_code}, not {expect.status}"
    if kind in ("cancel_body", "leave_body"):
        return await _leave_body(response, server)
    try:
        if expect.body is None:
            body = b""  # the caller closes it unread
        else:
            body = b"".join([chunk async for chunk in response.aiter_raw()])
    except httpx.TimeoutException as exc:
        return f"the body timed out ({type(exc).__name__})"
    except httpx.TransportError as exc:
        if kind == "head_then_error":
            return None
        return f"the body failed ({type(exc).__name__})"
    except Exception as exc:
        return f"the body raised {type(exc).__name__}, not an httpx error"
    finally:
        await response.aclose()
    if kind == "head_then_error":
        return f"took a broken body for whole ({body[:20]!r})"
    if expect.body is not None and body != expect.body:
        return f"the body was {body[:20]!r}, not {expect.body[:20]!r}"
    return None


async def _leave_body(response: httpx.Response, server: HostileServer) -> str | None:
    """Read a first piece, then give up on the rest (the read is cancelled, then closed)."""
    first = asyncio.Event()

    async def read() -> None:
        try:
            async for _ in response.aiter_raw():
                first.set()
                await asyncio.Event().wait()  # a reader slower than the answer: never again
        finally:
            await response.aclose()

    await asyncio.sleep(0.1)  # a slow reader: the answer arrives before it reads
    task = asyncio.ensure_future(read())
    try:
        async with asyncio.timeout(3.0):
            await first.wait()
    except TimeoutError:
        return "no piece of the body arrived"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    server.client_left.set()
    return None


def url_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def whole_body(expect: Expect) -> Expect:
    """What `expect` means for a client that hands over only whole answers: a body that breaks
    is an answer refused; giving up in the body is giving up before the answer; an answer a
    caller would leave unread, or read a piece of, must arrive whole (`Expect.whole`)."""
    if expect.kind == "head_then_error":
        return replace(expect, kind="refused")
    if expect.kind == "cancel_body":
        return replace(expect, kind="cancel_head")
    if expect.kind == "leave_body":
        return replace(expect, kind="answer", body=expect.whole)
    if expect.body is None:
        return replace(expect, body=expect.whole)
    return expect


async def play_row(
    factory: Factory, behaviour: Behaviour, server: HostileServer, *, whole: bool = False
) -> str | None:
    transport = factory(None)
    expect = whole_body(behaviour.expect) if whole else behaviour.expect
    try:
        # A first request, so the behaviour meets a pooled (reused) connection.
        if (wrong := await _own_answer(transport, server)) is not None:
            return f"the warm-up failed: {wrong}"
        url = server.url(f"/b/{behaviour.name}")
        if (wrong := await _behaviour(transport, server, url, expect)) is not None:
            return wrong
        if expect.kind == "idle_close":
            # The server has closed the idle connection; give the client's loop a moment to
            # see the FIN, as it would between two calls.
            await asyncio.sleep(0.05)
        if expect.kind.startswith("cancel") and not await _wait_until(server.hung_up, 3.0):
            return "the abandoned connection was left open"
        if (count := server.count(url_path(url))) != 1:
            return f"the behaviour's request was sent {count} times"
        return await _own_answer(transport, server)
    finally:
        await transport.aclose()


def verdict(factory: Factory, behaviour: Behaviour, *, whole: bool = False) -> str | None:
    """Run one row on a fresh server and a fresh client, on uvloop (as the function runs);
    `whole` for a client that hands over only whole answers (`whole_body`)."""
    server = HostileServer({b.name: b.play for b in _all()})
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            row = play_row(factory, behaviour, server, whole=whole)
            return runner.run(asyncio.wait_for(row, ROW_SECONDS))
    except TimeoutError:
        return f"hung for more than {ROW_SECONDS:.0f} s"
    finally:
        server.close()


def _all() -> list[Behaviour]:
    from .behaviours import BEHAVIOURS

    return BEHAVIOURS
