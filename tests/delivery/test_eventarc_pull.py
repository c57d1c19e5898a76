"""The pulling Eventarc stand-in (emulators/eventarc_pull.py) against Google's Pub/Sub emulator
and a real HTTP endpoint on 127.0.0.1: N pushes in flight, never more; ack on 2xx; a failure
comes back through the subscription's retry policy, as a push would."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from emulators.eventarc import EVENT_TYPE
from emulators.eventarc_pull import EventarcPuller
from emulators.google import PubSubEmulator

WAIT_SECONDS = 30.0


class Endpoint:
    """Records each CloudEvent; answers with what `decide` says for it."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.decide: Any = lambda headers, push: 204
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with endpoint.lock:
                    endpoint.events.append((headers, body))
                self.send_response(endpoint.decide(headers, body))
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while len(self.events) < count:
            assert time.monotonic() < deadline, f"{len(self.events)} of {count} events"
            time.sleep(0.05)  # polling interval for the endpoint's record


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    found = Endpoint()
    yield found
    found.server.shutdown()
    found.server.server_close()


def data_of(push: dict[str, Any]) -> str:
    return base64.b64decode(push["message"]["data"]).decode()


def test_keeps_n_in_flight_and_no_more(pubsub: PubSubEmulator, endpoint: Endpoint) -> None:
    """With N = 4 the endpoint sees 4 requests at once (a barrier of 4 only opens then), and
    never a fifth while they are held; each one arrives as Eventarc's CloudEvent; all acked."""
    topic = f"pull-{uuid.uuid4().hex[:8]}"
    pubsub.create_topic(topic)
    name = f"{topic}-sub"
    subscription = pubsub.create_subscription(name, topic, ack_deadline=60)
    barrier = threading.Barrier(4, timeout=WAIT_SECONDS)
    endpoint.decide = lambda headers, push: 204 if barrier.wait() >= 0 else 500
    for i in range(8):
        pubsub.publish(topic, f"m{i}".encode())
    puller = EventarcPuller(
        pubsub.host, subscription, endpoint.url, pubsub.topic(topic), max_outstanding=4
    )
    puller.start()
    try:
        endpoint.wait_for(8)
    finally:
        puller.stop()
    assert not barrier.broken
    assert puller.peak_outstanding == 4
    assert sorted(data_of(push) for _, push in endpoint.events) == [f"m{i}" for i in range(8)]
    headers, push = endpoint.events[0]
    assert headers["ce-type"] == EVENT_TYPE
    assert headers["ce-source"] == f"//pubsub.googleapis.com/{pubsub.topic(topic)}"
    assert headers["ce-id"] == push["message"]["messageId"]
    assert push["subscription"] == subscription
    assert pubsub.pull(name) == []  # every one acknowledged


def test_failure_is_redelivered_with_its_delivery_attempt(
    pubsub: PubSubEmulator, endpoint: Endpoint
) -> None:
    """A 503 nacks the message: Pub/Sub delivers it again (attempt 2), and a 2xx acks it."""
    topic = f"pull-{uuid.uuid4().hex[:8]}"
    pubsub.create_topic(topic)
    pubsub.create_topic(f"{topic}-dead")
    name = f"{topic}-sub"
    subscription = pubsub.create_subscription(
        name, topic, ack_deadline=60, dead_letter=(f"{topic}-dead", 5), backoff_seconds=(0, 1)
    )
    endpoint.decide = lambda headers, push: 503 if push.get("deliveryAttempt") == 1 else 204
    pubsub.publish(topic, b"flaky")
    puller = EventarcPuller(pubsub.host, subscription, endpoint.url, pubsub.topic(topic))
    puller.start()
    try:
        endpoint.wait_for(2)
    finally:
        puller.stop()
    assert [push["deliveryAttempt"] for _, push in endpoint.events] == [1, 2]
    assert {data_of(push) for _, push in endpoint.events} == {"flaky"}
    assert pubsub.pull(name) == []


def test_push_bodies_without_cloud_event_headers(
    pubsub: PubSubEmulator, endpoint: Endpoint
) -> None:
    """cloud_event=False posts what a direct push subscription posts: the push body, no ce-*."""
    topic = f"pull-{uuid.uuid4().hex[:8]}"
    pubsub.create_topic(topic)
    name = f"{topic}-sub"
    subscription = pubsub.create_subscription(name, topic, ack_deadline=60)
    pubsub.publish(topic, b"plain", {"k": "v"})
    puller = EventarcPuller(
        pubsub.host, subscription, endpoint.url, pubsub.topic(topic), cloud_event=False
    )
    puller.start()
    try:
        endpoint.wait_for(1)
    finally:
        puller.stop()
    headers, push = endpoint.events[0]
    assert not [h for h in headers if h.startswith("ce-")]
    assert data_of(push) == "plain"
    assert push["message"]["attributes"] == {"k": "v"}
    assert push["subscription"] == subscription
    assert pubsub.pull(name) == []
