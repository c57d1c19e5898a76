"""cost_usd over real sockets: the result, the log line and the stream carry it, custom prices
reach the gateway, against a functions-framework process and the gateway emulator."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from tests.support.calls import stream
from tests.support.cost import MINI, MINI_CACHED, MINI_IN, MINI_OUT, by_hand
from tests.support.servers import ServerFactory


def marker() -> str:
    return uuid.uuid4().hex[:12]


def recorded_headers(gateway: GatewayEmulator, nonce: str) -> dict[str, str]:
    for recorded in reversed(gateway.requests):
        if nonce in recorded.headers.get("cf-aig-metadata", ""):
            return recorded.headers
    raise AssertionError("request not seen upstream")


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_cost_in_result_and_log_line(serve: ServerFactory, api: str) -> None:
    """A priced model's result and log line carry the same cost_usd, priced from its usage."""
    server = serve(secrets="env")
    request_id = f"cost-{marker()}"
    response = server.post({"prompt": "price this answer", "api": api, "request_id": request_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == MINI
    u = body["usage"]
    expected = by_hand(
        u["input_tokens"],
        u["output_tokens"],
        u["cached_input_tokens"],
        (MINI_IN, MINI_CACHED, MINI_OUT),
    )
    assert body["cost_usd"] == pytest.approx(expected) and body["cost_usd"] > 0
    assert server.log_for(request_id)["cost_usd"] == body["cost_usd"]


def test_unknown_model_result_has_null_cost(serve: ServerFactory) -> None:
    """A model without a price answers cost_usd null (and the log line carries none)."""
    server = serve(secrets="env")
    request_id = f"cost-{marker()}"
    response = server.post({"prompt": "hi", "model": "house-model", "request_id": request_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "cost_usd" in body and body["cost_usd"] is None
    line = server.log_for(request_id)
    assert line["outcome"] == "ok" and line.get("cost_usd") is None


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_stream_result_event_has_cost(serve: ServerFactory, api: str) -> None:
    """The streaming result event carries cost_usd like the plain result."""
    _, events, _ = stream(
        serve(secrets="env"), {"prompt": "stream a cost", "api": api, "stream": True}
    )
    name, result = events[-1]
    assert name == "result"
    u = result["usage"]
    assert result["cost_usd"] == pytest.approx(
        by_hand(
            u["input_tokens"],
            u["output_tokens"],
            u["cached_input_tokens"],
            (MINI_IN, MINI_CACHED, MINI_OUT),
        )
    )


CUSTOM = {
    "gpt-4o-mini": {"input": 1, "cached_input": 0.5, "output": 2},
    "o4-mini": {"input": 4, "output": 8},
}


def test_custom_prices_reach_the_gateway_and_the_result(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """A negotiated price is sent as cf-aig-custom-cost and used for cost_usd; reasoning
    tokens (o4-mini) are priced once, inside output_tokens."""
    server = serve(secrets="env", CUSTOM_PRICES=json.dumps(CUSTOM))
    nonce = marker()
    response = server.post({"prompt": "negotiated", "metadata": {"nonce": nonce}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    sent = recorded_headers(gateway, nonce)
    assert json.loads(sent["cf-aig-custom-cost"]) == {
        "per_token_in": 1e-6,
        "per_token_out": 2e-6,
        "per_cache_read_token": 5e-7,
    }
    u = body["usage"]
    assert body["cost_usd"] == pytest.approx(
        by_hand(u["input_tokens"], u["output_tokens"], u["cached_input_tokens"], (1, 0.5, 2))
    )

    nonce = marker()
    reasoning = server.post({"prompt": "think", "model": "o4-mini", "metadata": {"nonce": nonce}})
    body = reasoning.json()
    u = body["usage"]
    assert u["reasoning_tokens"] > 0
    assert body["cost_usd"] == pytest.approx((u["input_tokens"] * 4 + u["output_tokens"] * 8) / 1e6)
    assert json.loads(recorded_headers(gateway, nonce)["cf-aig-custom-cost"]) == {
        "per_token_in": 4e-6,
        "per_token_out": 8e-6,
    }


def test_no_custom_cost_header_without_a_negotiated_price(
    serve: ServerFactory, gateway: GatewayEmulator
) -> None:
    """Models without a CUSTOM_PRICES entry send no cf-aig-custom-cost: the gateway's own
    price list applies."""
    server = serve(secrets="env", CUSTOM_PRICES=json.dumps(CUSTOM))
    nonce = marker()
    response = server.post(
        {"prompt": "list price", "model": "gpt-4o", "metadata": {"nonce": nonce}}
    )
    assert response.status_code == 200, response.text
    assert "cf-aig-custom-cost" not in recorded_headers(gateway, nonce)


def test_bad_custom_prices_answer_config_error(serve: ServerFactory) -> None:
    """A malformed CUSTOM_PRICES is a config_error naming the setting, never a traceback."""
    server = serve(secrets="env", CUSTOM_PRICES='{"gpt-4o-mini": {"input": "cheap"}}')
    response = server.post({"prompt": "hi"})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "config_error"
    assert "CUSTOM_PRICES" in error["message"]


def test_a_gateway_cache_hit_costs_nothing(serve: ServerFactory) -> None:
    """The gateway answered from its cache, so no provider was paid: cost_usd is 0, though the
    replayed usage is reported as it was."""
    server = serve(secrets="env")
    body = {"prompt": f"cache me {marker()}", "cache": {"ttl": 600}}
    first = server.post(body).json()
    second = server.post(body).json()
    assert first["gateway"]["cache_status"] == "MISS" and first["cost_usd"] > 0
    assert second["gateway"]["cache_status"] == "HIT"
    assert second["usage"] == first["usage"]
    assert second["cost_usd"] == 0
