"""Fixtures (a plugin, registered in tests/conftest.py) for result delivery: Google's Pub/Sub
emulator, a Cloud Storage emulator, and the Eventarc stand-in that pushes Pub/Sub messages to a
`prompt_event` process.

The Pub/Sub emulator is required, not optional: when it is missing these fixtures fail with the
install hint (CI installs it; see .ci/run).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulators.eventarc import EventarcBridge
from emulators.google import PubSubEmulator, StorageEmulator, emulator_env
from tests.support.constants import PROJECT
from tests.support.servers import FunctionServer, ServerFactory

RESULTS_TOPIC = "results"
RESULTS_SUBSCRIPTION = "results-sub"
RESULTS_BUCKET = "results-bucket"
# How long a test waits for a delivered message or object (polled).
WAIT_SECONDS = 30.0


class Results:
    """What reached the results topic and bucket, looked up by request id."""

    def __init__(self, pubsub: PubSubEmulator, storage: StorageEmulator) -> None:
        self.pubsub = pubsub
        self.storage = storage
        # Pulled messages are acknowledged, so keep every one for whichever test asks.
        self._messages: list[dict[str, Any]] = []

    def messages(self, request_id: str) -> list[dict[str, Any]]:
        """Messages for `request_id` pulled so far (one pull first)."""
        self._messages.extend(self.pubsub.pull(RESULTS_SUBSCRIPTION))
        return [m for m in self._messages if m["attributes"].get("request_id") == request_id]

    def wait_message(self, request_id: str) -> dict[str, Any]:
        """The first message for `request_id`, polling until it arrives."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not (found := self.messages(request_id)):
            if time.monotonic() > deadline:
                raise AssertionError(f"no result message for {request_id}")
            time.sleep(0.1)  # polling interval for the subscription
        return found[0]

    def object(self, request_id: str, bucket: str | None = None) -> tuple[Any, str] | None:
        """The stored object (parsed JSON) and its Content-Type, or None."""
        found = self.storage.read(f"results/{request_id}.json", bucket)
        return None if found is None else (json.loads(found[0]), found[1])

    def wait_object(self, request_id: str, bucket: str | None = None) -> tuple[Any, str]:
        deadline = time.monotonic() + WAIT_SECONDS
        while (found := self.object(request_id, bucket)) is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"no result object for {request_id}")
            time.sleep(0.1)  # polling interval for the bucket
        return found


@pytest.fixture(scope="session")
def pubsub(log_dir: Path) -> Iterator[PubSubEmulator]:
    """Google's Pub/Sub emulator with the results topic and a pull subscription on it."""
    emulator = PubSubEmulator(PROJECT, log_dir / "pubsub-emulator.log")
    emulator.start()
    emulator.create_topic(RESULTS_TOPIC)
    emulator.create_subscription(RESULTS_SUBSCRIPTION, RESULTS_TOPIC)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def storage(log_dir: Path) -> Iterator[StorageEmulator]:
    """The Cloud Storage emulator, in memory, with the results bucket."""
    emulator = StorageEmulator(RESULTS_BUCKET, log_dir / "storage-emulator.log")
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def results(pubsub: PubSubEmulator, storage: StorageEmulator) -> Results:
    return Results(pubsub, storage)


@pytest.fixture(scope="session")
def delivering(
    serve: ServerFactory, pubsub: PubSubEmulator, storage: StorageEmulator
) -> ServerFactory:
    """`serve` with both sinks configured against the emulators (keyword arguments override)."""

    def start(target: str = "prompt", **env: str) -> FunctionServer:
        sinks = {
            "RESULTS_TOPIC": RESULTS_TOPIC,  # the bare form: project from GOOGLE_CLOUD_PROJECT
            "RESULTS_BUCKET": RESULTS_BUCKET,
            **emulator_env(pubsub, storage),
        }
        return serve(target=target, **(sinks | env))

    return start


PushFactory = Callable[[FunctionServer], str]


@pytest.fixture(scope="session")
def push_to(pubsub: PubSubEmulator) -> Iterator[PushFactory]:
    """A new topic whose push subscription reaches `server` through the Eventarc stand-in."""
    bridges: list[EventarcBridge] = []

    def connect(server: FunctionServer) -> str:
        topic = f"prompts-{uuid.uuid4().hex[:8]}"
        pubsub.create_topic(topic)
        bridge = EventarcBridge(server.url, pubsub.topic(topic))
        bridge.start()
        bridges.append(bridge)
        pubsub.create_subscription(f"{topic}-push", topic, push_endpoint=bridge.url)
        return topic

    yield connect
    for bridge in bridges:
        bridge.stop()
