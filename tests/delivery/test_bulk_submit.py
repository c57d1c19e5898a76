"""Submitting bulk runs over real sockets (docs/bulk.md): `prompt` processes publish to Google's
Pub/Sub emulator and read the Cloud Storage emulator. The topic here has no push subscription,
only a pull one this test reads, so every published message is counted and nothing runs."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulators.google import PubSubEmulator, StorageEmulator
from tests.support.google import RESULTS_BUCKET
from tests.support.servers import FunctionServer

BUCKET = RESULTS_BUCKET
Serve = Callable[..., FunctionServer]


def nonce() -> str:
    return uuid.uuid4().hex[:10]


class Topic:
    """A topic with one pull subscription: what was published to it, every message once."""

    def __init__(self, pubsub: PubSubEmulator) -> None:
        self.pubsub = pubsub
        self.name = f"bulk-submit-{nonce()}"
        pubsub.create_topic(self.name)
        self.subscription = f"{self.name}-watch"
        pubsub.create_subscription(self.subscription, self.name)

    def drain(self) -> list[dict[str, Any]]:
        """Every message published so far (the publish calls have all returned)."""
        messages: list[dict[str, Any]] = []
        empty = 0
        while empty < 3:  # the emulator may answer one pull empty while messages wait
            got = self.pubsub.pull(self.subscription, max_messages=1000)
            messages.extend(got)
            empty = 0 if got else empty + 1
        return messages


def upload(storage: StorageEmulator, lines: list[Any]) -> str:
    name = f"in/{nonce()}.jsonl"
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    storage.write(name, text.encode() + b"\n")
    return f"gs://{BUCKET}/{name}"


def submit(server: FunctionServer, source: str, output: str, **extra: Any) -> tuple[int, Any]:
    response = server.post({"bulk": {"input": source, "output": output, **extra}})
    return response.status_code, response.json()


@pytest.fixture(scope="module")
def topic(pubsub: PubSubEmulator) -> Topic:
    return Topic(pubsub)


def test_concurrent_identical_submissions_publish_each_line_once(
    delivering: Serve, storage: StorageEmulator, topic: Topic
) -> None:
    """Four identical submissions at once, two to each of two instances, publish each of the
    1,500 lines exactly once: the in-process turn and the Cloud Storage lease together."""
    first = delivering(BULK_TOPIC=topic.name, RESULTS_TOPIC="", RESULTS_BUCKET="")
    second = delivering(BULK_TOPIC=topic.name, RESULTS_TOPIC="", RESULTS_BUCKET="", TEST_NODE="2")
    ids = [f"t-{i}" for i in range(1500)]
    source = upload(storage, [{"custom_id": cid, "prompt": f"ticket {cid}"} for cid in ids])
    output = f"gs://{BUCKET}/out/{nonce()}/"
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda s: submit(s, source, output), [first, second] * 2))
    assert [status for status, _ in answers] == [200] * 4, answers
    assert len({answer["bulk_id"] for _, answer in answers}) == 1
    assert sum(answer["published"] for _, answer in answers) == 1500, answers
    messages = topic.drain()
    counts = Counter(m["attributes"]["custom_id"] for m in messages)
    assert len(messages) == 1500 and set(counts) == set(ids), len(messages)
    assert max(counts.values()) == 1
    # And once more, after all of them: nothing.
    status, again = submit(first, source, output)
    assert (status, again["published"], again["already_published"]) == (200, 0, 1500)
    assert topic.drain() == []


def test_same_id_with_another_input_refused(
    delivering: Serve, storage: StorageEmulator, topic: Topic
) -> None:
    """A run's id names one input: the same id into the same folder with another file (or the
    same name rewritten) is refused, and none of the other file's lines are published."""
    server = delivering(BULK_TOPIC=topic.name, RESULTS_TOPIC="", RESULTS_BUCKET="")
    output = f"gs://{BUCKET}/out/{nonce()}/"
    first = upload(storage, [{"custom_id": "a", "prompt": "x"}])
    second = upload(storage, [{"custom_id": "a", "prompt": "y"}, {"custom_id": "b", "prompt": "z"}])
    status, answer = submit(server, first, output, id="nightly")
    assert (status, answer["published"]) == (200, 1), answer
    status, answer = submit(server, second, output, id="nightly")
    assert status == 400, answer
    assert answer["error"]["type"] == "invalid_request"
    assert f"was submitted with {first}" in answer["error"]["message"]
    # The same object name, rewritten (a new generation), is another input too.
    storage.write(first.removeprefix(f"gs://{BUCKET}/"), b'{"custom_id": "a", "prompt": "new"}\n')
    status, answer = submit(server, first, output, id="nightly")
    assert status == 400 and "a run's id names one input" in answer["error"]["message"]
    assert [m["attributes"]["custom_id"] for m in topic.drain()] == ["a"]


