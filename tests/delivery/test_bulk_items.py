"""Bulk items in `prompt_event` over real sockets (docs/bulk.md): which messages may run as
items, the gateway cache key of every item, and the one completion message a finished run
sends to RESULTS_TOPIC by itself. Messages are delivered as Eventarc pushes them; Storage and
Pub/Sub are Google's emulators; the gateway emulator records what reached it."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.bulk import BUCKET, listed
from tests.support.servers import FunctionServer

Serve = Callable[..., FunctionServer]
WAIT_SECONDS = 60.0


def nonce() -> str:
    return uuid.uuid4().hex[:10]


def deliver(server: FunctionServer, body: Any, attributes: dict[str, str]) -> httpx.Response:
    """One Pub/Sub message, pushed as Eventarc does (a binary-mode CloudEvent)."""
    message_id = nonce()
    data = {
        "message": {
            "attributes": attributes,
            "data": base64.b64encode(json.dumps(body).encode()).decode(),
            "messageId": message_id,
            "publishTime": "2026-11-25T09:00:00.000Z",
        },
        "subscription": "projects/test-project/subscriptions/prompts-sub",
    }
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-source": "//pubsub.googleapis.com/projects/test-project/topics/prompts",
        "ce-id": message_id,
        "content-type": "application/json",
    }
    return httpx.post(server.url, content=json.dumps(data).encode(), headers=headers, timeout=90)


def reached(gateway: GatewayEmulator, marker: str) -> list[Any]:
    return [r for r in gateway.requests if marker in r.headers.get("cf-aig-metadata", "")]


class Completions:
    """RESULTS_TOPIC with a pull subscription: the completion messages."""

    def __init__(self, pubsub: PubSubEmulator) -> None:
        self.pubsub = pubsub
        self.topic = f"bulk-done-{nonce()}"
        pubsub.create_topic(self.topic)
        self.subscription = f"{self.topic}-watch"
        pubsub.create_subscription(self.subscription, self.topic)
        self.seen: list[dict[str, Any]] = []

    def pull(self) -> list[dict[str, Any]]:
        self.seen.extend(self.pubsub.pull(self.subscription))
        return self.seen


@pytest.fixture(scope="module")
def completions(pubsub: PubSubEmulator) -> Completions:
    return Completions(pubsub)


@pytest.fixture(scope="module")
def event(delivering: Serve, completions: Completions) -> FunctionServer:
    return delivering(
        target="prompt_event",
        BULK_TOPIC="prompts",
        BULK_BUCKETS=BUCKET,
        RESULTS_TOPIC=completions.topic,
        RESULTS_BUCKET="",
    )


def test_only_items_the_manifest_lists_run(
    event: FunctionServer, storage: StorageEmulator, gateway: GatewayEmulator
) -> None:
    """A message whose run has no manifest, another bulk_id, an id the manifest does not list,
    or a bucket outside BULK_BUCKETS is acknowledged and writes nothing: no object, no call."""
    folder = f"out/{nonce()}/"
    listed(storage, folder, "run-a", "real")
    marker = nonce()
    body = {"prompt": "pre-empt", "metadata": {"nonce": marker}}
    cases = [
        {"bulk_id": "run-a", "custom_id": "forged", "bulk_output": f"gs://{BUCKET}/{folder}"},
        {"bulk_id": "run-b", "custom_id": "real", "bulk_output": f"gs://{BUCKET}/{folder}"},
        {"bulk_id": "run-a", "custom_id": "real", "bulk_output": f"gs://{BUCKET}/elsewhere/"},
        {"bulk_id": "run-a", "custom_id": "real", "bulk_output": f"gs://other-bucket/{folder}"},
    ]
    for attributes in cases:
        assert deliver(event, body, attributes).status_code == 200
        dead = {**attributes, "CloudPubSubDeadLetterSourceDeliveryCount": "10"}
        assert deliver(event, body, dead).status_code == 200
    assert storage.names(folder) == [f"{folder}_bulk.json"]
    assert storage.names("elsewhere/") == []
    assert reached(gateway, marker) == []
    refused = [line for line in event.log_lines() if line.get("event") == "bulk_item_refused"]
    assert len(refused) >= 2 * len(cases)


def test_bulk_attributes_ignored_when_bulk_runs_are_off(
    delivering: Serve, storage: StorageEmulator, gateway: GatewayEmulator
) -> None:
    """Without BULK_TOPIC, a message with bulk attributes writes nothing, even for a listed
    item, and a dead letter with them neither."""
    off = delivering(target="prompt_event", RESULTS_TOPIC="", RESULTS_BUCKET="")
    folder = f"out/{nonce()}/"
    listed(storage, folder, "run-a", "item")
    marker = nonce()
    attributes = {"bulk_id": "run-a", "custom_id": "item", "bulk_output": f"gs://{BUCKET}/{folder}"}
    body = {"prompt": "x", "metadata": {"nonce": marker}}
    assert deliver(off, body, attributes).status_code == 200
    dead = {**attributes, "CloudPubSubDeadLetterSourceDeliveryCount": "10"}
    assert deliver(off, body, dead).status_code == 200
    assert storage.names(folder) == [f"{folder}_bulk.json"]
    assert reached(gateway, marker) == []


def test_longest_ids_still_carry_a_cache_key(
    event: FunctionServer, storage: StorageEmulator, gateway: GatewayEmulator
) -> None:
    """A 64-character run id with a 128-character custom_id still sends cf-aig-cache-key, so a
    redelivery after a lost write is answered from the gateway's cache."""
    folder = f"out/{nonce()}/"
    bulk_id, custom_id = "r" * 64, "c" * 128
    listed(storage, folder, bulk_id, custom_id)
    marker = nonce()
    attributes = {
        "bulk_id": bulk_id,
        "custom_id": custom_id,
        "bulk_output": f"gs://{BUCKET}/{folder}",
    }
    body = {"prompt": "long ids", "metadata": {"nonce": marker}}
    assert deliver(event, body, attributes).status_code == 200
    (call,) = reached(gateway, marker)
    assert call.headers.get("cf-aig-cache-key", "").startswith("pubsub:bulk-")
    assert storage.read(f"{folder}{custom_id}.json") is not None


