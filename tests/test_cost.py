"""cost_usd: the price arithmetic (pure), then over real sockets against the gateway emulator."""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest

from emulators.gateway import GatewayEmulator
from relay import ConfigError, Settings
from relay.cost import (
    PRICE_TABLE,
    Price,
    call_cost,
    custom_cost_header,
    parse_custom_prices,
    table_price,
)
from tests.conftest import ServerFactory
from tests.test_function_features import stream

MINI = "gpt-4o-mini-2024-07-18"  # what the emulator (and OpenAI) answer for gpt-4o-mini
MINI_IN, MINI_CACHED, MINI_OUT = 0.15, 0.075, 0.6  # USD per million tokens


def usage(inp: int, out: int, cached: int = 0, reasoning: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "cached_input_tokens": cached,
        "reasoning_tokens": reasoning,
    }


def by_hand(inp: int, out: int, cached: int, rates: tuple[float, float, float]) -> float:
    rate_in, rate_cached, rate_out = rates
    return ((inp - cached) * rate_in + cached * rate_cached + out * rate_out) / 1e6


# --- the arithmetic ---------------------------------------------------------------------------


def test_cached_input_is_part_of_input() -> None:
    """Cached tokens are priced at the cached rate and only the rest at the input rate."""
    cost = call_cost(usage(1000, 500, cached=200, reasoning=100), MINI)
    assert cost == pytest.approx(by_hand(1000, 500, 200, (MINI_IN, MINI_CACHED, MINI_OUT)))
    assert cost == pytest.approx(0.000435)


def test_reasoning_tokens_are_not_counted_twice() -> None:
    """reasoning_tokens are inside output_tokens: the cost does not depend on them."""
    plain = call_cost(usage(1000, 500), MINI)
    reasoning = call_cost(usage(1000, 500, reasoning=450), MINI)
    assert plain == reasoning == pytest.approx((1000 * MINI_IN + 500 * MINI_OUT) / 1e6)


def test_model_without_a_cached_rate_prices_cached_input_as_input() -> None:
    """A model with no cache discount charges cached tokens the input rate."""
    cost = call_cost(usage(1000, 100, cached=600), "gpt-4o-2024-05-13")
    assert cost == pytest.approx((1000 * 5 + 100 * 15) / 1e6)


def test_cached_tokens_beyond_input_are_capped() -> None:
    """A usage object claiming more cached than input tokens is not priced negative."""
    cost = call_cost(usage(100, 0, cached=500), MINI)
    assert cost == pytest.approx(100 * MINI_CACHED / 1e6)


@pytest.mark.parametrize(
    ("model", "rates"),
    [
        ("gpt-4o-mini", (MINI_IN, MINI_CACHED, MINI_OUT)),
        (MINI, (MINI_IN, MINI_CACHED, MINI_OUT)),
        ("GPT-4o-Mini-2024-07-18", (MINI_IN, MINI_CACHED, MINI_OUT)),
        ("gpt-4o", (2.5, 1.25, 10)),
        ("gpt-4o-2024-08-06", (2.5, 1.25, 10)),
        # The first gpt-4o snapshot costs twice its alias: a dated name is looked up as itself.
        ("gpt-4o-2024-05-13", (5, 5, 15)),
    ],
)
def test_dated_snapshots_and_aliases(model: str, rates: tuple[float, float, float]) -> None:
    """Dated snapshot names find their own price, which need not be the alias's."""
    assert call_cost(usage(1000, 1000, cached=500), model) == pytest.approx(
        by_hand(1000, 1000, 500, rates)
    )


@pytest.mark.parametrize(
    "model", ["gpt-4o-mini-2099-01-01", "my-finetune", "claude-sonnet-4", "", "gpt-"]
)
def test_unknown_model_costs_null(model: str) -> None:
    """A model the table does not list has no cost: null, never a neighbour's price."""
    assert call_cost(usage(1000, 1000), model) is None


def test_no_usage_costs_null() -> None:
    """Without usage (a stream that reported none) there is nothing to price."""
    assert call_cost(None, MINI) is None
    assert call_cost({}, MINI) is None


def test_zero_usage_costs_zero() -> None:
    """A known model with zero tokens (a cache hit reporting none) costs 0, not null."""
    assert call_cost(usage(0, 0), MINI) == 0


def test_prices_change_on_their_start_date() -> None:
    """o3's price cut of 2025-06-10: the price in force on the day is used."""
    before = call_cost(usage(1000, 1000), "o3", today=datetime.date(2025, 6, 9))
    after = call_cost(usage(1000, 1000), "o3", today=datetime.date(2025, 6, 10))
    assert before == pytest.approx((1000 * 10 + 1000 * 40) / 1e6)
    assert after == pytest.approx((1000 * 2 + 1000 * 8) / 1e6)


