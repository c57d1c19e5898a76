"""A minimal OTLP/HTTP (protobuf) trace receiver on 127.0.0.1, for the export test."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

__all__ = ["OtlpReceiver"]


class OtlpReceiver:
    """A minimal OTLP/HTTP (protobuf) trace receiver on 127.0.0.1 that keeps what it gets."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                request = ExportTraceServiceRequest.FromString(self.rfile.read(length))
                with receiver.lock:
                    for resource_spans in request.resource_spans:
                        for scope_spans in resource_spans.scope_spans:
                            receiver.spans.extend(scope_spans.spans)
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the test's output stays clean

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, trace_id: str | None, count: int, timeout: float = 20) -> list[Any]:
        """The spans of `trace_id` (None: all), once at least `count` arrived (polled)."""
        deadline = time.monotonic() + timeout
        found: list[Any] = []
        while time.monotonic() < deadline:
            with self.lock:
                found = [s for s in self.spans if trace_id in (None, s.trace_id.hex())]
            if len(found) >= count:
                return found
            time.sleep(0.05)  # polling interval while the exporter's batch is on its way
        raise AssertionError(f"{len(found)} of {count} spans arrived")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
