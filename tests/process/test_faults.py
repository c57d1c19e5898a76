"""Every fault, tried for real: the gateway emulator's fault scripts and the Secret Manager
emulator's failures, through a functions-framework process. Each row must give the contract's
status and error type (or a success after a retry), with no secret in the answer or the logs."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import grpc
import pytest

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator
from tests.support.constants import ROTATED_TOKEN, SECRET_VALUES, TOKEN, TOKEN_SECRET
from tests.support.servers import FunctionServer, ServerFactory

# A short budget keeps stalls and trickles quick; two retries leave room for waits inside it.
FAULT_ENV = {"UPSTREAM_TIMEOUT_SECONDS": "3", "MAX_RETRIES": "2"}


@dataclass(frozen=True)
class Row:
    script: str
    status: int
    type: str | None  # None: success
    attempts: int | tuple[int, ...]
    upstream_status: int | None = None
    upstream_code: str | int | None = None
    retry_after: str | None = None


GATEWAY_FAULTS = [
    Row("429@ra=1,ok", 200, None, 2),
    Row("429@ram=50,ok", 200, None, 2),
    Row("429@date=1,ok", 200, None, 2),
    Row("429@ra=30", 429, "rate_limited", 1, 429, "rate_limit_exceeded", "30"),
    Row("429q", 429, "rate_limited", 1, 429, "insufficient_quota"),
    Row("gw429", 429, "rate_limited", 3, 429, 2003),
    Row("500", 502, "upstream_error", 3, 500),
    Row("503,ok", 200, None, 2),
    Row("502@xsr=false", 502, "upstream_error", 1, 502),
    # A 401 refetches the secrets and retries once, unless a refetch in the last
    # REFETCH_COOLDOWN_SECONDS already confirmed them (the other 401 row, moments before).
    Row("gw401", 502, "upstream_auth", (1, 2), 401, 2009),
    Row("401", 502, "upstream_auth", (1, 2), 401, "invalid_api_key"),
    Row("403", 502, "upstream_auth", 1, 403, "unsupported_country_region_territory"),
    Row("400", 400, "upstream_rejected", 1, 400, "decimal_below_min_value"),
    Row("404", 400, "upstream_rejected", 1, 404),
    Row("422", 400, "upstream_rejected", 1, 422),
    # A connection that drops after the whole request went out is not retried: the provider
    # may have run it (docs/transport.md).
    Row("drop,ok", 502, "upstream_error", 1),
    Row("drop", 502, "upstream_error", 1),
    Row("stall", 504, "upstream_timeout", 1),
    # A 2xx we cannot use is never retried: the provider may have billed it (docs/hardening.md).
    Row("notjson,ok", 502, "upstream_error", 1, 200),
    Row("notjson", 502, "upstream_error", 1, 200),
    Row("badjson", 502, "upstream_error", 1, 200),
    Row("trickle", 504, "upstream_timeout", 1),
]


def check_answer(server: FunctionServer, row: Row, body: dict[str, object]) -> None:
    request_id = f"fault-{uuid.uuid4().hex[:10]}"
    response = server.post({**body, "request_id": request_id})
    assert response.status_code == row.status, response.text
    answer = response.json()
    line = server.log_for(request_id)
    accepted = row.attempts if isinstance(row.attempts, tuple) else (row.attempts,)
    if row.type is None:
        assert answer["ok"] is True
        assert answer["attempts"] in accepted
    else:
        error = answer["error"]
        assert error["type"] == row.type
        assert error["upstream_status"] == row.upstream_status
        assert error["upstream_code"] == row.upstream_code
        assert response.headers.get("retry-after") == row.retry_after
        assert line["outcome"] == row.type
    assert line["attempts"] in accepted
    text = response.text + json.dumps(server.log_lines())
    for value in SECRET_VALUES:
        assert value not in text


@pytest.mark.parametrize("row", GATEWAY_FAULTS, ids=lambda row: row.script)
def test_gateway_fault(serve: ServerFactory, row: Row) -> None:
    """Each gateway fault gives the contract's answer, with secrets from Secret Manager."""
    server = serve(**FAULT_ENV)
    metadata = {"emulator_fault": row.script, "nonce": uuid.uuid4().hex}
    check_answer(server, row, {"prompt": "fault test", "metadata": metadata})


