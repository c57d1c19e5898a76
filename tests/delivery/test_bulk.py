"""Bulk runs over real sockets (docs/bulk.md): a `prompt` process submits to Google's Pub/Sub
emulator, whose push subscription feeds a `prompt_event` process through the Eventarc
stand-in; input and output live in the Cloud Storage emulator; the gateway emulator counts
what reaches the provider."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from emulators.gateway import GatewayEmulator
from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.bulk import BUCKET, BULK_ON, Bulk, gateway_calls, line, listed, nonce
from tests.support.calls import pubsub_data, send
from tests.support.google import PushFactory
from tests.support.openapi import validate_schema as validate
from tests.support.servers import ServerFactory


@pytest.fixture(scope="module")
def bulk(
    delivering: ServerFactory,
    pubsub: PubSubEmulator,
    storage: StorageEmulator,
    push_to: PushFactory,
) -> Iterator[Bulk]:
    # No result sinks: a bulk item's output object is its delivery. MAX_RETRIES=0 so a 429
    # reaches Pub/Sub's redelivery instead of being retried in process.
    event = delivering(
        target="prompt_event", MAX_RETRIES="0", RESULTS_TOPIC="", RESULTS_BUCKET="", **BULK_ON
    )
    topic = push_to(event)
    http = delivering(BULK_TOPIC=topic, RESULTS_TOPIC="", RESULTS_BUCKET="")
    yield Bulk(http, event, topic, pubsub, storage)


def test_bad_file_refused_listing_lines_nothing_published(bulk: Bulk) -> None:
    """A file with bad lines is refused whole: one 400 naming the first bad lines, no
    manifest, no message on the topic."""
    watch = f"watch-{nonce()}"
    bulk.pubsub.create_subscription(watch, bulk.topic)
    source = bulk.upload(
        [
            {"custom_id": "a", "prompt": "fine"},
            "{not json",
            {"prompt": "no id"},
            {"custom_id": "d", "promt": "typo"},
            {"custom_id": "e", "method": "POST", "url": "/v1/embeddings", "body": {}},
            {"custom_id": "f", "prompt": "fine too"},
        ]
    )
    output = f"gs://{BUCKET}/out/{nonce()}/"
    status, answer = bulk.submit(source, output)
    assert status == 400, answer
    message = answer["error"]["message"]
    assert answer["error"]["type"] == "invalid_request"
    assert "4 bad line(s)" in message and "nothing was published" in message
    assert "line 2: not valid JSON" in message
    assert "line 3: custom_id: required" in message
    assert "line 4: unknown field `promt`" in message
    assert "line 5: url: must be /v1/responses or /v1/chat/completions" in message
    assert "line 1" not in message and "line 6" not in message
    assert bulk.storage.names(output.removeprefix(f"gs://{BUCKET}/")) == []
    assert bulk.pubsub.pull(watch) == []


def test_duplicate_custom_id_refused(bulk: Bulk) -> None:
    source = bulk.upload([{"custom_id": "x", "prompt": "1"}, {"custom_id": "x", "prompt": "2"}])
    status, answer = bulk.submit(source, f"gs://{BUCKET}/out/{nonce()}/")
    assert status == 400
    assert "line 2: custom_id 'x' repeats line 1" in answer["error"]["message"]


def test_missing_input_and_bad_paths_refused(bulk: Bulk) -> None:
    status, answer = bulk.submit(f"gs://{BUCKET}/in/none.jsonl", f"gs://{BUCKET}/o/")
    assert status == 400 and "does not exist" in answer["error"]["message"]
    status, answer = bulk.submit("s3://x/y", f"gs://{BUCKET}/o/")
    assert status == 400 and "bulk.input" in answer["error"]["message"]


def test_mixed_run_completes_in_order_and_resubmission_publishes_nothing(
    bulk: Bulk, gateway: GatewayEmulator
) -> None:
    """Good items, a permanent upstream failure and a 429-then-ok item run through the push
    path; counts add up at every poll; results.jsonl is in input order; a re-submission
    publishes nothing and bills nothing."""
    marker = nonce()
    lines = [
        line("first", "one", f"{marker}-1"),
        line("rejected", "two", f"{marker}-2", fault="400"),
        line("limited", "three", f"{marker}-3", fault="429,ok"),
        line("last", "four", f"{marker}-4"),
    ]
    source = bulk.upload(lines)
    output = f"gs://{BUCKET}/out/{nonce()}/"
    status, submitted = bulk.submit(source, output)
    assert status == 200, submitted
    validate(submitted, "BulkSubmitted")
    assert submitted["total"] == 4 and submitted["published"] == 4
    polls = bulk.wait_done(output)
    final = polls[-1]
    assert (final["succeeded"], final["failed"], final["pending"]) == (3, 1, 0)
    assert final["tokens"] > 0
    assert final["results"] == f"{output}results.jsonl"
    assembled = bulk.read_lines(final["results"])
    assert [item["custom_id"] for item in assembled] == ["first", "rejected", "limited", "last"]
    assert assembled[0]["result"]["output_text"] == "Echo: one"
    assert assembled[1]["error"]["type"] == "upstream_rejected" and "result" not in assembled[1]
    assert assembled[2]["result"]["output_text"] == "Echo: three"
    # The 429 reached the provider, then its redelivery; every other item once.
    counts = [gateway_calls(gateway, f"{marker}-{i}") for i in range(1, 5)]
    assert counts == [1, 1, 2, 1]

    # Same file, same folder: the same run; nothing is published or run again.
    status, again = bulk.submit(source, output)
    assert status == 200
    assert again["bulk_id"] == submitted["bulk_id"]
    assert (again["published"], again["already_published"]) == (0, 4)
    assert bulk.status(output)["state"] == "done"
    assert [gateway_calls(gateway, f"{marker}-{i}") for i in range(1, 5)] == counts


def test_other_run_into_same_folder_refused(bulk: Bulk) -> None:
    output = f"gs://{BUCKET}/out/{nonce()}/"
    first = bulk.upload([{"custom_id": "a", "prompt": "x"}])
    second = bulk.upload([{"custom_id": "a", "prompt": "y"}])
    assert bulk.submit(first, output, id="named-run")[1]["bulk_id"] == "named-run"
    status, answer = bulk.submit(second, output)
    assert status == 400 and "already holds bulk run 'named-run'" in answer["error"]["message"]
    status, answer = bulk.submit(second, f"gs://{BUCKET}/out/{nonce()}/", id="a b")
    assert status == 400 and "bulk.id" in answer["error"]["message"]


def test_redelivered_item_not_billed_twice(bulk: Bulk, gateway: GatewayEmulator) -> None:
    """The same item delivered again (another message id, as at another instance) after it
    finished is neither run nor written again."""
    marker = nonce()
    folder = f"out/{nonce()}/"
    attributes = {
        "bulk_id": "bulk-test",
        "custom_id": "once",
        "bulk_output": f"gs://{BUCKET}/{folder}",
    }
    body = {"prompt": "only once", "metadata": {"nonce": marker}}
    listed(bulk.storage, folder, "bulk-test", "once")
    first = send(bulk.event, pubsub_data(body, nonce(), attributes))
    assert first.status_code == 200
    stored = bulk.storage.read(f"{folder}once.json")
    assert stored is not None
    second = send(bulk.event, pubsub_data(body, nonce(), attributes))
    assert second.status_code == 200
    assert gateway_calls(gateway, marker) == 1
    assert bulk.storage.read(f"{folder}once.json") == stored


def test_openai_lines_give_both_output_shapes(bulk: Bulk) -> None:
    """OpenAI Batch API lines run as they are; the output has our lines and OpenAI's."""
    source = bulk.upload(
        [
            {
                "custom_id": "chat-1",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "user", "content": "hello chat"}],
                    "max_tokens": 50,
                },
            },
            {
                "custom_id": "resp-1",
                "method": "POST",
                "url": "/v1/responses",
                "body": {"model": "gpt-4o-mini", "input": "hello responses"},
            },
        ]
    )
    output = f"gs://{BUCKET}/out/{nonce()}/"
    status, submitted = bulk.submit(source, output)
    assert status == 200, submitted
    final = bulk.wait_done(output)[-1]
    assert final["succeeded"] == 2
    ours = bulk.read_lines(final["results"])
    assert [(o["custom_id"], o["result"]["api"]) for o in ours] == [
        ("chat-1", "chat"),
        ("resp-1", "responses"),
    ]
    assert final["openai_results"] == f"{output}openai_results.jsonl"
    theirs = bulk.read_lines(final["openai_results"])
    assert [t["custom_id"] for t in theirs] == ["chat-1", "resp-1"]
    chat, responses = (t["response"] for t in theirs)
    assert chat["status_code"] == 200 and theirs[0]["error"] is None
    assert chat["body"]["object"] == "chat.completion"
    assert chat["body"]["choices"][0]["message"]["content"] == "Echo: hello chat"
    assert responses["body"]["object"] == "response"


