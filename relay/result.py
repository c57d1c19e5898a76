"""The contract's result, from upstream's normalized fields, the gateway's headers and the run.

Every string from upstream is scrubbed before it is used (`output_json` parses the scrubbed
text). `cost_usd` prices the model that answered at the tier the provider says served it; a
gateway cache hit reached no provider and cost nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cost import CustomPrices, call_cost
from .gateway_info import gateway_info
from .normalize import parse_output_json
from .outcome import Run
from .scrub import scrub_tree

__all__ = ["build_result"]


def build_result(
    run: Run,
    fields: dict[str, Any],
    headers: Mapping[str, str],
    *,
    custom_prices: CustomPrices,
    latency_ms: int,
) -> dict[str, Any]:
    """The result of `run`, answered with `fields` (normalize's) and the gateway's `headers`."""
    assert run.call is not None and run.request is not None
    fields = scrub_tree(fields)
    if run.request.json_schema is not None:
        parse_output_json(fields)
    model = fields["model"] or run.call.model
    tier = fields.pop("service_tier", None)
    gateway = gateway_info(headers)
    cost: float | None = 0.0
    if gateway["cache_status"] != "HIT":
        usage = fields.get("usage")
        requested = run.call.model
        cost = call_cost(usage, model, requested=requested, custom=custom_prices, tier=tier)
    return {
        "ok": True,
        "request_id": run.request_id,
        "api": run.call.api,
        **fields,
        "model": model,
        "gateway": gateway,
        "cost_usd": cost,
        "latency_ms": latency_ms,
        "attempts": run.tally.attempts,
        "models_tried": list(run.models_tried),
        "service_tier": tier,
    }
