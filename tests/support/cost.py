"""Prices the cost tests check against, and cost_usd worked out by hand."""

from __future__ import annotations

MINI = "gpt-4o-mini-2024-07-18"  # what the emulator (and OpenAI) answer for gpt-4o-mini
MINI_IN, MINI_CACHED, MINI_OUT = 0.15, 0.075, 0.6  # USD per million tokens


def by_hand(inp: int, out: int, cached: int, rates: tuple[float, float, float]) -> float:
    rate_in, rate_cached, rate_out = rates
    return ((inp - cached) * rate_in + cached * rate_cached + out * rate_out) / 1e6
