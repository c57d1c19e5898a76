"""The AI Gateway stand-in: auth, routes, validation, recording, control endpoints and CLI.

Over real sockets with ``httpx``; every answer is checked against the ``openai`` package's own
types so the emulator keeps speaking the real wire format.
"""

from __future__ import annotations

import httpx
import pytest
from openai.types.chat import ChatCompletion

from emulators.gateway import GatewayEmulator
from tests.support.emulators import (
    CHAT,
    RESPONSES,
    TOKEN,
    chat_body,
    cli,
    fixture,
    responses_body,
)

# === AI Gateway: auth ========================================================================


@pytest.mark.parametrize("token", [None, "Bearer wrong", TOKEN])
def test_gateway_rejects_missing_or_wrong_token(
    gateway: GatewayEmulator, token: str | None
) -> None:
    headers = {} if token is None else {"cf-aig-authorization": token}
    answer = httpx.post(gateway.base_url() + CHAT, json=chat_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": 2009, "message": "Unauthorized"}],
        "name": "AiGatewayError",
        "httpCode": 401,
        "internalCode": 2009,
    }
    assert answer.headers["cf-aig-log-id"]


def test_gateway_wrong_provider_key_is_openai_invalid_api_key(gateway: GatewayEmulator) -> None:
    headers = {
        "cf-aig-authorization": f"Bearer {TOKEN}",
        "authorization": "Bearer not-a-real-key-but-should-be-sanitized",
    }
    answer = httpx.post(gateway.base_url() + CHAT, json=chat_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json() == fixture("errors/error_401_invalid_api_key__chat_recorded.json")


def test_gateway_byok_and_key_rules(gateway: GatewayEmulator) -> None:
    gateway_only = {"cf-aig-authorization": f"Bearer {TOKEN}"}
    url = gateway.base_url() + RESPONSES
    assert httpx.post(url, json=responses_body(), headers=gateway_only).status_code == 200

    gateway.require_openai_key = True
    answer = httpx.post(url, json=responses_body(), headers=gateway_only)
    assert answer.status_code == 400
    assert answer.json()["name"] == "AiGatewayError"
    assert answer.json()["httpCode"] == 400

    gateway.openai_key = None  # no key to match: any Authorization is wrong
    answer = httpx.post(url, json=responses_body(), headers={**gateway_only, "authorization": "x"})
    assert answer.json()["error"]["code"] == "invalid_api_key"


def test_gateway_token_rotation(gateway: GatewayEmulator, client: httpx.Client) -> None:
    assert client.post(CHAT, json=chat_body()).status_code == 200
    gateway.token = "rotated"
    assert client.post(CHAT, json=chat_body()).status_code == 401
    headers = {"cf-aig-authorization": "Bearer rotated"}
    assert client.post(CHAT, json=chat_body(), headers=headers).status_code == 200


# === AI Gateway: routes and validation =======================================================


def test_gateway_unknown_path_and_method(gateway: GatewayEmulator, client: httpx.Client) -> None:
    assert client.post("/embeddings", json={}).status_code == 404
    assert (
        client.post(f"http://127.0.0.1:{gateway.port}/v1/a/g/anthropic/v1/messages").status_code
        == 404
    )
    answer = client.get(CHAT)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "content", "param", "code"),
    [
        (CHAT, b"{not json", None, None),
        (CHAT, b"[1, 2]", None, "invalid_type"),
        (CHAT, b'{"messages": [{"role": "user", "content": "hi"}]}', None, None),
        (CHAT, b'{"model": "", "messages": []}', "model", "invalid_value"),
        (CHAT, b'{"model": "gpt-4o"}', "messages", "missing_required_parameter"),
        (CHAT, b'{"model": "gpt-4o", "messages": []}', "messages", "empty_array"),
        (CHAT, b'{"model": "gpt-4o", "messages": "hi"}', "messages", "invalid_type"),
        (RESPONSES, b'{"model": "gpt-4o"}', "input", "missing_required_parameter"),
        (RESPONSES, b'{"model": "gpt-4o", "input": 3}', "input", "invalid_type"),
        (RESPONSES, b'{"model": "unknown-model", "input": "hi"}', "model", "model_not_found"),
        (
            CHAT,
            b'{"model": "unknown-x", "messages": [{"role": "user"}]}',
            "model",
            "model_not_found",
        ),
    ],
)
def test_gateway_invalid_requests(
    client: httpx.Client, path: str, content: bytes, param: str | None, code: str | None
) -> None:
    answer = client.post(path, content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


def test_gateway_model_not_found_matches_fixture(client: httpx.Client) -> None:
    body = fixture("errors/error_400_model_not_found__responses_recorded.request.json")
    body["model"] = "unknown-this-model-does-not-exist"
    answer = client.post(RESPONSES, json=body)
    expected = fixture("errors/error_400_model_not_found__responses_recorded.json")
    expected["error"]["message"] = expected["error"]["message"].replace(
        "this-model-does-not-exist", body["model"]
    )
    assert answer.json() == expected


# === AI Gateway: recording and control endpoints =============================================


def test_gateway_records_requests(gateway: GatewayEmulator, client: httpx.Client) -> None:
    client.post(CHAT + "?trace=1", json=chat_body(), headers={"X-Custom": "A"})
    client.post(RESPONSES, content=b"not json")
    first, second = gateway.requests
    assert (first.method, first.path, first.json) == (
        "POST",
        "/v1/acct/gw/openai/chat/completions?trace=1",
        chat_body(),
    )
    assert first.headers["x-custom"] == "A"
    assert first.headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
    assert second.json is None


def test_gateway_control_endpoints(gateway: GatewayEmulator, client: httpx.Client) -> None:
    control = f"http://127.0.0.1:{gateway.port}/_emulator"
    client.post(CHAT, json=chat_body())
    stats = client.get(f"{control}/stats").json()
    assert stats == {"requests": 1, "connections_opened": 1, "cache_hits": 0}
    recorded = client.get(f"{control}/requests").json()
    assert [(r["method"], r["json"]) for r in recorded] == [("POST", chat_body())]
    assert client.post(f"{control}/reset").json() == {"ok": True}
    assert gateway.requests == []
    assert gateway.stats()["requests"] == 0

    config = {"token": "new", "openai_key": None, "delay_ms": 5, "require_openai_key": False}
    assert client.post(f"{control}/config", json=config).status_code == 200
    assert (gateway.token, gateway.openai_key, gateway.delay_ms) == ("new", None, 5)
    assert client.post(f"{control}/config", json={"delay_ms": -1}).status_code == 400
    assert client.post(f"{control}/config", json={"colour": "red"}).status_code == 400
    assert client.get(f"{control}/config").status_code == 405
    assert client.get(f"{control}/nothing").status_code == 404
    assert gateway.requests == []  # control calls are not recorded


def test_gateway_cli() -> None:
    with cli("emulators.gateway", "--port", "0", "--token", "T", "--openai-key", "K") as (
        process,
        line,
    ):
        assert line.startswith("gateway emulator listening on http://127.0.0.1:")
        base = line.split()[-1]
        headers = {"cf-aig-authorization": "Bearer T", "authorization": "Bearer K"}
        answer = httpx.post(f"{base}/v1/a/g/openai{CHAT}", json=chat_body(), headers=headers)
        assert ChatCompletion.model_validate(answer.json()).choices[0].message.content
        assert httpx.get(f"{base}/_emulator/stats").json()["requests"] == 1
        process.terminate()
        assert process.wait(10) == 0
