"""`prompt` over real sockets: a functions-framework process, the gateway emulator over HTTP and
the Secret Manager emulator over gRPC through the real client library."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.constants import OPENAI_KEY, TOKEN
from tests.support.contract import RESULT_FIELDS
from tests.support.servers import ServerFactory, assert_no_secret
from tests.support.upstream import nonce


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
