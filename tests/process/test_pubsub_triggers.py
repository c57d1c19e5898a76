"""What both Pub/Sub triggers do alike, each over real sockets against a functions-framework
process and the emulators: `prompt_push` (a push subscription posting the push body) and
`prompt_event` (Eventarc posting it as a CloudEvent). What only one of them does is in
test_push.py and test_function_event.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import send
from tests.support.push import gateway_calls, lines_for, nonce, push, push_body
from tests.support.servers import FunctionServer, ServerFactory


@dataclass(frozen=True, slots=True)
class Trigger:
    target: str
    deliver: Callable[[FunctionServer, dict[str, Any]], httpx.Response]
    retry_status: int  # what tells Pub/Sub to deliver the message again


TRIGGERS = [
    pytest.param(Trigger("prompt_push", push, 503), id="push"),
    pytest.param(Trigger("prompt_event", send, 500), id="event"),
]


@pytest.fixture(params=TRIGGERS)
def trigger(request: pytest.FixtureRequest) -> Trigger:
    found: Trigger = request.param
    return found


def test_request_id_derived_from_message_id(serve: ServerFactory, trigger: Trigger) -> None:
    """Without a request_id attribute, the request id is derived from the message id."""
    server = serve(target=trigger.target)
    message_id = nonce()
    assert trigger.deliver(server, push_body({"prompt": "hi"}, message_id)).status_code == 200
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
    serve: ServerFactory, trigger: Trigger, data_kind: str, expected: str
) -> None:
    """Permanent failures answer 200 (Pub/Sub acknowledges) and are logged as errors."""
    server = serve(target=trigger.target, ALLOWED_MODELS="gpt-4o-mini,unknown-model")
    message_id = nonce()
    bodies: dict[str, Any] = {
        "not-json": push_body(None, message_id, raw=b"{nope"),
        "typo": push_body({"promt": "x"}, message_id),
        "rejected": push_body({"prompt": "x", "model": "unknown-model"}, message_id),
        "model": push_body({"prompt": "x", "model": "o3"}, message_id),
    }
    envelope = bodies.get(data_kind) or push_body({}, message_id)
    if data_kind == "not-base64":
        envelope["message"]["data"] = "%%% not base64 %%%"
    assert trigger.deliver(server, envelope).status_code == 200
    lines = lines_for(server, message_id)
    assert any(expected in (line.get("outcome", "") + line["message"]) for line in lines), lines
    assert all(line["severity"] in ("ERROR", "WARNING") for line in lines)


def test_transient_failure_is_delivered_again_then_succeeds(
    serve: ServerFactory, trigger: Trigger
) -> None:
    """A retryable failure answers 5xx so Pub/Sub redelivers, logged as one warning and no
    traceback; the redelivery runs and succeeds."""
    server = serve(target=trigger.target, MAX_RETRIES="0")
    message_id = nonce()
    body = push_body(
        {"prompt": "hi", "metadata": {"emulator_fault": "503,ok", "nonce": message_id}}, message_id
    )
    assert trigger.deliver(server, body).status_code == trigger.retry_status
    lines = lines_for(server, message_id)
    warned = [x for x in lines if "failed transiently" in x["message"]]
    assert [x["severity"] for x in warned] == ["WARNING"]
    assert not [x for x in lines if "stack_trace" in x]
    assert trigger.deliver(server, body).status_code == 200
    outcomes = [line.get("outcome") for line in lines_for(server, message_id)]
    assert outcomes.count("upstream_error") == 1 and outcomes.count("ok") == 1


def test_a_message_finished_here_runs_once(
    serve: ServerFactory, gateway: GatewayEmulator, trigger: Trigger
) -> None:
    """A message id this instance already finished is acknowledged without a second call."""
    server = serve(target=trigger.target)
    message_id = nonce()
    body = push_body({"prompt": "only once", "metadata": {"nonce": message_id}}, message_id)
    assert trigger.deliver(server, body).status_code == 200
    assert trigger.deliver(server, body).status_code == 200
    assert gateway_calls(gateway.requests, message_id) == 1
    assert any(line["message"].startswith("duplicate") for line in lines_for(server, message_id))
