"""`prompt_event` over real sockets: Pub/Sub CloudEvents in both content modes, against a
functions-framework process and both emulators."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import event_server, pubsub_data, send
from tests.support.servers import FunctionServer, ServerFactory


def lines_for(server: FunctionServer, message_id: str) -> list[dict[str, Any]]:
    return [line for line in server.log_lines() if line.get("pubsub_message_id") == message_id]


@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_event_runs_the_prompt(serve: ServerFactory, gateway: GatewayEmulator, mode: str) -> None:
    """A message in either content mode runs the prompt; request_id comes from the attribute;
    the result is logged without its text."""
    server = event_server(serve)
    message_id = uuid.uuid4().hex
    request_id = f"evt-{message_id[:8]}"
    response = send(
        server,
        pubsub_data(
            {"prompt": "from pubsub", "api": "chat"}, message_id, {"request_id": request_id}
        ),
        mode,
    )
    assert response.status_code == 200
    line = server.log_for(request_id)
    assert (line["outcome"], line["source"], line["pubsub_message_id"]) == (
        "ok",
        "pubsub",
        message_id,
    )
    result = next(x for x in lines_for(server, message_id) if x["message"] == "event result")
    assert result["result"]["request_id"] == request_id
    assert result["result"]["usage"]["total_tokens"] > 0
    assert "output_text" not in result["result"]


def test_request_id_derived_from_message_id(serve: ServerFactory) -> None:
    """Without a request_id attribute, the request id is derived from the message id."""
    server = event_server(serve)
    message_id = uuid.uuid4().hex
    assert send(server, pubsub_data({"prompt": "hi"}, message_id)).status_code == 200
    server.log_for(f"pubsub-{message_id}")


@pytest.mark.parametrize(
    ("data_kind", "expected"),
    [
        ("not-base64", "not base64"),
        ("not-json", "invalid_request"),
        ("typo", "invalid_request"),
        ("rejected", "upstream_rejected"),
        ("model", "model_not_allowed"),
    ],
)
def test_poison_messages_are_acknowledged(
    serve: ServerFactory, data_kind: str, expected: str
) -> None:
    """Permanent failures answer 2xx (Pub/Sub acks) and are logged as errors."""
    server = event_server(serve, ALLOWED_MODELS="gpt-4o-mini,unknown-model")
    message_id = uuid.uuid4().hex
    bodies: dict[str, Any] = {
        "not-json": pubsub_data(None, message_id, raw=b"{nope"),
        "typo": pubsub_data({"promt": "x"}, message_id),
        "rejected": pubsub_data({"prompt": "x", "model": "unknown-model"}, message_id),
        "model": pubsub_data({"prompt": "x", "model": "o3"}, message_id),
    }
    data = bodies.get(data_kind) or pubsub_data({}, message_id)
    if data_kind == "not-base64":
        data["message"]["data"] = "%%% not base64 %%%"
    response = send(server, data)
    assert response.status_code == 200
    lines = lines_for(server, message_id)
    assert any(expected in (line.get("outcome", "") + line["message"]) for line in lines), lines
    assert all(line["severity"] in ("ERROR", "WARNING") for line in lines)


def test_transient_failure_raises_then_redelivery_succeeds(serve: ServerFactory) -> None:
    """A retryable failure answers 500 so Pub/Sub redelivers; the redelivery runs and succeeds."""
    server = event_server(serve, MAX_RETRIES="0")
    message_id = uuid.uuid4().hex
    data = pubsub_data(
        {"prompt": "hi", "metadata": {"emulator_fault": "503,ok", "nonce": message_id}}, message_id
    )
    first = send(server, data)
    assert first.status_code == 500
    second = send(server, data)
    assert second.status_code == 200
    outcomes = [line.get("outcome") for line in lines_for(server, message_id)]
    assert outcomes.count("upstream_error") == 1 and outcomes.count("ok") == 1


def test_redelivered_message_is_not_run_twice(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """A message id already completed by this instance is acknowledged without a second call."""
    server = event_server(serve)
    message_id = uuid.uuid4().hex
    data = pubsub_data({"prompt": "only once", "metadata": {"nonce": message_id}}, message_id)
    assert send(server, data).status_code == 200
    calls = [r for r in gateway.requests if message_id in r.headers.get("cf-aig-metadata", "")]
    assert send(server, data, mode="structured").status_code == 200
    again = [r for r in gateway.requests if message_id in r.headers.get("cf-aig-metadata", "")]
    assert len(calls) == len(again) == 1
    assert any(line["message"].startswith("duplicate") for line in lines_for(server, message_id))


def test_not_a_pubsub_message_is_acknowledged(serve: ServerFactory) -> None:
    """An event without a Pub/Sub message is logged and acknowledged."""
    server = event_server(serve)
    response = send(
        server,
        {"something": "else", "message": None, "x": {"messageId": "1"}},
        event_id=uuid.uuid4().hex,
    )
    assert response.status_code == 200
