"""A bulk run whose items reach `prompt_push` through the Pub/Sub emulator's own push
subscription: the same run as over the Eventarc path (tests/test_bulk.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.bulk import BULK_ON
from tests.support.google import RESULTS_BUCKET
from tests.support.push import gateway_calls, nonce
from tests.support.servers import FunctionServer

Serve = Callable[..., FunctionServer]
# Time for a whole small run: a 429 waits for Pub/Sub's redelivery.
RUN_SECONDS = 90.0


def item(custom_id: str, prompt: str, marker: str, fault: str | None = None) -> dict[str, Any]:
    metadata = {"nonce": marker, **({"emulator_fault": fault} if fault else {})}
    return {"custom_id": custom_id, "prompt": prompt, "metadata": metadata}


def test_bulk_items_pushed_to_prompt_push_complete_the_run(
    delivering: Serve, pubsub: PubSubEmulator, storage: StorageEmulator, gateway: GatewayEmulator
) -> None:
    """Good items, a permanent failure and a 429-then-ok item: the run is done, its results in
    input order, the 429 item run twice (its push answered 5xx, then pushed again), the others
    once."""
    # No result sinks: an item's output object is its delivery. MAX_RETRIES=0: a 429 goes back
    # to Pub/Sub.
    push_fn = delivering(
        target="prompt_push", MAX_RETRIES="0", RESULTS_TOPIC="", RESULTS_BUCKET="", **BULK_ON
    )
    topic = f"bulk-{nonce()}"
    pubsub.create_topic(topic)
    pubsub.create_subscription(
        f"{topic}-push", topic, push_endpoint=f"{push_fn.url}/", backoff_seconds=(0, 1)
    )
    http = delivering(BULK_TOPIC=topic, RESULTS_TOPIC="", RESULTS_BUCKET="")
    marker = nonce()
    lines = [
        item("first", "one", f"{marker}-1"),
        item("rejected", "two", f"{marker}-2", fault="400"),
        item("limited", "three", f"{marker}-3", fault="429,ok"),
    ]
    source = f"in/{nonce()}.jsonl"
    storage.write(source, "\n".join(json.dumps(x) for x in lines).encode() + b"\n")
    output = f"gs://{RESULTS_BUCKET}/out/{nonce()}/"
    submitted = http.post({"bulk": {"input": f"gs://{RESULTS_BUCKET}/{source}", "output": output}})
    assert submitted.status_code == 200, submitted.text
    deadline = time.monotonic() + RUN_SECONDS
    while (status := http.post({"bulk_status": {"output": output}}).json())["state"] != "done":
        assert time.monotonic() < deadline, status
        time.sleep(0.2)  # polling interval for the status call
    assert (status["succeeded"], status["failed"], status["pending"]) == (2, 1, 0)
    found = storage.read(status["results"].removeprefix(f"gs://{RESULTS_BUCKET}/"))
    assert found is not None
    assembled = [json.loads(x) for x in found[0].decode().splitlines()]
    assert [x["custom_id"] for x in assembled] == ["first", "rejected", "limited"]
    assert assembled[1]["error"]["type"] == "upstream_rejected"
    assert assembled[2]["result"]["output_text"] == "Echo: three"
    counts = [gateway_calls(gateway.requests, f"{marker}-{i}") for i in (1, 2, 3)]
    assert counts == [1, 1, 2]
