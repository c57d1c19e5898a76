"""Result delivery over real sockets: functions-framework processes, Google's Pub/Sub emulator
(push subscriptions through the Eventarc stand-in), the Cloud Storage emulator and the gateway
emulator, which counts what reaches the provider."""

from __future__ import annotations

import json
from typing import Any

from emulators.google import PubSubEmulator
from tests.support.contract_answers import parse_sse
from tests.support.google import Results
from tests.support.openapi import validate_schema as validate
from tests.support.servers import ServerFactory
from tests.support.upstream import nonce

JOB = "projects/test-project/locations/us-central1/jobs/nightly"


def without_delivery(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if key != "delivery"}


def assert_delivered(
    results: Results, answer: dict[str, Any], rid: str, **attributes: str
) -> dict[str, Any]:
    """The answer's delivery reports, its Pub/Sub message and its object all agree."""
    schema = "BatchResult" if "results" in answer else "Result" if answer["ok"] else "ErrorAnswer"
    validate(answer, schema)  # openapi.yaml describes the answer, `delivery` included
    reports = {report["sink"]: report for report in answer["delivery"]}
    assert set(reports) == {"pubsub", "gcs"}
    assert all(r["ok"] and r["error"] is None for r in reports.values()), reports
    message = results.wait_message(rid)
    assert reports["pubsub"]["id"] == message["messageId"]
    assert json.loads(message["data"]) == without_delivery(answer)
    for key, value in attributes.items():
        assert message["attributes"][key] == value, (key, message["attributes"])
    assert reports["gcs"]["id"] == f"gs://results-bucket/results/{rid}.json"
    stored, content_type = results.wait_object(rid)
    assert stored == without_delivery(answer)
    assert content_type == "application/json"
    return message


def test_scheduler_call_delivered(delivering: ServerFactory, results: Results) -> None:
    """A Cloud Scheduler call delivers its result, text included, to the topic and the bucket."""
    server = delivering()
    request_id = f"sch-{nonce()}"
    response = server.post(
        {"prompt": "nightly digest", "request_id": request_id},
        headers={"X-CloudScheduler": "true", "X-CloudScheduler-JobName": JOB},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["output_text"] == "Echo: nightly digest"
    message = assert_delivered(
        results,
        answer,
        request_id,
        request_id=request_id,
        ok="true",
        source="scheduler",
        api="responses",
        model=answer["model"],
        scheduler_job=JOB,
    )
    assert "error_type" not in message["attributes"]
    assert json.loads(message["data"])["output_text"] == "Echo: nightly digest"


def test_opt_in_and_opt_out(delivering: ServerFactory, results: Results) -> None:
    """Plain calls are not delivered; `deliver: true` is; a scheduler call with
    `deliver: false` is not."""
    server = delivering()
    plain, opted_out, opted_in = (f"{kind}-{nonce()}" for kind in ("plain", "out", "in"))
    answer = server.post({"prompt": "hi", "request_id": plain}).json()
    assert "delivery" not in answer
    answer = server.post(
        {"prompt": "hi", "request_id": opted_out, "deliver": False},
        headers={"X-CloudScheduler-JobName": JOB},
    ).json()
    assert "delivery" not in answer
    answer = server.post({"prompt": "hi", "request_id": opted_in, "deliver": True}).json()
    assert_delivered(results, answer, opted_in, source="http", ok="true")
    # Delivery happens before the answer, so anything delivered would be there by now.
    assert results.messages(plain) == results.messages(opted_out) == []
    assert results.object(plain) is None and results.object(opted_out) is None


def test_error_delivered_as_error(delivering: ServerFactory, results: Results) -> None:
    """A failed call delivers its error object, with error_type and ok=false."""
    server = delivering()
    request_id = f"err-{nonce()}"
    response = server.post(
        {"prompt": "hi", "model": "unknown-model", "request_id": request_id, "deliver": True}
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"]["type"] == "upstream_rejected"
    assert_delivered(
        results, answer, request_id, ok="false", error_type="upstream_rejected", source="http"
    )


def test_invalid_scheduler_body_delivered(delivering: ServerFactory, results: Results) -> None:
    """A scheduler job whose body is refused still delivers the refusal: someone must see it."""
    server = delivering()
    request_id = f"bad-{nonce()}"
    response = server.post(
        {"promt": "typo", "request_id": request_id}, headers={"X-CloudScheduler-JobName": JOB}
    )
    assert response.status_code == 400
    assert_delivered(
        results, response.json(), request_id, error_type="invalid_request", source="scheduler"
    )


def test_batch_delivered(delivering: ServerFactory, results: Results) -> None:
    """`{"requests": [...], "deliver": true}` delivers the whole batch answer once."""
    server = delivering()
    response = server.post(
        {"requests": [{"prompt": "one"}, {"promt": "two"}], "deliver": True}
    ).json()
    assert [item["ok"] for item in response["results"]] == [True, False]
    (report,) = [r for r in response["delivery"] if r["sink"] == "gcs"]
    request_id = report["id"].removeprefix("gs://results-bucket/results/").removesuffix(".json")
    assert request_id.startswith("batch-")
    assert_delivered(results, response, request_id, ok="false", source="http")


def test_stream_delivers_its_final_event(delivering: ServerFactory, results: Results) -> None:
    """A stream delivers the object of its final `result` event, which carries the reports."""
    server = delivering()
    request_id = f"stream-{nonce()}"
    response = server.post(
        {"prompt": "stream me", "stream": True, "request_id": request_id, "deliver": True}
    )
    events = parse_sse(response.text)
    name, final = events[-1]
    assert name == "result"
    assert final["output_text"] == "Echo: stream me"
    assert_delivered(results, final, request_id, ok="true")


def test_undeliverable_http_result_still_answered(
    delivering: ServerFactory, pubsub: PubSubEmulator, results: Results
) -> None:
    """The topic was deleted: the call still answers, says so per sink, logs an ERROR."""
    topic = f"gone-{nonce()}"
    pubsub.create_topic(topic)
    server = delivering(RESULTS_TOPIC=topic)
    pubsub.delete_topic(topic)
    request_id = f"lost-{nonce()}"
    response = server.post({"prompt": "hi", "request_id": request_id, "deliver": True})
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True
    reports = {r["sink"]: r for r in answer["delivery"]}
    assert reports["pubsub"]["ok"] is False and reports["pubsub"]["id"] is None
    assert "NotFound" in reports["pubsub"]["error"]
    assert reports["gcs"]["ok"] is True
    assert results.wait_object(request_id)[0] == without_delivery(answer)
    errors = [
        line
        for line in server.log_lines()
        if line.get("event") == "delivery_failed" and line.get("request_id") == request_id
    ]
    assert [(line["severity"], line["sink"]) for line in errors] == [("ERROR", "pubsub")]