SECRET_FAULTS = [
    (grpc.StatusCode.UNAVAILABLE, 503, "secret_unavailable"),
    (grpc.StatusCode.DEADLINE_EXCEEDED, 503, "secret_unavailable"),
    (grpc.StatusCode.NOT_FOUND, 500, "config_error"),
    (grpc.StatusCode.PERMISSION_DENIED, 500, "config_error"),
]


@pytest.mark.parametrize(("code", "status", "type_"), SECRET_FAULTS, ids=lambda v: str(v))
def test_secret_manager_fault(
    serve: ServerFactory,
    secret_manager: SecretManagerEmulator,
    code: grpc.StatusCode,
    status: int,
    type_: str,
) -> None:
    """Secret Manager failures answer in seconds with the contract type when nothing is cached."""
    # Every request fetches, and nothing stale may be served: the store's answer decides.
    server = serve(
        SECRET_CACHE_TTL_SECONDS="0", SECRET_MAX_STALE_SECONDS="0", SECRET_TIMEOUT_SECONDS="1"
    )
    secret_manager.set_fault(TOKEN_SECRET, code)
    try:
        check_answer(server, Row("", status, type_, 0), {"prompt": "hi"})
    finally:
        secret_manager.set_fault(TOKEN_SECRET, None)


def test_secret_outage_serves_the_earlier_value(
    serve: ServerFactory, secret_manager: SecretManagerEmulator
) -> None:
    """Stale-while-error: when a refresh fails, the value fetched earlier is served, with a
    warning in the log."""
    server = serve(SECRET_CACHE_TTL_SECONDS="0")
    assert server.post({"prompt": "warm"}).status_code == 200
    secret_manager.set_fault(None, grpc.StatusCode.UNAVAILABLE)
    try:
        response = server.post({"prompt": "during outage"})
        assert response.status_code == 200
        # The refresh runs in the background; its failure is logged as a warning.
        deadline = time.monotonic() + 10
        while not any(line.get("event") == "secret_stale" for line in server.log_lines()):
            assert time.monotonic() < deadline, "no secret_stale warning logged"
            time.sleep(0.05)  # polling interval for the log file
    finally:
        secret_manager.set_fault(None, None)
    stale = [line for line in server.log_lines() if line.get("event") == "secret_stale"]
    assert stale[0]["severity"] == "WARNING"


def test_rotation_without_redeploy(
    serve: ServerFactory, gateway: GatewayEmulator, secret_manager: SecretManagerEmulator
) -> None:
    """A token rotated in Secret Manager (and at the gateway) works on the next request: the 401
    drops the cached secrets and one retry uses the new version."""
    server = serve(SECRET_CACHE_TTL_SECONDS="3600")
    assert server.post({"prompt": "before"}).status_code == 200
    secret_manager.set_secret(TOKEN_SECRET, ROTATED_TOKEN)
    gateway.token = ROTATED_TOKEN
    try:
        response = server.post({"prompt": "after rotation"})
        assert response.status_code == 200, response.text
        assert response.json()["attempts"] == 2
        assert server.post({"prompt": "settled"}).json()["attempts"] == 1
    finally:
        secret_manager.set_secret(TOKEN_SECRET, TOKEN)
        gateway.token = TOKEN
    refetch = [line for line in server.log_lines() if line.get("event") == "credentials_refetch"]
    assert len(refetch) == 1


def test_deadline_holds_with_retries(serve: ServerFactory) -> None:
    """Retries never run past UPSTREAM_TIMEOUT_SECONDS: 500s forever end by the deadline."""
    server = serve(UPSTREAM_TIMEOUT_SECONDS="2", MAX_RETRIES="10")
    request_id = f"deadline-{uuid.uuid4().hex[:8]}"
    response = server.post(
        {
            "prompt": "x",
            "request_id": request_id,
            "metadata": {"emulator_fault": "500", "nonce": request_id},
        }
    )
    assert response.status_code in (502, 504)
    assert server.log_for(request_id)["latency_ms"] < 2500
