"""What a call cost: `usage` priced from a vendored price table or a negotiated price.

OpenAI's usage counts overlap: `input_tokens` includes `cached_input_tokens`, and `output_tokens`
includes `reasoning_tokens`. So cached tokens are priced at the cached-input rate and the rest of
the input at the input rate, and every output token (reasoning ones among them) at the output
rate, once. A model the table does not know costs `None`, never a guess.

The table (`_prices.json`) is generated from genai-prices' data by `tools/refresh_prices.py`; it
is read on first use, so importing this module costs nothing on a cold start.

The table holds OpenAI's `default` (standard) tier. A call the provider reports as served by
another tier is priced from it: `flex` at half of every rate (OpenAI's flex processing guide:
"priced at Batch API rates", which the pricing page lists at half of standard, cached input
included); `priority` has per-model rates the table does not carry, so it costs `None`. A
negotiated price (CUSTOM_PRICES) is taken as what the call cost, whatever the tier.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .errors import ConfigError, UpstreamError

__all__ = [
    "PRICE_TABLE",
    "TIER_PRICE_FACTORS",
    "CustomPrices",
    "Price",
    "call_cost",
    "parse_custom_prices",
    "table_price",
]

PRICE_TABLE = Path(__file__).with_name("_prices.json")
_MILLION = Decimal(1_000_000)
# A cost is reported to the picodollar: beyond that, float noise.
_COST_PLACES = Decimal("1e-12")
# Rates per million tokens above this are a typo (per token instead of per million, or cents).
_MAX_RATE = Decimal(100_000)
_MAX_CUSTOM_MODELS = 200
_MODEL_NAME = re.compile(r"[A-Za-z0-9._:/@-]{1,256}")
# More tokens than any call uses: a count above it is a broken answer, not a price to compute
# (and kept below it, every cost fits Decimal's 28 digits at the picodollar, even at _MAX_RATE).
_MAX_TOKENS = 10**12
# What a tier costs as a share of the table's (standard) rates; a tier not listed is not priced.
TIER_PRICE_FACTORS: Mapping[str, Decimal] = {
    "default": Decimal(1),
    "auto": Decimal(1),  # providers report the tier that ran; "auto" alone means the default
    "flex": Decimal("0.5"),
}


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens; `cached_input` None means cached input costs the input rate.

    Each rate is one number, or tiers: `((0, base), (start, rate), ...)`, where the highest tier
    whose start the prompt's input tokens exceed prices every token (OpenAI's long-context
    rates work that way).
    """

    input: tuple[tuple[int, Decimal], ...]
    output: tuple[tuple[int, Decimal], ...]
    cached_input: tuple[tuple[int, Decimal], ...] | None = None

    @classmethod
    def flat(cls, input: Decimal, output: Decimal, cached_input: Decimal | None = None) -> Price:
        """A price with one rate each, no tiers."""
        return cls(
            ((0, input),), ((0, output),), None if cached_input is None else ((0, cached_input),)
        )

    def cost(self, usage: Mapping[str, Any], factor: Decimal = Decimal(1)) -> float:
        """USD for `usage` (the contract's usage object), every rate times `factor` (a tier's)."""
        input_tokens = _tokens(usage, "input_tokens")
        cached = min(_tokens(usage, "cached_input_tokens"), input_tokens)
        output_tokens = _tokens(usage, "output_tokens")
        # reasoning_tokens are part of output_tokens: never added again.
        cached_rate = _rate(self.cached_input or self.input, input_tokens)
        total = (
            (
                (input_tokens - cached) * _rate(self.input, input_tokens)
                + cached * cached_rate
                + output_tokens * _rate(self.output, input_tokens)
            )
            * factor
            / _MILLION
        )
        return float(total.quantize(_COST_PLACES))


CustomPrices = Mapping[str, Price]


def call_cost(
    usage: Mapping[str, Any] | None,
    model: str | None,
    *,
    requested: str | None = None,
    custom: CustomPrices | None = None,
    today: datetime.date | None = None,
    tier: str | None = None,
) -> float | None:
    """USD for a call, or None when usage or the model's price is unknown.

    A negotiated price (CUSTOM_PRICES) for the answering model or the requested one wins over
    the table; the table is looked up by the model that answered (often a dated snapshot, which
    may cost something else than its alias), at the `tier` that served the call (None: default).
    """
    if not usage:
        return None
    if custom:
        price = _custom(custom, model) or _custom(custom, requested)
        if price is not None:
            return price.cost(usage)
    factor = TIER_PRICE_FACTORS.get(tier or "default")
    price = table_price(model, today) if model else None
    if price is None or factor is None:
        return None
    return price.cost(usage, factor)


def table_price(model: str, today: datetime.date | None = None) -> Price | None:
    """The table's price for `model` on `today` (UTC), or None when it is not listed."""
    return _lookup(model.lower(), today or datetime.datetime.now(datetime.UTC).date())


