"""The gateway's spend limits and policies, over real sockets against the gateway emulator: a
spend limit's 429 is `budget_exceeded` (one attempt, no wait), a policy's 403 is `policy_denied`
(no secret refetch), 2021 (scanner out of credits) is `budget_exceeded`, while an ordinary
provider 429 is still retried and a credential 403 is still `upstream_auth`. Events acknowledge
the permanent ones and ask for redelivery of a rate limit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import event_server, pubsub_data, send
from tests.support.servers import ServerFactory


def tag() -> str:
    return uuid.uuid4().hex[:12]


def faulted(fault: str, nonce: str, **body: Any) -> dict[str, Any]:
    return {"prompt": "hi", "metadata": {"emulator_fault": fault, "nonce": nonce}, **body}


def seen(gateway: GatewayEmulator, nonce: str) -> int:
    """How many upstream attempts the gateway saw for the request tagged `nonce`."""
    return sum(nonce in r.headers.get("cf-aig-metadata", "") for r in gateway.requests)


def test_spend_limit_is_budget_exceeded_after_one_attempt(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """The gateway's `Spending limit exceeded` 429: one attempt, even with a Retry-After and a
    next attempt that would succeed; not retryable, no Retry-After passed on."""
    nonce = tag()
    response = serve().post(faulted("budget@ra=1,ok", nonce))
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["type"] == "budget_exceeded"
    assert error["retryable"] is False
    assert error["upstream_status"] == 429
    assert "Spending limit exceeded" in error["message"]
    assert "emulator-bucket" in error["message"]
    assert "retry-after" not in response.headers
    assert seen(gateway, nonce) == 1


def test_ordinary_provider_429_is_still_retried(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """A provider's rate limit (OpenAI's body) keeps its retries: the second attempt answers."""
    nonce = tag()
    response = serve().post(faulted("429,ok", nonce))
    assert response.status_code == 200, response.text
    assert response.json()["attempts"] == 2
    assert seen(gateway, nonce) == 2


def test_gateway_rate_limit_is_still_rate_limited(serve: ServerFactory) -> None:
    """The gateway's own rate limit (2003) is not a budget: rate_limited, retryable."""
    response = serve(MAX_RETRIES="0").post(faulted("gw429", tag()))
    assert response.status_code == 429, response.text
    assert response.json()["error"]["type"] == "rate_limited"
    assert response.json()["error"]["retryable"] is True


def test_policy_denial_is_not_a_credential_failure(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """`Access denied by policy` (403) is policy_denied after one attempt: no secret refetch and
    no second try with rotated credentials."""
    nonce = tag()
    server = serve()
    response = server.post(faulted("policy,ok", nonce, request_id=f"pol-{nonce}"))
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "policy_denied"
    assert error["retryable"] is False
    assert "Access denied by policy" in error["message"]
    assert seen(gateway, nonce) == 1
    line = server.log_for(f"pol-{nonce}")
    assert (line["outcome"], line["http_status"], line["attempts"]) == ("policy_denied", 403, 1)


def test_credential_403_is_still_upstream_auth(serve: ServerFactory) -> None:
    """A provider's 403 (OpenAI's body) stays upstream_auth (502)."""
    response = serve().post(faulted("403", tag()))
    assert response.status_code == 502, response.text
    assert response.json()["error"]["type"] == "upstream_auth"


def test_scanner_out_of_credits_is_budget_exceeded(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """Code 2021 (402): the guardrail scanner's credits are a budget too; not retried."""
    nonce = tag()
    response = serve().post(faulted("gw2021,ok", nonce))
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert (error["type"], error["upstream_status"], error["upstream_code"]) == (
        "budget_exceeded",
        402,
        2021,
    )
    assert seen(gateway, nonce) == 1


def test_stream_budget_is_an_error_answer(serve: ServerFactory) -> None:
    """Before a stream's first byte, a spend limit is the same plain error answer."""
    response = serve().post(faulted("budget", tag(), stream=True))
    assert response.status_code == 429, response.text
    assert response.json()["error"]["type"] == "budget_exceeded"


# --- events: permanent ones acknowledged, a rate limit redelivered ----------------------------


@pytest.mark.parametrize(
    ("fault", "outcome", "acknowledged"),
    [
        ("budget", "budget_exceeded", True),
        ("policy", "policy_denied", True),
        ("gw2021", "budget_exceeded", True),
        ("429", "rate_limited", False),
    ],
)
def test_events_acknowledge_budgets_and_policies(
    serve: ServerFactory, fault: str, outcome: str, acknowledged: bool
) -> None:
    """A budget or policy failure is permanent: the event is acknowledged (2xx) and its outcome
    logged; a provider rate limit still asks Pub/Sub to redeliver (5xx)."""
    server = event_server(serve, MAX_RETRIES="0")
    nonce = tag()
    request_id = f"evt-{nonce}"
    response = send(server, pubsub_data(faulted(fault, nonce, request_id=request_id), nonce))
    assert (200 <= response.status_code < 300) is acknowledged, response.text
    assert server.log_for(request_id)["outcome"] == outcome