def test_buckets_outside_bulk_buckets_refused(
    delivering: Serve, storage: StorageEmulator, topic: Topic
) -> None:
    """With BULK_BUCKETS set, a submission or a status call naming any other bucket is a 400
    naming it, before anything is read."""
    server = delivering(BULK_TOPIC=topic.name, BULK_BUCKETS=f"gs://{BUCKET}, tickets-in")
    inside = upload(storage, [{"custom_id": "a", "prompt": "x"}])
    cases = [
        (
            {"bulk": {"input": "gs://elsewhere/in.jsonl", "output": f"gs://{BUCKET}/o/"}},
            "bulk.input",
        ),
        ({"bulk": {"input": inside, "output": "gs://elsewhere/o/"}}, "bulk.output"),
        ({"bulk_status": {"output": "gs://elsewhere/o/"}}, "bulk_status.output"),
    ]
    for body, field in cases:
        response = server.post(body)
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["message"] == f"{field}: bucket 'elsewhere' is not in BULK_BUCKETS"
        assert error["retryable"] is False
    assert topic.drain() == []


def test_status_of_a_folder_whose_manifest_is_not_one(
    delivering: Serve, storage: StorageEmulator, topic: Topic
) -> None:
    """`_bulk.json` that is not a run's manifest is the caller's mistake: a 400 that says so,
    not a retryable 502 to retry for ever."""
    server = delivering(BULK_TOPIC=topic.name, RESULTS_TOPIC="", RESULTS_BUCKET="")
    folder = f"out/{nonce()}/"
    storage.write(f"{folder}_bulk.json", b'{"hello": "world"}')
    response = server.post({"bulk_status": {"output": f"gs://{BUCKET}/{folder}"}})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request" and error["retryable"] is False
    assert "is not a bulk run manifest" in error["message"]


def test_allowed_models_checked_for_the_whole_file(
    delivering: Serve, storage: StorageEmulator, topic: Topic
) -> None:
    """A line naming a model outside ALLOWED_MODELS refuses the file at submission, as every
    other bad line does: nothing is written or published."""
    server = delivering(
        BULK_TOPIC=topic.name, ALLOWED_MODELS="gpt-4o-mini", RESULTS_TOPIC="", RESULTS_BUCKET=""
    )
    source = upload(
        storage,
        [
            {"custom_id": "ok", "prompt": "x", "model": "gpt-4o-mini"},
            {"custom_id": "default", "prompt": "x"},
            {
                "custom_id": "openai",
                "method": "POST",
                "url": "/v1/chat/completions",
                "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]},
            },
        ],
    )
    folder = f"out/{nonce()}/"
    status, answer = submit(server, source, f"gs://{BUCKET}/{folder}")
    assert status == 400, answer
    message = answer["error"]["message"]
    assert "1 bad line(s)" in message
    assert "line 3: model 'gpt-4o' is not in ALLOWED_MODELS" in message
    assert storage.names(folder) == []
    assert topic.drain() == []


def test_elapsed_seconds_stops_when_the_run_is_done(
    delivering: Serve, storage: StorageEmulator, topic: Topic
) -> None:
    """Once every item is written, elapsed_seconds is the time to the last one and stays so."""
    server = delivering(BULK_TOPIC=topic.name, RESULTS_TOPIC="", RESULTS_BUCKET="")
    source = upload(storage, [{"custom_id": "a", "prompt": "x"}, {"custom_id": "b", "prompt": "y"}])
    folder = f"out/{nonce()}/"
    assert submit(server, source, f"gs://{BUCKET}/{folder}")[0] == 200
    topic.drain()
    for cid in ("a", "b"):  # as prompt_event writes them (tests/test_bulk.py runs that path)
        storage.write(f"{folder}{cid}.json", json.dumps({"custom_id": cid}).encode() + b"\n")
    body = {"bulk_status": {"output": f"gs://{BUCKET}/{folder}"}}
    first = server.post(body).json()
    assert first["state"] == "done", first
    started = time.monotonic()
    while time.monotonic() - started < 1.5:  # status calls until wall time has moved on
        later = server.post(body).json()
    assert later["elapsed_seconds"] == first["elapsed_seconds"]
