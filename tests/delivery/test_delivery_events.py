"""Result delivery for events over real sockets: Pub/Sub messages pushed to a `prompt_event`
process through the Eventarc stand-in, redeliveries and duplicates, and deployments without
sinks."""

from __future__ import annotations

import json
import time
from typing import Any

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.calls import pubsub_data, send
from tests.support.google import WAIT_SECONDS, PushFactory, Results
from tests.support.servers import FunctionServer, ServerFactory
from tests.support.upstream import nonce


def gateway_calls(gateway: GatewayEmulator, marker: str) -> int:
    """Requests for `marker` that reached the gateway (each one a provider call unless the
    answer says it was a cache HIT)."""
    calls = [r for r in gateway.requests if marker in r.headers.get("cf-aig-metadata", "")]
    return len(calls)


def event_server(delivering: ServerFactory, **env: str) -> FunctionServer:
    # MAX_RETRIES=0: an emulator fault reaches the event handler instead of being retried away.
    return delivering(target="prompt_event", MAX_RETRIES="0", **env)


def test_event_success_delivered_via_push(
    delivering: ServerFactory, pubsub: PubSubEmulator, push_to: PushFactory, results: Results
) -> None:
    """A message published to the prompts topic runs through the push path and is delivered."""
    topic = push_to(event_server(delivering))
    request_id = f"evt-{nonce()}"
    message_id = pubsub.publish(
        topic, json.dumps({"prompt": "from pubsub"}).encode(), {"request_id": request_id}
    )
    message = results.wait_message(request_id)
    delivered = json.loads(message["data"])
    assert delivered["ok"] is True and delivered["output_text"] == "Echo: from pubsub"
    assert message["attributes"]["source"] == "pubsub"
    assert message["attributes"]["ok"] == "true"
    stored, _ = results.wait_object(request_id)
    assert stored == delivered
    # The gateway cache key is derived from the message, so another instance would hit it.
    assert delivered["gateway"]["cache_status"] == "MISS"
    assert message_id


def test_poison_message_delivered_via_push(
    delivering: ServerFactory, pubsub: PubSubEmulator, push_to: PushFactory, results: Results
) -> None:
    """A permanent failure is acknowledged and its error delivered, once."""
    server = event_server(delivering)
    topic = push_to(server)
    request_id = f"poison-{nonce()}"
    pubsub.publish(topic, b'{"promt": "typo"}', {"request_id": request_id})
    message = results.wait_message(request_id)
    assert message["attributes"]["ok"] == "false"
    assert message["attributes"]["error_type"] == "invalid_request"
    assert json.loads(message["data"])["error"]["message"] == "unknown field `promt`"
    # Acknowledged: the function was not asked again.
    runs = [line for line in server.log_lines() if line.get("request_id") == request_id]
    assert len([line for line in runs if line.get("outcome") == "invalid_request"]) == 1


def test_retryable_failure_not_delivered(
    delivering: ServerFactory,
    pubsub: PubSubEmulator,
    push_to: PushFactory,
    results: Results,
) -> None:
    """A retryable failure raises and delivers nothing; Pub/Sub's redelivery then succeeds and
    is the one outcome delivered."""
    server = event_server(delivering)
    topic = push_to(server)
    request_id = f"retry-{nonce()}"
    marker = nonce()
    body = {"prompt": "hi", "metadata": {"emulator_fault": "503,ok", "nonce": marker}}
    pubsub.publish(topic, json.dumps(body).encode(), {"request_id": request_id})
    message = results.wait_message(request_id)
    assert message["attributes"]["ok"] == "true"
    outcomes = [
        line.get("outcome") for line in server.log_lines() if line.get("request_id") == request_id
    ]
    assert outcomes.count("upstream_error") == 1 and outcomes.count("ok") == 1
    assert len(results.messages(request_id)) == 1


def test_undeliverable_event_redelivered_not_billed_twice(
    delivering: ServerFactory,
    gateway: GatewayEmulator,
    pubsub: PubSubEmulator,
    push_to: PushFactory,
    storage: StorageEmulator,
    results: Results,
) -> None:
    """The bucket is missing: the event raises and Pub/Sub redelivers; once the bucket exists
    the kept outcome is delivered, and the prompt reached the provider exactly once."""
    bucket = f"late-{nonce()}"
    server = event_server(delivering, RESULTS_TOPIC="", RESULTS_BUCKET=bucket)
    topic = push_to(server)
    request_id = f"late-{nonce()}"
    marker = nonce()
    pubsub.publish(
        topic,
        json.dumps({"prompt": "deliver me later", "metadata": {"nonce": marker}}).encode(),
        {"request_id": request_id},
    )
    deadline = time.monotonic() + WAIT_SECONDS
    while len(pending_lines(server, request_id)) < 2:  # a failure, and one redelivery's failure
        assert time.monotonic() < deadline, "the event was not redelivered"
        time.sleep(0.1)  # polling interval for the log
    storage.create_bucket(bucket)
    stored, _ = results.wait_object(request_id, bucket)
    assert stored["ok"] is True and stored["output_text"] == "Echo: deliver me later"
    assert gateway_calls(gateway, marker) == 1
    runs = [line for line in server.log_lines() if line.get("request_id") == request_id]
    assert [line.get("outcome") for line in runs if "outcome" in line] == ["ok"]


