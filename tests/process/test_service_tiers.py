"""`service_tier` over real sockets against the gateway emulator: sent for both APIs, the tier
that served the call in the result, `cost_usd` priced at that tier, and flex processing's 429
"Resource Unavailable" retried with a longer wait than a rate limit."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from relay.streaming import SSEParser
from tests.support.servers import ServerFactory


def tag() -> str:
    return uuid.uuid4().hex[:12]


def sent_body(gateway: GatewayEmulator, nonce: str) -> dict[str, Any]:
    found = [r for r in gateway.requests if nonce in r.headers.get("cf-aig-metadata", "")]
    assert found, f"no upstream request tagged {nonce}"
    body = found[-1].json
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_flex_is_sent_reported_and_priced_at_half(
    serve: ServerFactory, gateway: GatewayEmulator, api: str
) -> None:
    """The same prompt at flex and at default: the tier goes upstream as `service_tier`, comes
    back in the result, and flex costs half."""
    costs = {}
    for tier in ("default", "flex"):
        nonce = tag()
        body = {"prompt": "price me", "api": api, "service_tier": tier, "metadata": {"n": nonce}}
        response = serve().post(body)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["service_tier"] == tier
        assert sent_body(gateway, nonce)["service_tier"] == tier
        costs[tier] = result["cost_usd"]
    assert costs["default"] > 0
    assert costs["flex"] == pytest.approx(costs["default"] / 2, abs=1e-12)


def test_auto_is_served_by_default(serve: ServerFactory) -> None:
    response = serve().post({"prompt": "hi", "service_tier": "auto"})
    assert response.status_code == 200, response.text
    assert response.json()["service_tier"] == "default"


def test_priority_has_no_price_in_the_table(serve: ServerFactory) -> None:
    """Priority rates are per model and not vendored: cost_usd is null, never a guess."""
    response = serve().post({"prompt": "hi", "service_tier": "priority"})
    assert response.status_code == 200, response.text
    assert (response.json()["service_tier"], response.json()["cost_usd"]) == ("priority", None)


def test_no_tier_asked_none_sent(serve: ServerFactory, gateway: GatewayEmulator) -> None:
    nonce = tag()
    response = serve().post({"prompt": "hi", "metadata": {"n": nonce}})
    assert response.json()["service_tier"] == "default"  # what the provider reports
    assert "service_tier" not in sent_body(gateway, nonce)


def test_stream_reports_the_tier(serve: ServerFactory) -> None:
    body = {"prompt": "hi", "api": "chat", "stream": True, "service_tier": "flex"}
    response = serve().post(body)
    assert response.status_code == 200, response.text
    parser = SSEParser()
    events = parser.feed(response.content) + parser.close()
    (result,) = [json.loads(e.data) for e in events if e.name == "result"]
    assert result["service_tier"] == "flex"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"prompt": "hi", "service_tier": "cheap"}, "service_tier"),
        ({"prompt": "hi", "extra_body": {"service_tier": "flex"}}, "service_tier"),
    ],
)
def test_tier_is_checked(serve: ServerFactory, body: dict[str, Any], named: str) -> None:
    """An unknown tier is refused; extra_body cannot set the tier behind cost_usd's back."""
    response = serve().post(body)
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]["message"]


def test_flex_capacity_429_waits_longer_than_a_rate_limit(serve: ServerFactory) -> None:
    """Both are retried and answered; flex's wait starts at 2 s (jitter only shortens it, by a
    quarter at most), a rate limit's at 0.5 s."""
    server = serve(LOG_LEVEL="DEBUG", MAX_RETRIES="1", UPSTREAM_TIMEOUT_SECONDS="30")
    waits = {}
    for fault in ("flex429,ok", "429,ok"):
        before = len(server.log_lines())
        body: dict[str, Any] = {"prompt": "hi", "service_tier": "flex", "request_id": f"t-{tag()}"}
        body["metadata"] = {"emulator_fault": fault, "nonce": tag()}
        response = server.post(body)
        assert response.status_code == 200, response.text
        assert response.json()["attempts"] == 2
        retries = [
            line for line in server.log_lines()[before:] if line.get("event") == "upstream_retry"
        ]
        assert len(retries) == 1 and retries[0]["error_type"] == "rate_limited"
        waits[fault] = retries[0]["wait_seconds"]
    assert waits["flex429,ok"] >= 1.5
    assert waits["429,ok"] <= 0.5
