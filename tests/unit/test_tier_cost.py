"""cost_usd at the tier that served the call: flex at half of the table's (standard) rates,
priority unpriced, a negotiated price as it is whatever the tier."""

from __future__ import annotations

from decimal import Decimal

import pytest

from relay.cost import Price, call_cost

USAGE = {"input_tokens": 1000, "output_tokens": 500, "cached_input_tokens": 200}


def test_flex_is_half_of_default_cached_input_included() -> None:
    default = call_cost(USAGE, "gpt-4o-mini")
    assert default is not None and default > 0
    assert call_cost(USAGE, "gpt-4o-mini", tier="flex") == pytest.approx(default / 2, abs=1e-12)
    assert call_cost(USAGE, "gpt-4o-mini", tier="default") == default
    assert call_cost(USAGE, "gpt-4o-mini", tier=None) == default


@pytest.mark.parametrize("tier", ["priority", "scale", "something-new"])
def test_a_tier_without_prices_costs_none(tier: str) -> None:
    assert call_cost(USAGE, "gpt-4o-mini", tier=tier) is None


def test_a_negotiated_price_is_what_the_call_cost_at_any_tier() -> None:
    custom = {"gpt-4o-mini": Price.flat(Decimal(1), Decimal(2))}
    expected = (800 * 1 + 200 * 1 + 500 * 2) / 1_000_000
    for tier in (None, "flex", "priority"):
        assert call_cost(USAGE, "gpt-4o-mini", custom=custom, tier=tier) == expected
