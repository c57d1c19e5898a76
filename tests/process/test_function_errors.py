"""`prompt`'s error answers over real sockets: each error type with its status and retryable
flag, from bad requests, the gateway's faults and missing secrets or settings."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator
from tests.support.contract import ERROR_KEYS, RETRYABLE
from tests.support.servers import ServerFactory, assert_no_secret
from tests.support.upstream import nonce


def assert_error(response: httpx.Response, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] is False
    assert set(body["error"]) == ERROR_KEYS
    assert body["error"]["type"] == type_
    # The contract: retryable for 429, 502 upstream_error (not upstream_auth), 503 and 504.
    assert body["error"]["retryable"] is (type_ in RETRYABLE)
    assert body["request_id"]
    error: dict[str, Any] = body["error"]
    return error


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[]", "JSON object"),
        (b'{"promt": "hi"}', "promt"),
        (b'{"model": "gpt-4o"}', "exactly one of prompt, messages or input"),
        (b'{"prompt": "hi", "max_output_tokens": "10"}', "max_output_tokens"),
    ],
)
def test_invalid_request(serve: ServerFactory, raw: bytes, fragment: str) -> None:
    """invalid_request 400, the message naming what was wrong."""
    error = assert_error(serve().post(raw=raw), 400, "invalid_request")
    assert fragment in error["message"]


def test_invalid_request_echoes_request_id(serve: ServerFactory) -> None:
    """A rejected body still answers with the caller's request_id."""
    response = serve().post({"promt": "x", "request_id": "mine-1"})
    assert response.json()["request_id"] == "mine-1"


def test_model_not_allowed(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    """model_not_allowed 400, and nothing goes upstream."""
    server = serve(ALLOWED_MODELS="gpt-4o-mini")
    before = len(gateway.requests)
    error = assert_error(server.post({"prompt": "hi", "model": "o3"}), 400, "model_not_allowed")
    assert "o3" in error["message"]
    assert len(gateway.requests) == before


def test_method_not_allowed(serve: ServerFactory) -> None:
    """method_not_allowed 405 with Allow: POST."""
    response = serve().request("GET")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_payload_too_large(serve: ServerFactory) -> None:
    """payload_too_large 413, by Content-Length and by counting a chunked body."""
    server = serve(MAX_BODY_BYTES="4096")
    big = json.dumps({"prompt": "x" * 10_000}).encode()
    assert_error(server.post(raw=big), 413, "payload_too_large")

    def chunks() -> Any:
        yield b'{"prompt": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    response = server.request(
        "POST", content=chunks(), headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")


def test_unsupported_media_type(serve: ServerFactory) -> None:
    """unsupported_media_type 415 for a body not declared as JSON."""
    response = serve().request(
        "POST",
        content=b"prompt=hi",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 415, "unsupported_media_type")


def test_upstream_rejected(serve: ServerFactory) -> None:
    """upstream_rejected 400 with the provider's status and code."""
    error = assert_error(
        serve().post({"prompt": "hi", "model": "unknown-model"}), 400, "upstream_rejected"
    )
    assert (error["upstream_status"], error["upstream_code"]) == (400, "model_not_found")


def test_rate_limited(serve: ServerFactory) -> None:
    """rate_limited 429 when quota is exhausted (not retried)."""
    response = serve().post(
        {"prompt": "hi", "metadata": {"emulator_fault": "429q", "nonce": nonce()}}
    )
    error = assert_error(response, 429, "rate_limited")
    assert error["upstream_code"] == "insufficient_quota"


def test_upstream_auth_gateway_token(serve: ServerFactory) -> None:
    """upstream_auth 502 when the gateway refuses the token, with Cloudflare's code."""
    server = serve(secrets="env", AIG_TOKEN="wrong-token-0000000")
    response = server.post({"prompt": "hi"})
    error = assert_error(response, 502, "upstream_auth")
    assert (error["upstream_status"], error["upstream_code"]) == (401, 2009)
    assert "wrong-token" not in response.text


def test_upstream_auth_provider_key(serve: ServerFactory) -> None:
    """upstream_auth 502 when the provider refuses the key; its message (quoting the key) is
    not passed on."""
    server = serve(secrets="env", OPENAI_API_KEY="sk-wrong-key-00000000")
    response = server.post({"prompt": "hi"})
    error = assert_error(response, 502, "upstream_auth")
    assert error["upstream_code"] == "invalid_api_key"
    assert "sk-wrong" not in response.text


def test_upstream_error_after_retries(serve: ServerFactory) -> None:
    """upstream_error 502 after MAX_RETRIES, attempts counted in the log."""
    server = serve(MAX_RETRIES="1")
    request_id = f"ue-{nonce()}"
    response = server.post(
        {
            "prompt": "hi",
            "request_id": request_id,
            "metadata": {"emulator_fault": "500@xsr=true", "nonce": nonce()},
        }
    )
    error = assert_error(response, 502, "upstream_error")
    assert error["upstream_status"] == 500
    assert server.log_for(request_id)["attempts"] == 2


def test_retry_then_success(serve: ServerFactory) -> None:
    """A 503 then a success: 200 with attempts 2."""
    response = serve().post(
        {"prompt": "hi", "metadata": {"emulator_fault": "503,ok", "nonce": nonce()}}
    )
    assert response.status_code == 200
    assert response.json()["attempts"] == 2


def test_upstream_timeout(serve: ServerFactory) -> None:
    """upstream_timeout 504 when the gateway stalls past UPSTREAM_TIMEOUT_SECONDS."""
    server = serve(UPSTREAM_TIMEOUT_SECONDS="1")
    # Secrets first: on a loaded machine their first fetch alone may take the whole second, and
    # that is secret_unavailable, not this test's case.
    for _ in range(10):
        if server.post({"prompt": "hi", "metadata": {"nonce": nonce()}}).status_code == 200:
            break
    response = server.post(
        {"prompt": "hi", "metadata": {"emulator_fault": "stall", "nonce": nonce()}}
    )
    assert_error(response, 504, "upstream_timeout")


def test_secret_unavailable(serve: ServerFactory, secret_manager: SecretManagerEmulator) -> None:
    """secret_unavailable 503 within seconds while the store is down (nothing cached)."""
    import grpc

    server = serve(SECRET_TIMEOUT_SECONDS="1", SECRET_CACHE_TTL_SECONDS="0")
    secret_manager.set_fault(None, grpc.StatusCode.UNAVAILABLE)
    try:
        response = server.post({"prompt": "hi"})
    finally:
        secret_manager.set_fault(None, None)
    assert_error(response, 503, "secret_unavailable")
    assert_no_secret(response)


def test_config_error_missing_secret(serve: ServerFactory) -> None:
    """config_error 500 when a secret does not exist; the message names it."""
    server = serve(AIG_TOKEN_SECRET="no-such-secret")
    error = assert_error(server.post({"prompt": "hi"}), 500, "config_error")
    assert "no-such-secret" in error["message"]


def test_config_error_missing_setting(serve: ServerFactory) -> None:
    """config_error 500 when a required setting is missing, reported at start-up too."""
    server = serve(secrets="env", AIG_BASE_URL="", AIG_TOKEN="")
    error = assert_error(server.post({"prompt": "hi"}), 500, "config_error")
    assert "AIG_TOKEN" in error["message"] or "AIG_ACCOUNT_ID" in error["message"]
    startup = [line for line in server.log_lines() if line.get("event") == "config_error"]
    assert startup and startup[0]["severity"] == "ERROR"
