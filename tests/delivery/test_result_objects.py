"""Result objects are created once (`if_generation_match=0`): a second write of the same
`{RESULTS_PREFIX}{request_id}.json` is reported as delivered and leaves the first object as it
is. Over gcp-storage-emulator, which emulators/_storage_main.py makes honour ifGenerationMatch=0
as Cloud Storage does (the published emulator ignores it and overwrites)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from google.api_core.exceptions import PreconditionFailed
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

from emulators.google import StorageEmulator
from tests.support.google import RESULTS_BUCKET
from tests.support.push import nonce, push, push_body
from tests.support.servers import FunctionServer

Serve = Callable[..., FunctionServer]


def test_the_storage_stand_in_honours_if_generation_match(
    storage: StorageEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ifGenerationMatch=0 an existing object is a 412 and unchanged; without it the
    emulator overwrites, as Cloud Storage does."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", storage.url)
    client = gcs.Client(project="test-project", credentials=AnonymousCredentials())  # type: ignore[no-untyped-call]
    blob = client.bucket(RESULTS_BUCKET).blob(f"checks/{nonce()}.json")
    blob.upload_from_string(b'{"n": 1}', content_type="application/json", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        blob.upload_from_string(b'{"n": 2}', content_type="application/json", if_generation_match=0)
    assert storage.read(blob.name, RESULTS_BUCKET) == (b'{"n": 1}', "application/json")
    blob.upload_from_string(b'{"n": 3}', content_type="application/json")
    assert storage.read(blob.name, RESULTS_BUCKET) == (b'{"n": 3}', "application/json")


def test_a_request_id_delivered_again_keeps_the_first_object(
    delivering: Serve, storage: StorageEmulator
) -> None:
    """The same request id delivered twice: both answers report the object delivered, the
    object holds the first outcome, and the second write is one INFO line, not an error."""
    server = delivering()
    request_id = f"again-{nonce()}"
    answers = [
        server.post({"prompt": text, "request_id": request_id, "deliver": True}).json()
        for text in ("first", "second")
    ]
    reports = [{r["sink"]: r for r in answer["delivery"]} for answer in answers]
    uri = f"gs://{RESULTS_BUCKET}/results/{request_id}.json"
    assert [(r["gcs"]["ok"], r["gcs"]["id"]) for r in reports] == [(True, uri), (True, uri)]
    stored = storage.read(f"results/{request_id}.json", RESULTS_BUCKET)
    assert stored is not None and json.loads(stored[0])["output_text"] == "Echo: first"
    lines = [x for x in server.log_lines() if x.get("request_id") == request_id]
    exists = [x for x in lines if x.get("event") == "delivery_exists"]
    assert [(x["severity"], x["object"]) for x in exists] == [("INFO", uri)]
    assert not [x for x in lines if x.get("event") == "delivery_failed"]


def test_a_pushed_message_with_a_used_request_id_is_acknowledged(
    delivering: Serve, storage: StorageEmulator
) -> None:
    """A message whose request id already has its object (another message, or a redelivery
    another instance ran) is finished, 200, not a 5xx pushed again until dead-lettered."""
    server = delivering(target="prompt_push", RESULTS_TOPIC="")
    request_id = f"fixed-{nonce()}"
    first = push(server, push_body({"prompt": "first"}, nonce(), {"request_id": request_id}))
    second = push(server, push_body({"prompt": "second"}, nonce(), {"request_id": request_id}))
    assert (first.status_code, second.status_code) == (200, 200)
    stored = storage.read(f"results/{request_id}.json", RESULTS_BUCKET)
    assert stored is not None and json.loads(stored[0])["output_text"] == "Echo: first"
    assert not [x for x in server.log_lines() if _pending(x, request_id)]


def _pending(line: dict[str, object], request_id: str) -> bool:
    return line.get("event") == "delivery_pending" and line.get("request_id") == request_id