def test_a_finished_run_announces_itself_once(
    event: FunctionServer,
    storage: StorageEmulator,
    completions: Completions,
) -> None:
    """When its last item is written the run counts itself, assembles results.jsonl and
    publishes one completion message (attributes bulk_id, source, state; data: its status),
    with nobody calling bulk_status; a redelivered item sends no second one."""
    folder = f"out/{nonce()}/"
    bulk_id = f"run-{nonce()}"
    listed(storage, folder, bulk_id, "only")
    attributes = {"bulk_id": bulk_id, "custom_id": "only", "bulk_output": f"gs://{BUCKET}/{folder}"}
    assert deliver(event, {"prompt": "the one"}, attributes).status_code == 200
    deadline = time.monotonic() + WAIT_SECONDS
    while not (mine := [m for m in completions.pull() if m["attributes"]["bulk_id"] == bulk_id]):
        assert time.monotonic() < deadline, "no completion message"
        time.sleep(0.2)  # polling interval for the subscription
    assert mine[0]["attributes"] == {"bulk_id": bulk_id, "source": "bulk", "state": "done"}
    status = json.loads(mine[0]["data"])
    assert (status["state"], status["succeeded"], status["pending"]) == ("done", 1, 0)
    assert status["results"] == f"gs://{BUCKET}/{folder}results.jsonl"
    assert storage.read(f"{folder}results.jsonl") is not None
    assert deliver(event, {"prompt": "the one"}, attributes).status_code == 200
    assert [m for m in completions.pull() if m["attributes"]["bulk_id"] == bulk_id] == mine