def pending_lines(server: FunctionServer, request_id: str) -> list[dict[str, Any]]:
    return [
        line
        for line in server.log_lines()
        if line.get("event") == "delivery_pending" and line.get("request_id") == request_id
    ]


def test_other_instance_answered_from_gateway_cache(
    delivering: ServerFactory, gateway: GatewayEmulator, results: Results
) -> None:
    """The same message at a second instance (which never saw it) is a gateway cache HIT."""
    first = event_server(delivering)
    second = event_server(delivering, INSTANCE="second")
    message_id = nonce()
    marker = nonce()
    data = pubsub_data({"prompt": "once only", "metadata": {"nonce": marker}}, message_id)
    assert send(first, data).status_code == 200
    assert results.wait_object(f"pubsub-{message_id}")[0]["gateway"]["cache_status"] == "MISS"
    assert send(second, data).status_code == 200
    hits = [
        json.loads(m["data"])["gateway"]["cache_status"]
        for m in wait_messages(results, f"pubsub-{message_id}", 2)
    ]
    assert sorted(hits) == ["HIT", "MISS"]
    keyed = [
        r
        for r in gateway.requests
        if marker in r.headers.get("cf-aig-metadata", "")
        and r.headers.get("cf-aig-cache-key", "").startswith(f"pubsub:{message_id}:")
    ]
    # Both reached the gateway with the same key; only the first (MISS) reached the provider.
    assert len(keyed) == 2


def wait_messages(results: Results, request_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + WAIT_SECONDS
    while len(found := results.messages(request_id)) < count:
        assert time.monotonic() < deadline, found
        time.sleep(0.1)  # polling interval for the subscription
    return found


def test_plain_deployment_loads_no_google_client() -> None:
    """Without sinks (and with sinks, until the first delivery) no Pub/Sub or Storage client
    library is imported: cold start pays nothing for delivery."""
    import subprocess
    import sys

    from tests.support.paths import ROOT

    script = (
        "import sys, main; "
        "print(sorted(m for m in sys.modules if m.startswith(('google.pubsub', "
        "'google.cloud.pubsub', 'google.cloud.storage'))))"
    )
    for extra in ({}, {"RESULTS_TOPIC": "results", "RESULTS_BUCKET": "results-bucket"}):
        env = {
            "PATH": "/usr/bin:/bin",
            "AIG_BASE_URL": "http://127.0.0.1:9/v1/a/g/openai",
            "AIG_TOKEN": "token-for-import-check",
            "GOOGLE_CLOUD_PROJECT": "test-project",
            **extra,
        }
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "[]"


def test_redelivered_duplicate_of_delivered_message_is_acknowledged(
    delivering: ServerFactory, gateway: GatewayEmulator, results: Results
) -> None:
    """A message already run and delivered by this instance is not run or delivered again."""
    server = event_server(delivering)
    message_id, marker = nonce(), nonce()
    data = pubsub_data({"prompt": "dup", "metadata": {"nonce": marker}}, message_id)
    assert send(server, data).status_code == 200
    results.wait_message(f"pubsub-{message_id}")
    assert send(server, data).status_code == 200
    assert gateway_calls(gateway, marker) == 1
    assert len(results.messages(f"pubsub-{message_id}")) == 1


def test_undecodable_message_delivered_as_invalid_request(
    delivering: ServerFactory, results: Results
) -> None:
    """Message data that is not base64 is acknowledged and delivered as invalid_request."""
    server = event_server(delivering)
    message_id = nonce()
    data = pubsub_data({}, message_id)
    data["message"]["data"] = "%%% not base64 %%%"
    assert send(server, data).status_code == 200
    message = results.wait_message(f"pubsub-{message_id}")
    assert message["attributes"]["error_type"] == "invalid_request"
    assert json.loads(message["data"])["error"]["message"] == "message data is not base64"


def test_deliver_without_sinks_is_a_plain_answer(serve: ServerFactory) -> None:
    """`deliver: true` with no sink configured: nothing is delivered, the answer is the plain
    contract answer (no `delivery` field)."""
    server = serve(secrets="env")
    answer = server.post({"prompt": "hi", "deliver": True}).json()
    assert answer["ok"] is True and "delivery" not in answer
