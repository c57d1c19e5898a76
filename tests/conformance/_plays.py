"""The server side of each behaviour in behaviours.py: raw bytes, pauses and hang-ups."""

from __future__ import annotations

import time

from ._server import Peer, Play, ok_answer

__all__ = [
    "big_head",
    "big_then_leave",
    "chunked",
    "cut_body_then_rest",
    "drip",
    "endless_stream",
    "endless_trailer",
    "huge_head",
    "huge_trailers",
    "idle_close",
    "interim_then_late",
    "late_answer",
    "then_close",
    "then_keep",
]


def then_close(data: bytes) -> Play:
    def play(peer: Peer, request: bytes) -> bool:
        peer.send(data)
        return False

    return play


def then_keep(data: bytes) -> Play:
    def play(peer: Peer, request: bytes) -> bool:
        return peer.send(data)

    return play


def interim_then_late(peer: Peer, request: bytes) -> bool:
    # The final answer comes later: a client that took the 103 as final has already sent the
    # next request on this connection by then, and gets this answer for it.
    peer.send(b"HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n")
    peer.readable(0.3)
    return peer.send(ok_answer(b"A"))


def drip(peer: Peer, request: bytes) -> bool:
    for byte in ok_answer(b"dripped"):
        if not peer.send(bytes([byte])):
            return False
        time.sleep(0.003)  # the behaviour itself: one byte every 3 ms
    return True


def huge_head(peer: Peer, request: bytes) -> bool:
    peer.send(b"HTTP/1.1 200 OK\r\n")
    for _ in range(200):  # 200 KiB of headers, then the end
        if not peer.send(b"x-pad: " + b"p" * 1017 + b"\r\n"):
            return False
    return peer.send(b"content-length: 0\r\n\r\n")


def big_head(peer: Peer, request: bytes) -> bool:
    # 56 KiB of headers in pieces: under the 64 KiB limit, so an answer.
    peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n")
    for _ in range(56):
        if not peer.send(b"x-pad: " + b"p" * 1015 + b"\r\n"):
            return False
    return peer.send(b"\r\nbig")


def chunked(body: bytes, trailer: bytes = b"") -> bytes:
    head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
    return head + b"%x\r\n%s\r\n0\r\n%s\r\n" % (len(body), body, trailer)


def huge_trailers(peer: Peer, request: bytes) -> bool:
    peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n")
    line = b"x-t: " + b"t" * 1000 + b"\r\n"
    for _ in range(4096):  # 4 MiB of trailers
        if not peer.send(line * 16):
            return False
    return peer.send(b"\r\n")


def endless_trailer(peer: Peer, request: bytes) -> bool:
    peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nx-t: ")
    for _ in range(256):  # 16 MiB of one value that never ends
        if not peer.send(b"v" * 65536):
            return False
    peer.wait_hang_up(5.0)
    return False


def late_answer(peer: Peer, request: bytes) -> bool:
    # Nothing until the caller has given up; then the answer, for whoever is listening.
    peer.server.client_left.wait(5.0)
    peer.wait_hang_up(0.2)
    peer.send(ok_answer(b"late"))
    return True


def cut_body_then_rest(peer: Peer, request: bytes) -> bool:
    peer.send(b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\nfirst ten.")
    peer.server.client_left.wait(5.0)
    peer.wait_hang_up(0.2)
    return peer.send(b"late rest.")


def endless_stream(peer: Peer, request: bytes) -> bool:
    peer.send(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
    until = time.monotonic() + 5.0
    while time.monotonic() < until and not peer.server.client_left.is_set():
        if not peer.send(b"d\r\ndata: tick\n\n\r\n"):
            return False
        time.sleep(0.01)  # the behaviour itself: an event every 10 ms
    peer.wait_hang_up(0.2)
    return peer.send(b"d\r\ndata: late\n\n\r\n")


def big_then_leave(peer: Peer, request: bytes) -> bool:
    # 257 KiB in one go: past a 256 KiB backlog the client's reading may pause with the answer
    # already whole; its caller reads a piece and leaves: the connection must not come back
    # to the pool paused.
    return peer.send(ok_answer(b"b" * (257 * 1024)))


def idle_close(peer: Peer, request: bytes) -> bool:
    peer.send(ok_answer(b"then idle"))
    return False  # closed while idle in the client's pool, without saying so in advance
