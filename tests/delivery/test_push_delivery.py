"""The direct Pub/Sub trigger end to end: Google's Pub/Sub emulator's own push subscriptions
POST straight to a `prompt_push` process (no stand-in), with the results topic and bucket on the
emulators; the same outcomes as the Eventarc path (tests/test_delivery.py,
tests/test_bulk_finish.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.bulk import BULK_ON, listed
from tests.support.google import RESULTS_BUCKET, WAIT_SECONDS, Results
from tests.support.push import gateway_calls, nonce
from tests.support.servers import FunctionServer

Serve = Callable[..., FunctionServer]
Subscribe = Callable[..., str]
# Pub/Sub's smallest dead-letter limit.
MAX_DELIVERIES = 5


@pytest.fixture(scope="module")
def push_server(delivering: Serve) -> FunctionServer:
    # MAX_RETRIES=0: an emulator fault reaches the event core instead of being retried away.
    return delivering(target="prompt_push", MAX_RETRIES="0")


@pytest.fixture(scope="module")
def subscribe(pubsub: PubSubEmulator) -> Subscribe:
    """A new topic whose push subscription posts straight to `server`; its name."""

    def create(server: FunctionServer, dead_letter: str | None = None) -> str:
        topic = f"prompts-{nonce()}"
        pubsub.create_topic(topic)
        pubsub.create_subscription(
            f"{topic}-push",
            topic,
            push_endpoint=f"{server.url}/",
            ack_deadline=60,
            dead_letter=(dead_letter, MAX_DELIVERIES) if dead_letter else None,
            backoff_seconds=(0, 1),  # the Terraform module waits 10 s to 600 s
        )
        return topic

    return create


def test_success_delivered(
    push_server: FunctionServer, subscribe: Subscribe, pubsub: PubSubEmulator, results: Results
) -> None:
    """A message published to the topic is pushed, answered, and delivered to both sinks."""
    topic = subscribe(push_server)
    request_id = f"push-{nonce()}"
    pubsub.publish(topic, json.dumps({"prompt": "from push"}).encode(), {"request_id": request_id})
    message = results.wait_message(request_id)
    delivered = json.loads(message["data"])
    assert delivered["ok"] is True and delivered["output_text"] == "Echo: from push"
    assert message["attributes"]["source"] == "pubsub"
    stored, _ = results.wait_object(request_id)
    assert stored == delivered


def test_permanent_failure_acknowledged_and_delivered_once(
    push_server: FunctionServer, subscribe: Subscribe, pubsub: PubSubEmulator, results: Results
) -> None:
    """A permanent failure is acknowledged (2xx) and its error delivered, once."""
    topic = subscribe(push_server)
    request_id = f"poison-{nonce()}"
    pubsub.publish(topic, b'{"promt": "typo"}', {"request_id": request_id})
    message = results.wait_message(request_id)
    assert message["attributes"]["error_type"] == "invalid_request"
    assert json.loads(message["data"])["error"]["message"] == "unknown field `promt`"
    runs = [line for line in push_server.log_lines() if line.get("request_id") == request_id]
    assert len([line for line in runs if line.get("outcome") == "invalid_request"]) == 1
    assert len(results.messages(request_id)) == 1


def test_retryable_failure_nacked_and_redelivered(
    push_server: FunctionServer, subscribe: Subscribe, pubsub: PubSubEmulator, results: Results
) -> None:
    """A retryable failure answers 5xx and delivers nothing; the emulator pushes it again, and
    that run's outcome is the one delivered."""
    topic = subscribe(push_server)
    request_id = f"retry-{nonce()}"
    body = {"prompt": "hi", "metadata": {"emulator_fault": "503,ok", "nonce": nonce()}}
    pubsub.publish(topic, json.dumps(body).encode(), {"request_id": request_id})
    message = results.wait_message(request_id)
    assert message["attributes"]["ok"] == "true"
    outcomes = [
        line.get("outcome")
        for line in push_server.log_lines()
        if line.get("request_id") == request_id
    ]
    assert outcomes.count("upstream_error") == 1 and outcomes.count("ok") == 1
    assert len(results.messages(request_id)) == 1


