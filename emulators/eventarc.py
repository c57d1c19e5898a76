"""A local stand-in for Eventarc's Pub/Sub trigger: push body in, binary-mode CloudEvent out.

A Pub/Sub push subscription POSTs `{"message": {...}, "subscription": "..."}` with no `ce-`
headers. In production Eventarc turns that into a CloudEvent of type
`google.cloud.pubsub.topic.v1.messagePublished` (binary mode: `ce-*` headers, the push body as
data) and posts it to the function. This does the same and answers with the function's status,
so a failing function makes the Pub/Sub emulator redeliver, as a failing trigger would.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

__all__ = ["EVENT_TYPE", "EventarcBridge", "cloud_event_headers"]

EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"
# A push body is small (Pub/Sub's 10 MB message cap, base64): refuse anything beyond it.
_MAX_BODY_BYTES = 16 * 1024 * 1024


def cloud_event_headers(push: dict[str, Any], topic: str) -> dict[str, str]:
    """The binary-mode CloudEvent headers Eventarc sets for one push body."""
    message = push.get("message") or {}
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    return {
        "ce-specversion": "1.0",
        "ce-type": EVENT_TYPE,
        "ce-source": f"//pubsub.googleapis.com/{topic}",
        "ce-id": message_id,
        "ce-time": str(message.get("publishTime") or message.get("publish_time") or ""),
        "content-type": "application/json",
    }


class EventarcBridge:
    """Listens on 127.0.0.1 for Pub/Sub pushes and forwards each to `target` as a CloudEvent."""

    def __init__(self, target: str, topic: str, timeout: float = 120.0) -> None:
        self.target = target
        self.topic = topic
        self.forwarded = 0
        self._client = httpx.Client(timeout=timeout)
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The push endpoint to give the subscription."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def start(self, port: int = 0) -> None:
        bridge = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                if length > _MAX_BODY_BYTES:
                    self._answer(413)
                    return
                status = bridge.forward(self.rfile.read(length))
                self._answer(status)

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the function's own log says what happened

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def forward(self, raw: bytes) -> int:
        """Post one push body to the function as a CloudEvent; the function's status."""
        try:
            push = json.loads(raw)
        except ValueError:
            return 400
        if not isinstance(push, dict):
            return 400
        with self._lock:
            self.forwarded += 1
        try:
            response = self._client.post(
                self.target, content=raw, headers=cloud_event_headers(push, self.topic)
            )
        except httpx.HTTPError:
            return 502
        return response.status_code

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._client.close()
