"""`rerun: "failed"` over real sockets (docs/bulk.md): a run through Google's Pub/Sub emulator,
the Eventarc stand-in, a `prompt_event` process, the Storage and gateway emulators; the items
that ended in an error run again, once each, however many reruns arrive at once."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from emulators.google import StorageEmulator
from tests.support.google import RESULTS_BUCKET
from tests.support.servers import FunctionServer

BUCKET = RESULTS_BUCKET
RUN_SECONDS = 90.0
Serve = Callable[..., FunctionServer]


def nonce() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module")
def http(delivering: Serve, push_to: Callable[[FunctionServer], str]) -> FunctionServer:
    event = delivering(
        target="prompt_event",
        MAX_RETRIES="0",
        RESULTS_TOPIC="",
        RESULTS_BUCKET="",
        BULK_TOPIC="prompts",
    )
    topic = push_to(event)
    return delivering(BULK_TOPIC=topic, RESULTS_TOPIC="", RESULTS_BUCKET="")


def wait_done(http: FunctionServer, output: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        answer: dict[str, Any] = http.post({"bulk_status": {"output": output}}).json()
        if answer.get("state") == "done":
            return answer
        assert time.monotonic() < deadline, answer
        time.sleep(0.2)  # polling interval for the status call


def calls(gateway: GatewayEmulator, marker: str) -> int:
    return sum(1 for r in gateway.requests if marker in r.headers.get("cf-aig-metadata", ""))


def test_rerun_runs_failed_items_again_once_each(
    http: FunctionServer, storage: StorageEmulator, gateway: GatewayEmulator
) -> None:
    """A run with one item refused upstream: three reruns at once put it through once more
    (and only it); the run finishes again with it succeeded, results.jsonl assembled anew."""
    marker = nonce()
    lines = [
        {"custom_id": "good", "prompt": "one", "metadata": {"nonce": f"{marker}-good"}},
        {
            "custom_id": "flaky",
            "prompt": "two",
            "metadata": {"nonce": f"{marker}-flaky", "emulator_fault": "400,ok"},
        },
    ]
    name = f"in/{nonce()}.jsonl"
    storage.write(name, "".join(json.dumps(line) + "\n" for line in lines).encode())
    output = f"gs://{BUCKET}/out/{nonce()}/"
    submitted = http.post({"bulk": {"input": f"gs://{BUCKET}/{name}", "output": output}}).json()
    assert submitted["published"] == 2, submitted
    first = wait_done(http, output)
    assert (first["succeeded"], first["failed"]) == (1, 1)

    body = {"bulk": {"output": output, "rerun": "failed"}}
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: http.post(body), range(3)))
    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    assert sum(a.json()["published"] for a in answers) == 1
    assert {a.json()["bulk_id"] for a in answers} == {submitted["bulk_id"]}
    again = wait_done(http, output)
    assert (again["succeeded"], again["failed"], again["pending"]) == (2, 0, 0)
    found = storage.read(output.removeprefix(f"gs://{BUCKET}/") + "results.jsonl")
    assert found is not None
    assembled = [json.loads(line) for line in found[0].decode().splitlines()]
    assert [(a["custom_id"], "result" in a) for a in assembled] == [("good", True), ("flaky", True)]
    assert (calls(gateway, f"{marker}-good"), calls(gateway, f"{marker}-flaky")) == (1, 2)
    # Nothing in error any more: a further rerun publishes nothing.
    assert http.post(body).json()["published"] == 0


def test_rerun_of_a_folder_without_a_run_is_refused(http: FunctionServer) -> None:
    response = http.post({"bulk": {"output": f"gs://{BUCKET}/none/{nonce()}/", "rerun": "failed"}})
    assert response.status_code == 400
    assert "no bulk run at" in response.json()["error"]["message"]
