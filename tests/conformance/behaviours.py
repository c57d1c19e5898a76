"""The conformance table: server behaviours, what a correct gateway client does with each, and
the candidates known to get a row wrong.

`BEHAVIOURS` is read by test_conformance.py (one test per behaviour and candidate) and by
`python -m bench.clients` (the same table with each candidate's cost). A row is correct when
the behaviour's request ends as `expect` says AND the next request on the same client gets its
own answer, sent once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import _plays as plays
from ._server import Play, ok_answer

__all__ = ["BEHAVIOURS", "KNOWN_WRONG", "Behaviour", "Expect"]

Kind = Literal[
    "answer", "refused", "head_then_error", "cancel_head", "cancel_body", "leave_body", "idle_close"
]


@dataclass(frozen=True, slots=True)
class Expect:
    """answer: this status and body. refused: a transport error (not a timeout). head_then_error:
    this status, then reading the body fails. cancel_*: the caller gives up at that stage, and the
    connection is closed. leave_body: the caller reads a piece and leaves (the connection may be
    kept if the answer had arrived whole). idle_close: this answer, then the server closes the
    idle connection."""

    kind: Kind
    status: int = 200
    body: bytes | None = b""  # None: the caller closes the answer without reading it
    # What a client that hands over only whole answers must get instead, when `body` is not
    # read whole (None, or leave_body): runner.whole_body.
    whole: bytes | None = None


@dataclass(frozen=True, slots=True)
class Behaviour:
    name: str
    says: str
    play: Play
    expect: Expect


_OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"

BEHAVIOURS: list[Behaviour] = [
    Behaviour(
        "interim_100",
        "100 Continue, then the answer",
        plays.then_keep(b"HTTP/1.1 100 Continue\r\n\r\n" + _OK),
        Expect("answer", 200, b"ok"),
    ),
    Behaviour(
        "interim_103",
        "103 Early Hints with a header, then the answer",
        plays.then_keep(b"HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n" + _OK),
        Expect("answer", 200, b"ok"),
    ),
    Behaviour(
        "interim_several",
        "100, 103, 103, then the answer",
        plays.then_keep(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: <a>\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nlink: <b>\r\n\r\n" + _OK
        ),
        Expect("answer", 200, b"ok"),
    ),
    Behaviour(
        "interim_then_late_answer",
        "103 alone; the answer 0.3 s later",
        plays.interim_then_late,
        Expect("answer", 200, b"A"),
    ),
    Behaviour(
        "switching_101",
        "101 Switching Protocols nobody asked for, then bytes",
        plays.then_close(
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\nzz"
        ),
        Expect("refused"),
    ),
    Behaviour(
        "status_204",
        "204, no body",
        plays.then_keep(b"HTTP/1.1 204 No Content\r\n\r\n"),
        Expect("answer", 204),
    ),
    Behaviour(
        "status_204_with_body",
        "204 with a content-length and a body",
        plays.then_keep(b"HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\nextra"),
        Expect("answer", 204),
    ),
    Behaviour(
        "status_304",
        "304, no body",
        plays.then_keep(b"HTTP/1.1 304 Not Modified\r\n\r\n"),
        Expect("answer", 304),
    ),
    Behaviour(
        "status_304_with_body",
        "304 with a content-length and a body",
        plays.then_keep(b"HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\nextra"),
        Expect("answer", 304),
    ),
    Behaviour(
        "chunk_extensions",
        "chunked, with chunk extensions",
        plays.then_keep(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b'3;name=value\r\nabc\r\n2;a="q"\r\nde\r\n0;end\r\n\r\n'
        ),
        Expect("answer", 200, b"abcde"),
    ),
    Behaviour(
        "trailers_small",
        "chunked with two small trailers",
        plays.then_keep(plays.chunked(b"tr", b"x-a: 1\r\nx-b: 2\r\n")),
        Expect("answer", 200, b"tr"),
    ),
    Behaviour(
        "trailers_huge", "4 MiB of trailers", plays.huge_trailers, Expect("head_then_error", 200)
    ),
    Behaviour(
        "trailer_endless",
        "one trailer value that never ends",
        plays.endless_trailer,
        Expect("head_then_error", 200),
    ),
    Behaviour(
        "bad_chunk_size",
        "a chunk size that is not hex",
        plays.then_close(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n"
        ),
        Expect("head_then_error", 200),
    ),
    Behaviour(
        "content_length_and_chunked",
        "content-length and transfer-encoding: chunked together",
        plays.then_close(
            b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n"
            b"2\r\nhi\r\n0\r\n\r\n"
        ),
        Expect("refused"),
    ),
    Behaviour(
        "content_length_short",
        "content-length shorter than the body sent",
        plays.then_keep(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabcdef"),
        Expect("answer", 200, b"abc"),
    ),
    Behaviour(
        "content_length_long",
        "content-length longer than the body, then close",
        plays.then_close(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc"),
        Expect("head_then_error", 200),
    ),
    Behaviour(
        "close_mid_head",
        "close in the middle of the head",
        plays.then_close(b"HTTP/1.1 200 OK\r\ncontent-le"),
        Expect("refused"),
    ),
    Behaviour(
        "close_mid_chunked_body",
        "close in the middle of a chunked body",
        plays.then_close(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n10\r\nhalf"),
        Expect("head_then_error", 200),
    ),
    Behaviour(
        "two_answers_one_packet",
        "two whole answers in one packet",
        plays.then_keep(ok_answer(b"one") + ok_answer(b"two")),
        Expect("answer", 200, b"one"),
    ),
    Behaviour(
        "bytes_after_answer",
        "stray bytes after the answer",
        plays.then_keep(ok_answer(b"mine") + b"garbage\r\n"),
        Expect("answer", 200, b"mine"),
    ),
    Behaviour(
        "head_and_broken_framing",
        "a 200 head and broken framing in one packet",
        plays.then_close(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nnot-hex\r\n"),
        Expect("head_then_error", 200),
    ),
    Behaviour(
        "idle_close",
        "the server closes a pooled connection while idle",
        plays.idle_close,
        Expect("idle_close", 200, b"then idle"),
    ),
    Behaviour(
        "slow_drip_head",
        "the answer one byte every 3 ms",
        plays.drip,
        Expect("answer", 200, b"dripped"),
    ),
    Behaviour("big_head", "56 KiB of headers", plays.big_head, Expect("answer", 200, b"big")),
    Behaviour("huge_head", "200 KiB of headers", plays.huge_head, Expect("refused")),
    Behaviour(
        "connection_close",
        "connection: close on the answer",
        plays.then_close(ok_answer(b"bye", extra=b"connection: close\r\n")),
        Expect("answer", 200, b"bye"),
    ),
    Behaviour(
        "http_1_0",
        "HTTP/1.0, no length: the body ends with the connection",
        plays.then_close(b"HTTP/1.0 200 OK\r\n\r\nold style"),
        Expect("answer", 200, b"old style"),
    ),
    Behaviour(
        "error_unread_body",
        "500 with 1 MiB of body the caller does not read",
        plays.then_keep(b"HTTP/1.1 500 Oops\r\ncontent-length: 1048576\r\n\r\n" + b"e" * 1048576),
        Expect("answer", 500, None, whole=b"e" * 1048576),
    ),
    Behaviour(
        "big_body_caller_leaves",
        "257 KiB at once; the caller reads a piece and leaves",
        plays.big_then_leave,
        Expect("leave_body", whole=b"b" * (257 * 1024)),
    ),
    Behaviour(
        "cancel_in_head",
        "the caller gives up waiting for the head",
        plays.late_answer,
        Expect("cancel_head"),
    ),
    Behaviour(
        "cancel_in_body",
        "the caller gives up in the middle of the body",
        plays.cut_body_then_rest,
        Expect("cancel_body"),
    ),
    Behaviour(
        "cancel_in_stream",
        "the caller leaves a chunked stream",
        plays.endless_stream,
        Expect("cancel_body"),
    ),
]

_FOREIGN = "raises aiohttp's ClientResponseError, not an httpx error"
# (behaviour, candidate) -> what the candidate does instead, as measured; each is a strict xfail,
# so a candidate that changes flips its test.
KNOWN_WRONG: dict[tuple[str, str], str] = {
    ("switching_101", "aiohttp"): "takes the 101 as the answer",
    ("switching_101", "pyqwest"): "takes the 101 as the answer",
    ("status_204_with_body", "aiohttp"): _FOREIGN + " (on the next request)",
    ("status_204_with_body", "httpcore"): "reuses the connection: the next request fails",
    ("status_304_with_body", "aiohttp"): _FOREIGN + " (on the next request)",
    ("status_304_with_body", "httpcore"): "reuses the connection: the next request fails",
    ("trailer_endless", "aiohttp"): _FOREIGN,
    ("bad_chunk_size", "aiohttp"): _FOREIGN,
    ("content_length_and_chunked", "aiohttp"): _FOREIGN,
    ("content_length_and_chunked", "httpcore"): "takes the ambiguous framing as an answer",
    ("content_length_and_chunked", "pyqwest"): "takes the ambiguous framing as an answer",
    ("content_length_short", "aiohttp"): _FOREIGN + " (on the next request)",
    ("content_length_short", "httpcore"): "reuses the connection: the next request fails",
    ("close_mid_head", "aiohttp"): "a ConnectTimeout after the read timeout, not an error",
    ("two_answers_one_packet", "httpcore"): "hands the second answer to the next request",
    ("bytes_after_answer", "aiohttp"): _FOREIGN + " (on the next request)",
    ("bytes_after_answer", "httpcore"): "reuses the connection: the next request fails",
    ("head_and_broken_framing", "aiohttp"): _FOREIGN,
    ("huge_head", "aiohttp"): _FOREIGN,
}
