"""How a bulk run finishes, over real sockets (docs/bulk.md): items Pub/Sub dead-letters end as
counted error lines, and assembly leaves no intermediate objects behind.

Delivery here is the pull path of the Eventarc stand-in (emulators/eventarc_pull.py): Google's
Pub/Sub emulator holds a subscription with a retry and dead-letter policy, and a second one on
the dead-letter topic feeds the same `prompt_event` process, as the Terraform module's
dead-letter trigger does (infra/pubsub.tf).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.eventarc_pull import EventarcPuller
from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.bulk import BUCKET, BULK_ON, Bulk, gateway_calls, line, listed, nonce
from tests.support.calls import pubsub_data, send
from tests.support.servers import ServerFactory

# Pub/Sub's smallest dead-letter limit: an item gets this many deliveries, then a dead letter.
MAX_DELIVERIES = 5
DEAD_LETTER_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"


@pytest.fixture(scope="module")
def pulled(
    delivering: ServerFactory, pubsub: PubSubEmulator, storage: StorageEmulator
) -> Iterator[Bulk]:
    # As tests/test_bulk.py: no result sinks, and a 429 or 5xx goes back to Pub/Sub at once.
    event = delivering(
        target="prompt_event", MAX_RETRIES="0", RESULTS_TOPIC="", RESULTS_BUCKET="", **BULK_ON
    )
    topic = f"bulk-{nonce()}"
    dead = f"{topic}-dead"
    pubsub.create_topic(topic)
    pubsub.create_topic(dead)
    items = pubsub.create_subscription(
        f"{topic}-pull",
        topic,
        ack_deadline=60,
        dead_letter=(dead, MAX_DELIVERIES),
        backoff_seconds=(0, 1),  # the real module waits 10 s to 600 s
    )
    letters = pubsub.create_subscription(f"{dead}-pull", dead, ack_deadline=60)
    pullers = [
        EventarcPuller(pubsub.host, items, event.url, pubsub.topic(topic), max_outstanding=16),
        EventarcPuller(pubsub.host, letters, event.url, pubsub.topic(dead), max_outstanding=4),
    ]
    for puller in pullers:
        puller.start()
    http = delivering(BULK_TOPIC=topic, RESULTS_TOPIC="", RESULTS_BUCKET="")
    yield Bulk(http, event, topic, pubsub, storage)
    for puller in pullers:
        puller.stop()


def test_poison_item_is_dead_lettered_counted_and_finishes_the_run(
    pulled: Bulk, gateway: GatewayEmulator
) -> None:
    """An item that fails retryably on every delivery ends in the dead-letter topic, comes back
    as its final error line (no further provider call), is counted as dead-lettered, and the
    run is done; the counts add up at every poll."""
    marker = nonce()
    lines = [
        line("good", "one", f"{marker}-1"),
        line("poison", "two", f"{marker}-2", fault="500"),
        line("rejected", "three", f"{marker}-3", fault="400"),
    ]
    output = f"gs://{BUCKET}/out/{nonce()}/"
    status, submitted = pulled.submit(pulled.upload(lines), output)
    assert status == 200, submitted
    polls = pulled.wait_done(output)
    final = polls[-1]
    counts = (final["succeeded"], final["failed"], final["dead_lettered"], final["pending"])
    assert counts == (1, 1, 1, 0)
    assembled = pulled.read_lines(final["results"])
    assert [item["custom_id"] for item in assembled] == ["good", "poison", "rejected"]
    error = assembled[1]["error"]
    assert error["type"] == "upstream_error" and error["retryable"] is True
    assert error["message"].startswith(f"dead-lettered: Pub/Sub gave up after {MAX_DELIVERIES}")
    assert assembled[2]["error"]["type"] == "upstream_rejected"
    # One provider call per delivery, none for the dead letter itself.
    assert gateway_calls(gateway, f"{marker}-2") == MAX_DELIVERIES
    assert gateway_calls(gateway, f"{marker}-1") == gateway_calls(gateway, f"{marker}-3") == 1


def test_dead_letter_for_a_finished_item_changes_nothing(
    pulled: Bulk, gateway: GatewayEmulator
) -> None:
    """A dead letter that arrives after its item was written (a late success, or the dead
    letter delivered twice) leaves the outcome and the counts as they are."""
    marker = nonce()
    folder = f"out/{nonce()}/"
    attributes = {
        "bulk_id": "bulk-test",
        "custom_id": "late",
        "bulk_output": f"gs://{BUCKET}/{folder}",
    }
    body = {"prompt": "late", "metadata": {"nonce": marker}}
    listed(pulled.storage, folder, "bulk-test", "late")
    assert send(pulled.event, pubsub_data(body, nonce(), attributes)).status_code == 200
    stored = pulled.storage.read(f"{folder}late.json")
    assert stored is not None and b'"result"' in stored[0]
    letter = {**attributes, DEAD_LETTER_COUNT: "5"}
    for _ in range(2):
        assert send(pulled.event, pubsub_data(body, nonce(), letter)).status_code == 200
    assert pulled.storage.read(f"{folder}late.json") == stored
    assert gateway_calls(gateway, marker) == 1


def test_dead_letter_that_is_not_a_bulk_item_is_not_run(
    pulled: Bulk, gateway: GatewayEmulator
) -> None:
    """Any other message back from the dead-letter topic is acknowledged and never run."""
    marker = nonce()
    body = {"prompt": "poison", "metadata": {"nonce": marker}}
    letter = {"request_id": f"dl-{marker}", DEAD_LETTER_COUNT: "10"}
    assert send(pulled.event, pubsub_data(body, nonce(), letter)).status_code == 200
    assert gateway_calls(gateway, marker) == 0


def test_assembly_deletes_its_parts_and_a_later_call_finishes_the_job(pulled: Bulk) -> None:
    """A run of more than 32 items is composed through intermediate objects; once results.jsonl
    exists they are deleted, and parts a crashed call left behind go at the next status call."""
    marker = nonce()
    total = 70  # 3 parts of up to 32, then the final compose
    lines = [line(f"item-{i:03d}", f"n{i}", f"{marker}-{i}") for i in range(total)]
    output = f"gs://{BUCKET}/out/{nonce()}/"
    prefix = output.removeprefix(f"gs://{BUCKET}/")
    status, submitted = pulled.submit(pulled.upload(lines), output)
    assert status == 200, submitted
    final = pulled.wait_done(output)[-1]
    assembled = pulled.read_lines(final["results"])
    assert [item["custom_id"] for item in assembled] == [f"item-{i:03d}" for i in range(total)]
    parts = f"{prefix}results.jsonl.parts/"
    assert pulled.storage.names(parts) == []
    # As if a status call had died after the final compose, before deleting every part.
    pulled.storage.write(f"{parts}0-000001", b"left behind\n")
    results_before = pulled.storage.read(f"{prefix}results.jsonl")
    again = pulled.status(output)
    assert again["state"] == "done" and again["results"] == final["results"]
    assert pulled.storage.names(parts) == []
    assert pulled.storage.read(f"{prefix}results.jsonl") == results_before
    assert again["succeeded"] == total and again["dead_lettered"] == 0