def test_long_context_tier_prices_every_token() -> None:
    """Past gpt-5.4's 272k-token threshold, every token costs the long-context rate."""
    short = call_cost(usage(272_000, 1000), "gpt-5.4")
    long = call_cost(usage(272_001, 1000), "gpt-5.4")
    assert short == pytest.approx((272_000 * 2.5 + 1000 * 15) / 1e6)
    assert long == pytest.approx((272_001 * 5 + 1000 * 22.5) / 1e6)


def test_table_loads_whole_and_names_its_source() -> None:
    """Every entry of the vendored table compiles, and the file says where it came from."""
    data = json.loads(PRICE_TABLE.read_text())
    assert data["source"].startswith("genai-prices ")
    datetime.date.fromisoformat(data["generated"])
    ids = [entry["id"] for entry in data["models"]]
    assert len(ids) > 50
    for model in ("gpt-4o-mini", "gpt-4.1", "o4-mini", "gpt-5"):
        assert table_price(model) is not None, model


# --- negotiated prices ------------------------------------------------------------------------


def test_custom_price_overrides_the_table() -> None:
    """CUSTOM_PRICES wins, by the requested model or the answering one, case-insensitively."""
    custom = parse_custom_prices('{"GPT-4o-mini": {"input": 1, "cached_input": 0.5, "output": 2}}')
    u = usage(1000, 1000, cached=400)
    expected = by_hand(1000, 1000, 400, (1, 0.5, 2))
    assert call_cost(u, MINI, requested="gpt-4o-mini", custom=custom) == pytest.approx(expected)
    assert call_cost(u, "gpt-4o-mini", custom=custom) == pytest.approx(expected)
    assert call_cost(u, "gpt-4o", custom=custom) == pytest.approx(
        by_hand(1000, 1000, 400, (2.5, 1.25, 10))
    )


def test_custom_price_makes_an_unknown_model_priced() -> None:
    """A model the table lacks gets the negotiated price; without cached_input, input rate."""
    custom = parse_custom_prices('{"my-finetune": {"input": 3, "output": 4}}')
    assert call_cost(usage(1000, 10, cached=500), "my-finetune", custom=custom) == pytest.approx(
        (1000 * 3 + 10 * 4) / 1e6
    )


def test_custom_cost_header_is_usd_per_token() -> None:
    """cf-aig-custom-cost carries per-token USD in plain decimals, as Cloudflare documents."""
    with_cache = Price.flat(Decimal("0.15"), Decimal("0.6"), Decimal("0.075"))
    header = custom_cost_header(with_cache)
    assert header == (
        '{"per_token_in":0.00000015,"per_token_out":0.0000006,"per_cache_read_token":0.000000075}'
    )
    assert json.loads(header) == {
        "per_token_in": 1.5e-7,
        "per_token_out": 6e-7,
        "per_cache_read_token": 7.5e-8,
    }
    assert custom_cost_header(Price.flat(Decimal(1), Decimal(0))) == (
        '{"per_token_in":0.000001,"per_token_out":0}'
    )


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("{not json", "JSON object"),
        ("[1, 2]", "JSON object"),
        ('{"m": 1}', "CUSTOM_PRICES['m'] must be an object with input and output"),
        ('{"m": {"input": 1}}', "must be an object with input and output"),
        ('{"m": {"input": "1", "output": 2}}', "CUSTOM_PRICES['m'].input must be a number"),
        ('{"m": {"input": 1, "output": true}}', "CUSTOM_PRICES['m'].output must be a number"),
        ('{"m": {"input": -1, "output": 2}}', "between 0 and"),
        ('{"m": {"input": 1, "output": 2e9}}', "between 0 and"),
        ('{"m": {"input": NaN, "output": 2}}', "must be a number"),
        ('{"m": {"input": 1, "output": 2, "cache": 1}}', "unknown field 'cache'"),
        ('{"bad name": {"input": 1, "output": 2}}', "is not a model name"),
    ],
)
def test_custom_prices_are_validated_at_start_up(raw: str, says: str) -> None:
    """A malformed CUSTOM_PRICES is a ConfigError that names the setting and what is wrong."""
    env = {"AIG_TOKEN": "t" * 12, "AIG_BASE_URL": "http://127.0.0.1:1/openai", "CUSTOM_PRICES": raw}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert "CUSTOM_PRICES" in caught.value.message
    assert says in caught.value.message


# --- over real sockets ------------------------------------------------------------------------


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