def test_undeliverable_outcome_redelivered_not_billed_twice(
    delivering: Serve,
    gateway: GatewayEmulator,
    subscribe: Subscribe,
    pubsub: PubSubEmulator,
    storage: StorageEmulator,
    results: Results,
) -> None:
    """The bucket is missing: the push answers 5xx; once the bucket exists the kept outcome is
    delivered on a redelivery, and the prompt reached the provider once."""
    bucket = f"late-{nonce()}"
    server = delivering(
        target="prompt_push", MAX_RETRIES="0", RESULTS_TOPIC="", RESULTS_BUCKET=bucket
    )
    topic = subscribe(server)
    request_id, marker = f"late-{nonce()}", nonce()
    body = {"prompt": "deliver me later", "metadata": {"nonce": marker}}
    pubsub.publish(topic, json.dumps(body).encode(), {"request_id": request_id})
    deadline = time.monotonic() + WAIT_SECONDS
    while len([x for x in server.log_lines() if _pending(x, request_id)]) < 2:
        assert time.monotonic() < deadline, "the message was not pushed again"
        time.sleep(0.1)  # polling interval for the log
    storage.create_bucket(bucket)
    stored, _ = results.wait_object(request_id, bucket)
    assert stored["ok"] is True and stored["output_text"] == "Echo: deliver me later"
    assert gateway_calls(gateway.requests, marker) == 1


def _pending(line: dict[str, object], request_id: str) -> bool:
    return line.get("event") == "delivery_pending" and line.get("request_id") == request_id


def test_dead_lettered_bulk_item_is_finalised(
    delivering: Serve,
    gateway: GatewayEmulator,
    subscribe: Subscribe,
    pubsub: PubSubEmulator,
    storage: StorageEmulator,
) -> None:
    """A bulk item that fails retryably on every push goes to the dead-letter topic, whose own
    push subscription brings it back to the same function: written as its final error line,
    with no further provider call."""
    server = delivering(
        target="prompt_push", MAX_RETRIES="0", RESULTS_TOPIC="", RESULTS_BUCKET="", **BULK_ON
    )
    dead = f"dead-{nonce()}"
    pubsub.create_topic(dead)
    pubsub.create_subscription(f"{dead}-push", dead, push_endpoint=f"{server.url}/")
    topic = subscribe(server, dead_letter=dead)
    folder, marker = f"out/{nonce()}/", nonce()
    attributes = {
        "bulk_id": f"bulk-{marker}",
        "custom_id": "poison",
        "bulk_output": f"gs://{RESULTS_BUCKET}/{folder}",
    }
    listed(storage, folder, f"bulk-{marker}", "poison")
    body = {"prompt": "x", "metadata": {"emulator_fault": "500", "nonce": marker}}
    pubsub.publish(topic, json.dumps(body).encode(), attributes)
    deadline = time.monotonic() + 2 * WAIT_SECONDS
    while (stored := storage.read(f"{folder}poison.json", RESULTS_BUCKET)) is None:
        assert time.monotonic() < deadline, "the dead-lettered item was never written"
        time.sleep(0.2)  # polling interval for the bucket
    line = json.loads(stored[0])
    assert line["custom_id"] == "poison"
    assert line["error"]["message"].startswith(
        f"dead-lettered: Pub/Sub gave up after {MAX_DELIVERIES}"
    )
    assert gateway_calls(gateway.requests, marker) == MAX_DELIVERIES
    failed = [
        x
        for x in server.log_lines()
        if x.get("bulk_id") == f"bulk-{marker}"
        and x.get("message", "").startswith("bulk item failed transiently")
    ]
    assert len(failed) == MAX_DELIVERIES
