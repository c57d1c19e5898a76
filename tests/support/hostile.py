"""A hostile upstream: speaks just enough HTTP to answer the function, and misbehaves on purpose.

It echoes the credentials it receives back in whatever field a test names, stalls, streams for
ever, answers bodies too large or not JSON, and records what happened to each request (so a
test can see a call was cancelled, or that no retry came). The behaviour is picked per request
by the `hostile` entry of the `cf-aig-metadata` header, which the function fills from the
request's `metadata` field. A test stand-in, not a gateway emulator: see emulators/ for that.
"""

from __future__ import annotations

import functools
import json
import select
import socket
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# How long the slow modes hold a request before answering (tests end far sooner).
STALL_SECONDS = 8.0
# How much a streaming mode sends per write, and for how long at most.
STREAM_CHUNK_BYTES = 64 * 1024
STREAM_MAX_SECONDS = 60.0
# What the compressed body of the gzip_bomb_200 mode unpacks to.
GZIP_BOMB_BYTES = 512 * 1024 * 1024


@functools.cache
def _gzip_bomb() -> bytes:
    """GZIP_BOMB_BYTES of JSON-looking padding, gzipped (about 500 KB), built once and fast.

    A block compressed after a full flush refers to nothing before it, so one compressed MiB
    repeated is a valid deflate stream of many MiB.
    """
    head, block, tail = b'{"id": "x", "pad": "', b"z" * (1024 * 1024), b'"}'
    copies = GZIP_BOMB_BYTES // len(block)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; the gzip frame is ours
    opening = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    repeated = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    closing = packer.compress(tail) + packer.flush()
    crc = zlib.crc32(head)
    for _ in range(copies):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = (len(head) + copies * len(block) + len(tail)) % 2**32
    frame = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = crc.to_bytes(4, "little") + size.to_bytes(4, "little")
    return frame + opening + repeated * copies + closing + trailer


@dataclass
class Seen:
    """One request the hostile upstream received."""

    mode: str
    arrived: float
    ended: float | None = None
    # True when the function closed the connection before the answer was complete.
    cut_by_client: bool = False
    # The accept-encoding the function sent (recorded by the modes that care).
    accept_encoding: str | None = None


@dataclass
class _Log:
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: list[Seen] = field(default_factory=list)


class HostileUpstream:
    """The server, on 127.0.0.1, in a background thread."""

    def __init__(self) -> None:
        self.log = _Log()
        handler = type("Handler", (_Handler,), {"log": self.log})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1/acct/gw/openai"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def seen(self, mode: str) -> list[Seen]:
        with self.log.lock:
            return [entry for entry in self.log.requests if entry.mode == mode]


class _Handler(BaseHTTPRequestHandler):
    log: _Log
    protocol_version = "HTTP/1.0"  # one request per connection: a close is the end of a body

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        metadata = json.loads(self.headers.get("cf-aig-metadata") or "{}")
        mode = str(metadata.get("hostile", "ok"))
        token = self.headers.get("cf-aig-authorization", "").removeprefix("Bearer ")
        key = self.headers.get("authorization", "").removeprefix("Bearer ")
        seen = Seen(mode, time.monotonic())
        with self.log.lock:
            self.log.requests.append(seen)
        try:
            getattr(self, f"_{mode}")(body, token, key, seen)
        except OSError:
            seen.cut_by_client = True
        finally:
            seen.ended = time.monotonic()

    # -- answers ---------------------------------------------------------------------------------

    def _ok(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._json(200, _chat("fine"))

    def _echo_code(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        status = int(body.get("metadata", {}).get("status", 0) or 400)
        self._json(status, {"error": {"message": "nope", "type": "x", "code": token}})

    def _echo_code_500(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._json(500, {"error": {"message": "nope", "type": "x", "code": token}})

    def _echo_code_401(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._json(401, {"error": {"message": "nope", "type": "x", "code": token}})

    def _echo_internal(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._json(
            400,
            {
                "success": False,
                "name": "AiGatewayError",
                "internalCode": token,
                "error": [{"code": token, "message": f"bad {token}"}],
            },
        )

    def _padded(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        # A message whose 500-character cut would land inside the credential.
        message = "x" * 485 + token + key
        self._json(400, {"error": {"message": message, "type": "x", "code": "bad"}})

    def _echo_200(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        answer = _chat(f"the key is {key} and the token {token}")
        answer["system_fingerprint"] = key
        answer["model"] = token
        answer[key] = {"nested": [token, {"deep": key}]}
        self._json(200, answer)

    def _not_json_200(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._raw(200, "text/html", b"<html>a proxy page</html>")

    def _stall(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        if self._wait_for_close(STALL_SECONDS):
            seen.cut_by_client = True
            return
        self._json(200, _chat("late"))

    def _retry_after(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self.send_response(429)
        self.send_header("retry-after", "2")
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"error": {"message": "slow down", "code": None}}).encode())

    def _sse_error(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._sse_start()
        self._event({"choices": [{"index": 0, "delta": {"content": "hi"}}]})
        self._event({"error": {"message": f"broke {token}", "code": token}})

    def _sse_split(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._sse_start()
        text = f"token {token} key {key} end"
        for start in range(0, len(text), 2):
            self._event({"choices": [{"index": 0, "delta": {"content": text[start : start + 2]}}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self.wfile.write(b"data: [DONE]\n\n")

    def _sse_forever(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        self._sse_start()
        filler = "y" * STREAM_CHUNK_BYTES
        until = time.monotonic() + STREAM_MAX_SECONDS
        while time.monotonic() < until:
            self._event({"choices": [{"index": 0, "delta": {"content": filler}}]})

    def _huge_json(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        # 40 MB of JSON in place of a stream; no content-length, so only a cap stops it.
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"id": "x", "pad": "')
        chunk = b"z" * (1024 * 1024)
        for _ in range(40):
            self.wfile.write(chunk)
        self.wfile.write(b'"}')

    def _gzip_bomb_200(self, body: dict[str, Any], token: str, key: str, seen: Seen) -> None:
        # A few hundred KB on the wire that unpack to GZIP_BOMB_BYTES, sent whatever we asked.
        seen.accept_encoding = self.headers.get("accept-encoding")
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-encoding", "gzip")
        self.send_header("content-length", str(len(_gzip_bomb())))
        self.end_headers()
        self.wfile.write(_gzip_bomb())

    # -- helpers ---------------------------------------------------------------------------------

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._raw(status, "application/json", json.dumps(data).encode())

    def _raw(self, status: int, kind: str, content: bytes) -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _sse_start(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
        self.wfile.flush()

    def _wait_for_close(self, seconds: float) -> bool:
        """True when the peer closed the connection within `seconds`."""
        sock: socket.socket = self.connection
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            readable, _, _ = select.select([sock], [], [], min(left, 0.05))
            if readable and not sock.recv(1, socket.MSG_PEEK):
                return True
        return False


def _chat(text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-hostile",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
