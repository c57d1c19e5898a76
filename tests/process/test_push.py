"""`prompt_push` over real sockets: standard Pub/Sub push bodies posted to a functions-framework
process, against the gateway and Secret Manager emulators; the same outcomes as `prompt_event`
(tests/process/test_function_event.py); what both triggers do alike is tested over both in
test_pubsub_triggers.py."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from tests.support.push import lines_for, nonce, oidc_token, push, push_body
from tests.support.servers import FunctionServer

Serve = Callable[..., FunctionServer]


def push_server(serve: Serve, **env: str) -> FunctionServer:
    return serve(target="prompt_push", **env)


def test_push_runs_the_prompt(serve: Serve) -> None:
    """A push runs the prompt and answers 200; request_id comes from the attribute, the delivery
    attempt is logged, the result is logged without its text."""
    server = push_server(serve)
    message_id = nonce()
    request_id = f"push-{message_id}"
    body = push_body(
        {"prompt": "from push", "api": "chat"}, message_id, {"request_id": request_id}, attempt=1
    )
    response = push(server, body)
    assert response.status_code == 200
    assert response.json() == {"message_id": message_id, "disposition": "finished"}
    line = server.log_for(request_id)
    assert (line["outcome"], line["source"], line["pubsub_message_id"]) == (
        "ok",
        "pubsub",
        message_id,
    )
    assert line["pubsub_delivery_attempt"] == 1
    result = next(x for x in lines_for(server, message_id) if x["message"] == "event result")
    assert result["result"]["request_id"] == request_id
    assert "output_text" not in result["result"]


NOT_PUSH_BODIES = [
    pytest.param(b"{nope", "push body is not JSON", id="not-json"),
    pytest.param(b"[1, 2]", "push body is not a JSON object", id="array"),
    pytest.param(b'{"prompt": "hi"}', "push body has no `message` object", id="a-prompt"),
    pytest.param(b'{"message": "hi"}', "push body has no `message` object", id="message-text"),
    pytest.param(
        b'{"message": {"data": "e30="}}', "`message.messageId` is missing", id="no-message-id"
    ),
    pytest.param(
        b'{"message": {"messageId": "1", "data": 5}}', "`message.data` is not a string", id="data"
    ),
    pytest.param(
        b'{"message": {"messageId": "1", "attributes": {"a": 1}}}',
        "`message.attributes` is not an object of strings",
        id="attributes",
    ),
    pytest.param(
        b'{"message": {"messageId": "1"}, "deliveryAttempt": "2"}',
        "`deliveryAttempt` is not an integer",
        id="attempt",
    ),
]


@pytest.mark.parametrize(("raw", "named"), NOT_PUSH_BODIES)
def test_not_a_push_body_is_a_400(
    serve: Serve, gateway: GatewayEmulator, raw: bytes, named: str
) -> None:
    """A body that is not a push envelope: 400, the contract's error naming what was wrong, and
    nothing runs."""
    server = push_server(serve)
    before = len(gateway.requests)
    response = push(server, raw=raw)
    assert response.status_code == 400
    answer = response.json()
    assert answer["ok"] is False and answer["error"]["type"] == "invalid_request"
    assert named in answer["error"]["message"]
    assert answer["error"]["retryable"] is False
    refused = [
        line for line in server.log_lines() if line.get("request_id") == answer["request_id"]
    ]
    assert [line["severity"] for line in refused] == ["WARNING"]
    assert len(gateway.requests) == before


def test_only_post_is_a_push(serve: Serve) -> None:
    """Any other method is refused with the contract's 405, and an empty POST with a 400."""
    server = push_server(serve)
    assert push(server, raw=b"").status_code == 400
    got = httpx.get(server.url, timeout=30)
    assert got.status_code == 405 and got.json()["error"]["type"] == "method_not_allowed"


def test_pusher_identity_is_the_token_email_and_the_token_never_logged(serve: Serve) -> None:
    """The pusher is the email of X-Serverless-Authorization's token when present (Cloud Run
    checked that one), else Authorization's; neither token reaches a log line or the answer."""
    server = push_server(serve)
    checked = oidc_token("push-invoker@test-project.iam.gserviceaccount.com")
    passed_on = oidc_token("someone-else@example.com")
    both, alone = nonce(), nonce()
    headers = {
        "x-serverless-authorization": f"Bearer {checked}",
        "authorization": f"Bearer {passed_on}",
    }
    first = push(server, push_body({"prompt": "who"}, both), headers=headers)
    second = push(
        server,
        push_body({"prompt": "who"}, alone),
        headers={"authorization": f"Bearer {passed_on}"},
    )
    assert first.status_code == second.status_code == 200
    assert server.log_for(f"pubsub-{both}")["pushed_by"] == (
        "push-invoker@test-project.iam.gserviceaccount.com"
    )
    assert server.log_for(f"pubsub-{alone}")["pushed_by"] == "someone-else@example.com"
    text = server.log_path.read_text()
    for token in (checked, passed_on):
        assert token not in text and token.split(".")[1] not in text
        assert token not in first.text + second.text


def test_secrets_never_reach_the_push_logs(serve: Serve, gateway: GatewayEmulator) -> None:
    """The gateway token and OpenAI key (from Secret Manager) appear in no line the push process
    wrote, through a success, an upstream auth failure and a refusal."""
    server = push_server(serve, MAX_RETRIES="0")
    message_id = nonce()
    assert push(server, push_body({"prompt": "hi"}, message_id)).status_code == 200
    faulty = {"prompt": "x", "metadata": {"emulator_fault": "401", "nonce": message_id}}
    push(server, push_body(faulty, nonce()))
    assert push(server, raw=b"{}").status_code == 400
    text = server.log_path.read_text()
    assert message_id in text
    assert gateway.token and gateway.openai_key
    assert gateway.token not in text and gateway.openai_key not in text


def test_pusher_is_the_caller_identity_sent_to_the_gateway(
    serve: Serve, gateway: GatewayEmulator
) -> None:
    """With IDENTITY_METADATA=caller,source the pusher's email and `pubsub` reach the gateway
    in cf-aig-metadata, beside the message's own metadata."""
    server = push_server(serve, IDENTITY_METADATA="caller,source")
    email = "push-invoker@test-project.iam.gserviceaccount.com"
    marker = nonce()
    body = push_body({"prompt": "who", "metadata": {"nonce": marker}}, nonce())
    headers = {"authorization": f"Bearer {oidc_token(email)}"}
    assert push(server, body, headers=headers).status_code == 200
    sent = [r for r in gateway.requests if marker in r.headers.get("cf-aig-metadata", "")]
    assert len(sent) == 1
    metadata = json.loads(sent[0].headers["cf-aig-metadata"])
    assert (metadata["caller"], metadata["source"], metadata["nonce"]) == (email, "pubsub", marker)