def test_bad_item_message_written_as_error_line(bulk: Bulk) -> None:
    """An item message that cannot run (published by hand, not by a submission) is finished as
    an error line, not redelivered for ever."""
    folder = f"out/{nonce()}/"
    attributes = {
        "bulk_id": "bulk-test",
        "custom_id": "bad",
        "bulk_output": f"gs://{BUCKET}/{folder}",
    }
    listed(bulk.storage, folder, "bulk-test", "bad")
    answer = send(bulk.event, pubsub_data(None, nonce(), attributes, raw=b'{"promt": "typo"}'))
    assert answer.status_code == 200
    stored = bulk.storage.read(f"{folder}bad.json")
    assert stored is not None
    assert json.loads(stored[0])["error"]["message"] == "unknown field `promt`"


def test_scheduler_body_with_dated_folder(bulk: Bulk) -> None:
    """A Cloud Scheduler job's body (which always carries `deliver`) submits into a folder
    named for the day, so the same job makes a new run each night."""
    source = bulk.upload([{"custom_id": "a", "prompt": "nightly"}])
    folder = f"gs://{BUCKET}/nightly/{nonce()}/"
    response = bulk.http.post(
        {"bulk": {"input": source, "output": folder + "{date}/"}, "deliver": True},
        headers={"X-CloudScheduler": "true", "X-CloudScheduler-JobName": "nightly-bulk"},
    )
    assert response.status_code == 200, response.text
    output = response.json()["output"]
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert output in (folder + day + "/", folder + time.strftime("%Y-%m-%d") + "/")
    assert bulk.wait_done(output)[-1]["succeeded"] == 1


def test_bulk_off_without_bulk_topic(serve: ServerFactory) -> None:
    """Without BULK_TOPIC a bulk body is a clear 400, and no storage call is made."""
    server = serve()
    for body in (
        {"bulk": {"input": "gs://b/in.jsonl", "output": "gs://b/out/"}},
        {"bulk_status": {"output": "gs://b/out/"}},
    ):
        response = server.post(body)
        assert response.status_code == 400
        assert "BULK_TOPIC is not set" in response.json()["error"]["message"]
