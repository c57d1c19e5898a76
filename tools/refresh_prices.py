"""Regenerate relay/_prices.json from the genai-prices package (run by `make prices`).

genai-prices (pydantic/genai-prices, MIT) keeps LLM prices checked against the providers' own
pages. The function does not import it at run time (about half a second of imports and a
150 ms first call: see docs/cost-and-tracing.md); this script copies the OpenAI part of its data
into a small JSON table that relay/cost.py reads. Run it in a virtualenv that has genai-prices
installed, then review and commit the diff.
"""

from __future__ import annotations

import datetime
import json
import sys
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import Any

from genai_prices import data, types  # type: ignore[import-not-found]

OUT = Path(__file__).resolve().parent.parent / "relay" / "_prices.json"
PROVIDER = "openai"
# genai-prices' rate names -> ours (USD per million tokens).
RATES = {"input_mtok": "input", "cache_read_mtok": "cached_input", "output_mtok": "output"}


def clause(match: Any) -> dict[str, Any]:
    """A match clause as plain JSON: one key naming the test."""
    if isinstance(match, types.ClauseOr):
        return {"or": [clause(c) for c in match.or_]}
    if isinstance(match, types.ClauseAnd):
        return {"and": [clause(c) for c in match.and_]}
    for key in ("equals", "starts_with", "ends_with", "contains", "regex"):
        if hasattr(match, key):
            return {key: getattr(match, key)}
    raise ValueError(f"unknown clause {match!r}")


def rate(value: Decimal | Any) -> str | dict[str, Any]:
    if isinstance(value, Decimal):
        return str(value)
    # TieredPrices: the tier whose start the prompt's input tokens exceed prices all tokens.
    return {"base": str(value.base), "tiers": [[t.start, str(t.price)] for t in value.tiers]}


def prices(price: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for theirs, ours in RATES.items():
        value = getattr(price, theirs, None)
        if value is not None:
            out[ours] = rate(value)
    return out


def model(info: Any) -> dict[str, Any] | None:
    entries: list[dict[str, Any]] = []
    if isinstance(info.prices, list):
        for conditional in info.prices:
            constraint = conditional.constraint
            if constraint is not None and not isinstance(constraint, types.StartDateConstraint):
                return None  # time-of-day prices: none for OpenAI; not modelled
            start = constraint.start_date.isoformat() if constraint else None
            entries.append({"start": start, **prices(conditional.prices)})
    else:
        entries.append({"start": None, **prices(info.prices)})
    entries = [e for e in entries if "input" in e and "output" in e]
    if not entries:
        return None  # not priced per text token (audio, images, per request)
    return {"id": info.id, "match": clause(info.match), "prices": entries}


def main() -> int:
    provider = next(p for p in data.providers if p.id == PROVIDER)
    models = [m for m in (model(info) for info in provider.models) if m is not None]
    table = {
        "source": (
            f"genai-prices {version('genai-prices')} (https://github.com/pydantic/genai-prices, "
            f"MIT), provider {PROVIDER}; USD per million tokens; first match wins"
        ),
        "generated": datetime.date.today().isoformat(),
        "models": models,
    }
    # One model per line: a price change is a one-line diff.
    head = json.dumps({k: v for k, v in table.items() if k != "models"})[:-1]
    lines = ",\n".join(json.dumps(m, separators=(",", ":")) for m in models)
    OUT.write_text(f'{head}, "models": [\n{lines}\n]}}\n')
    print(f"wrote {len(models)} models to {OUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
