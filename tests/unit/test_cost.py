"""cost_usd: the price arithmetic, in process (tests/process/test_cost_process.py: over sockets)."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal

import pytest

from relay import ConfigError, Settings
from relay.cost import (
    PRICE_TABLE,
    Price,
    call_cost,
    parse_custom_prices,
    table_price,
)
from relay.upstream_headers import custom_cost_header
from tests.support.cost import MINI, MINI_CACHED, MINI_IN, MINI_OUT, by_hand


def usage(inp: int, out: int, cached: int = 0, reasoning: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "total_tokens": inp + out,
        "cached_input_tokens": cached,
        "reasoning_tokens": reasoning,
    }


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