@functools.lru_cache(maxsize=512)
def _lookup(model: str, today: datetime.date) -> Price | None:
    """The table scan, remembered: a process sees few distinct (model, day) pairs."""
    for match, dated in _table():
        if match(model):
            current = None
            for start, price in dated:  # the last one in force wins
                if start is None or start <= today:
                    current = price
            return current
    return None


def parse_custom_prices(raw: str | None, name: str = "CUSTOM_PRICES") -> dict[str, Price]:
    """`{"model": {"input": x, "cached_input": y, "output": z}}` (USD per million tokens)."""
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=Decimal, parse_int=Decimal)
    except (ValueError, RecursionError):
        raise ConfigError(f"{name} must be a JSON object of model -> prices") from None
    if not isinstance(data, dict) or len(data) > _MAX_CUSTOM_MODELS:
        raise ConfigError(
            f"{name} must be a JSON object of at most {_MAX_CUSTOM_MODELS} model -> prices"
        )
    prices: dict[str, Price] = {}
    for model, rates in data.items():
        if not _MODEL_NAME.fullmatch(model):
            raise ConfigError(f"{name}: {model[:60]!r} is not a model name")
        where = f"{name}[{model!r}]"
        if not isinstance(rates, dict) or not {"input", "output"} <= set(rates):
            raise ConfigError(f"{where} must be an object with input and output (USD per 1M)")
        unknown = set(rates) - {"input", "cached_input", "output"}
        if unknown:
            raise ConfigError(f"{where}: unknown field {sorted(unknown)[0][:40]!r}")
        cached = rates.get("cached_input")
        prices[model.lower()] = Price.flat(
            _custom_rate(rates["input"], f"{where}.input"),
            _custom_rate(rates["output"], f"{where}.output"),
            None if cached is None else _custom_rate(cached, f"{where}.cached_input"),
        )
    return prices


def _custom(custom: CustomPrices, model: str | None) -> Price | None:
    return custom.get(model.lower()) if model else None


def _custom_rate(value: Any, where: str) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ConfigError(f"{where} must be a number (USD per million tokens)")
    if not 0 <= value <= _MAX_RATE:
        raise ConfigError(f"{where} must be between 0 and {_MAX_RATE} USD per million tokens")
    return value


def _tokens(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    if not isinstance(value, int) or value <= 0:
        return 0
    if value > _MAX_TOKENS:
        raise UpstreamError(f"the gateway's answer counts an impossible {key} ({value:.3g})")
    return value


def _rate(tiers: tuple[tuple[int, Decimal], ...], input_tokens: int) -> Decimal:
    rate = tiers[0][1]
    for start, tier_rate in tiers[1:]:
        if input_tokens > start:
            rate = tier_rate
    return rate


_Matcher = Callable[[str], bool]
_Dated = tuple[tuple[datetime.date | None, Price], ...]


@functools.cache
def _table() -> tuple[tuple[_Matcher, _Dated], ...]:
    """The vendored table, compiled once on first use."""
    data = json.loads(PRICE_TABLE.read_text(), parse_float=Decimal)
    models = []
    for entry in data["models"]:
        dated = tuple(
            (
                None if p["start"] is None else datetime.date.fromisoformat(p["start"]),
                Price(
                    _tiers(p["input"]),
                    _tiers(p["output"]),
                    _tiers(p["cached_input"]) if "cached_input" in p else None,
                ),
            )
            for p in entry["prices"]
        )
        models.append((_matcher(entry["match"]), dated))
    return tuple(models)


def _tiers(value: str | dict[str, Any]) -> tuple[tuple[int, Decimal], ...]:
    try:
        if isinstance(value, str):
            return ((0, Decimal(value)),)
        tiers = [(0, Decimal(value["base"]))]
        tiers.extend((int(start), Decimal(rate)) for start, rate in value["tiers"])
    except (InvalidOperation, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{PRICE_TABLE.name}: bad rate {value!r}") from exc
    return tuple(sorted(tiers))


def _matcher(clause: dict[str, Any]) -> _Matcher:
    """A predicate on a lower-cased model name, from genai-prices' match clauses."""
    ((kind, arg),) = clause.items()
    if kind in ("or", "and"):
        parts = [_matcher(c) for c in arg]
        combine = any if kind == "or" else all
        return lambda name: combine(part(name) for part in parts)
    text = arg.lower()
    if kind == "equals":
        return lambda name: name == text
    if kind == "starts_with":
        return lambda name: name.startswith(text)
    if kind == "ends_with":
        return lambda name: name.endswith(text)
    if kind == "contains":
        return lambda name: text in name
    if kind == "regex":
        pattern = re.compile(arg)
        return lambda name: pattern.search(name) is not None
    raise ValueError(f"{PRICE_TABLE.name}: unknown match {kind!r}")
