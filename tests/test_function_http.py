"""`prompt` over real sockets: a functions-framework process, the gateway emulator over HTTP and
the Secret Manager emulator over gRPC through the real client library."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator
from tests._contract import ERROR_KEYS, RESULT_FIELDS, RETRYABLE
from tests.conftest import OPENAI_KEY, SECRET_VALUES, TOKEN, ServerFactory


def nonce() -> str:
    return uuid.uuid4().hex[:12]


def assert_no_secret(response: httpx.Response, *log_lines: dict[str, Any]) -> None:
    text = response.text + str(response.headers) + json.dumps(log_lines)
    for value in SECRET_VALUES:
        assert value not in text


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


def last_upstream(gateway: GatewayEmulator, marker: str) -> Any:
    """The last upstream request whose metadata carries `marker`."""
    for recorded in reversed(gateway.requests):
        if marker in recorded.headers.get("cf-aig-metadata", ""):
            return recorded
    raise AssertionError(f"no upstream request with {marker}")


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("secrets", ["manager", "env"])
def test_prompt_round_trip(
    serve: ServerFactory, gateway: GatewayEmulator, api: str, secrets: str
) -> None:
    """Both APIs, both secret sources (and so both auth modes): one normalized result."""
    server = serve(secrets=secrets)
    marker = nonce()
    request_id = f"rt-{marker}"
    response = server.post(
        {
            "prompt": "hello there world",
            "api": api,
            "request_id": request_id,
            "instructions": "be brief",
            "metadata": {"nonce": marker},
        }
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert tuple(body) == RESULT_FIELDS
    assert body["ok"] is True
    assert body["request_id"] == request_id
    assert body["api"] == api
    assert body["model"] == "gpt-4o-mini-2024-07-18"
    assert body["output_text"] == "Echo: hello there world"
    assert (body["status"], body["finish_reason"]) == ("completed", "stop")
    assert body["usage"]["input_tokens"] > 0
    assert body["usage"]["total_tokens"] == (
        body["usage"]["input_tokens"] + body["usage"]["output_tokens"]
    )
    assert body["gateway"]["log_id"]
    assert body["attempts"] == 1
    assert isinstance(body["latency_ms"], int)

    upstream = last_upstream(gateway, marker)
    assert upstream.path.endswith("/responses" if api == "responses" else "/chat/completions")
    assert upstream.headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
    if secrets == "manager":
        assert upstream.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    else:
        assert "authorization" not in upstream.headers  # BYOK / Unified Billing
    if api == "chat":
        assert upstream.json["messages"][0] == {"role": "system", "content": "be brief"}
    else:
        assert upstream.json["instructions"] == "be brief"

    line = server.log_for(request_id)
    assert line["severity"] == "INFO"
    assert (line["api"], line["outcome"], line["attempts"]) == (api, "ok", 1)
    assert line["usage"] == body["usage"]
    assert line["gateway_log_id"] == body["gateway"]["log_id"]
    assert "hello there world" not in json.dumps(line)  # prompts are not logged by default
    assert_no_secret(response, line)


def test_prompts_logged_only_when_asked(serve: ServerFactory) -> None:
    """LOG_PROMPTS=true puts prompt and answer text in the log line."""
    server = serve(LOG_PROMPTS="true")
    request_id = f"lp-{nonce()}"
    assert server.post({"prompt": "log me please", "request_id": request_id}).status_code == 200
    line = server.log_for(request_id)
    assert line["prompt"] == "log me please"
    assert line["output_text"] == "Echo: log me please"


def test_pinned_secret_version(serve: ServerFactory) -> None:
    """The third name form, projects/P/secrets/S/versions/V, works too."""
    server = serve(AIG_TOKEN_SECRET="projects/test-project/secrets/aig-token/versions/1")
    assert server.post({"prompt": "hi"}).status_code == 200


@pytest.mark.parametrize("header", ["x-cloud-trace-context", "traceparent"])
def test_trace_field(serve: ServerFactory, header: str) -> None:
    """A trace header becomes Cloud Logging's trace field on the request's log line."""
    server = serve()
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    value = (
        f"{trace}/1;o=1" if header == "x-cloud-trace-context" else f"00-{trace}-00f067aa0ba902b7-01"
    )
    request_id = f"tr-{nonce()}"
    server.post({"prompt": "hi", "request_id": request_id}, headers={header: value})
    line = server.log_for(request_id)
    assert line["logging.googleapis.com/trace"] == f"projects/test-project/traces/{trace}"


def test_scheduler_job(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    """A Cloud Scheduler call: its headers reach the log, its job name the gateway metadata,
    and the caller's OIDC Authorization header never travels upstream."""
    server = serve(secrets="env")
    job = f"projects/test-project/locations/us-central1/jobs/daily-{nonce()}"
    request_id = f"sch-{nonce()}"
    response = server.post(
        {"prompt": "daily digest", "request_id": request_id},
        headers={
            "User-Agent": "Google-Cloud-Scheduler",
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": job,
            "X-CloudScheduler-ScheduleTime": "2026-11-25T09:00:00Z",
            "Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.oidc-token-from-scheduler",
        },
    )
    assert response.status_code == 200
    line = server.log_for(request_id)
    assert line["scheduler_job"] == job
    assert line["scheduler_schedule_time"] == "2026-11-25T09:00:00Z"
    upstream = last_upstream(gateway, job)
    assert json.loads(upstream.headers["cf-aig-metadata"]) == {"scheduler_job": job}
    assert "authorization" not in upstream.headers
    assert "oidc-token" not in json.dumps(upstream.headers)


def test_cache_hit_on_repeat(serve: ServerFactory) -> None:
    """cache.ttl turns on gateway caching: the repeat is a HIT."""
    server = serve()
    body = {"prompt": f"cache me {nonce()}", "cache": {"ttl": 120}}
    first, second = server.post(body).json(), server.post(body).json()
    assert first["gateway"]["cache_status"] == "MISS"
    assert second["gateway"]["cache_status"] == "HIT"
    assert second["output_text"] == first["output_text"]


def test_batch(serve: ServerFactory) -> None:
    """A batch answers each item in order; a bad item fails alone."""
    server = serve()
    response = server.post(
        {
            "requests": [
                {"prompt": "one", "api": "chat"},
                {"prompt": "two", "bogus": 1},
                {"prompt": "three"},
            ]
        }
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[0]["output_text"] == "Echo: one"
    assert results[1]["error"]["type"] == "invalid_request"
    assert results[2]["output_text"] == "Echo: three"


# The contract's error table, row by row.


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
