"""A bulk item that meets a used-up budget or a policy over real sockets (Pub/Sub emulator push,
Cloud Storage emulator, gateway emulator): it ends at once as an error line, billed once and
never redelivered, so the run finishes and its failed items can be run again later."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.bulk import BUCKET, BULK_ON, Bulk, gateway_calls, line, nonce
from tests.support.google import PushFactory
from tests.support.servers import ServerFactory


@pytest.fixture(scope="module")
def bulk(
    delivering: ServerFactory,
    pubsub: PubSubEmulator,
    storage: StorageEmulator,
    push_to: PushFactory,
) -> Iterator[Bulk]:
    # Retries on: a budget must end the item without them, not because there are none.
    event = delivering(target="prompt_event", RESULTS_TOPIC="", RESULTS_BUCKET="", **BULK_ON)
    topic = push_to(event)
    http = delivering(BULK_TOPIC=topic, RESULTS_TOPIC="", RESULTS_BUCKET="")
    yield Bulk(http, event, topic, pubsub, storage)


def test_budget_and_policy_items_end_as_error_lines(bulk: Bulk, gateway: GatewayEmulator) -> None:
    marker = nonce()
    lines = [
        line("fine", "one", f"{marker}-1"),
        line("over-budget", "two", f"{marker}-2", fault="budget,ok"),
        line("denied", "three", f"{marker}-3", fault="policy,ok"),
    ]
    output = f"gs://{BUCKET}/out/{nonce()}/"
    status, submitted = bulk.submit(bulk.upload(lines), output)
    assert status == 200, submitted
    final = bulk.wait_done(output)[-1]
    assert (final["succeeded"], final["failed"], final["dead_lettered"]) == (1, 2, 0)
    assembled = bulk.read_lines(final["results"])
    assert assembled[1]["error"]["type"] == "budget_exceeded"
    assert assembled[1]["error"]["retryable"] is False
    assert assembled[2]["error"]["type"] == "policy_denied"
    # One upstream call each: neither retried in process nor redelivered by Pub/Sub.
    assert [gateway_calls(gateway, f"{marker}-{i}") for i in range(1, 4)] == [1, 1, 1]


def test_a_runs_service_tier_applies_to_lines_that_name_none(
    bulk: Bulk, gateway: GatewayEmulator
) -> None:
    marker = nonce()
    own = {**line("own", "two", f"{marker}-2"), "service_tier": "default"}
    lines = [line("plain", "one", f"{marker}-1"), own]
    output = f"gs://{BUCKET}/out/{nonce()}/"
    status, submitted = bulk.submit(bulk.upload(lines), output, service_tier="flex")
    assert status == 200, submitted
    final = bulk.wait_done(output)[-1]
    assert final["succeeded"] == 2, final
    assembled = bulk.read_lines(final["results"])
    # The run's tier went upstream for the line without one; the line's own tier won elsewhere.
    assert [item["result"]["service_tier"] for item in assembled] == ["flex", "default"]
    sent = [
        r.json.get("service_tier")
        for r in gateway.requests
        if marker in r.headers.get("cf-aig-metadata", "")
    ]
    assert sorted(sent) == ["default", "flex"]
