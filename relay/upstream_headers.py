"""Every header sent to the gateway, and only here.

Two steps. `call_headers` builds a call's own headers once, from the request, the settings and the
caller's trace: metadata (with the identity keys of `relay.identity`), caching, logging controls,
BYOK alias, a negotiated price, trace ids.
`attempt_headers` adds what each attempt needs on top: credentials, the time left, and the
attempt's own span ids. Values are ASCII with no CR/LF by construction (the request model and the
settings check what reaches a header), so none can split a header.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .cost import Price
from .identity import Identity, merge_metadata
from .request import PromptRequest
from .secrets import Credentials
from .settings import Settings
from .tracing import TraceContext

__all__ = [
    "OTEL_PARENT_SPAN_HEADER",
    "OTEL_TRACE_ID_HEADER",
    "attempt_headers",
    "bearer_header",
    "call_headers",
    "custom_cost_header",
    "trace_headers",
]

OTEL_TRACE_ID_HEADER = "cf-aig-otel-trace-id"
OTEL_PARENT_SPAN_HEADER = "cf-aig-otel-parent-span-id"
_MILLION = Decimal(1_000_000)


def call_headers(
    request: PromptRequest,
    settings: Settings,
    model: str,
    *,
    default_metadata: Mapping[str, str] | None = None,
    trace: TraceContext | None = None,
    identity: Identity | None = None,
    default_cache_key: str | None = None,
) -> dict[str, str]:
    """The headers of one call to `model`, the same for each of its attempts."""
    metadata = merge_metadata(
        request.metadata if request.metadata is not None else default_metadata,
        (identity or Identity()).fields(settings.identity_metadata),
        settings.identity_metadata,
    )
    headers = {
        **request_headers(request, metadata, default_cache_key),
        **control_headers(request, settings),
    }
    if trace is not None:
        headers.update(trace_headers(trace.trace_id, trace.span_id))
    price = settings.custom_prices.get(model.lower())
    if price is not None:
        # A negotiated price for the model: the gateway is told, so its analytics agree.
        headers["cf-aig-custom-cost"] = custom_cost_header(price)
    return headers


def request_headers(
    request: PromptRequest,
    metadata: Mapping[str, Any] | None = None,
    default_cache_key: str | None = None,
) -> dict[str, str]:
    """The cf-aig-* headers a request asks for: `metadata` (its own merged with the identity
    keys, see `relay.identity`) and caching (`default_cache_key` unless it sets a key or skips
    the cache)."""
    headers: dict[str, str] = {}
    if metadata:
        # ensure_ascii escapes every control character, so the header cannot be split.
        headers["cf-aig-metadata"] = json.dumps(
            dict(metadata), ensure_ascii=True, separators=(",", ":")
        )
    cache = request.cache
    key = default_cache_key
    if cache is not None:
        if cache.ttl is not None:
            headers["cf-aig-cache-ttl"] = str(cache.ttl)
        if cache.skip:
            headers["cf-aig-skip-cache"] = "true"
            key = None
        if cache.key is not None:
            key = cache.key
    if key is not None:
        headers["cf-aig-cache-key"] = key
    return headers


def control_headers(request: PromptRequest, settings: Settings) -> dict[str, str]:
    """cf-aig-collect-log(-payload), -zdr and -byok-alias: the request's, else the settings'."""
    log = request.log
    flags = {
        "cf-aig-collect-log": _first(log.collect if log else None, settings.gateway_collect_log),
        "cf-aig-collect-log-payload": _first(
            log.payload if log else None, settings.gateway_collect_log_payload
        ),
        "cf-aig-zdr": _first(request.zdr, settings.gateway_zdr),
    }
    headers = {
        name: "true" if value else "false" for name, value in flags.items() if value is not None
    }
    alias = request.byok_alias or settings.gateway_byok_alias
    if alias is not None:
        headers["cf-aig-byok-alias"] = alias  # validated: [A-Za-z0-9._-]{1,64}
    return headers


def trace_headers(trace_id: str, parent_span_id: str | None) -> dict[str, str]:
    """The cf-aig-otel-* headers: the gateway's spans join trace `trace_id` under that span."""
    headers = {OTEL_TRACE_ID_HEADER: trace_id}
    if parent_span_id:
        headers[OTEL_PARENT_SPAN_HEADER] = parent_span_id
    return headers


def custom_cost_header(price: Price) -> str:
    """`cf-aig-custom-cost` for a negotiated price: USD per token, in plain decimals."""
    fields = [("per_token_in", price.input), ("per_token_out", price.output)]
    if price.cached_input is not None:
        fields.append(("per_cache_read_token", price.cached_input))
    # Plain notation (0.00000015, not 1.5E-7): the gateway's parser is not ours to test.
    # Negotiated prices are flat: the first tier is the one rate.
    return "{" + ",".join(f'"{k}":{(t[0][1] / _MILLION).normalize():f}' for k, t in fields) + "}"


def attempt_headers(
    call: Mapping[str, str],
    credentials: Credentials,
    remaining: float,
    span_ids: tuple[str, str] | None,
    *,
    provider_key: bool = True,
) -> dict[str, str]:
    """One attempt's headers: the `call`'s own, credentials, and what is left of the budget.
    Without `provider_key` (a dynamic route, which may pick any provider and so must use the
    keys stored in the gateway) the OpenAI key is not sent."""
    headers = {
        "content-type": "application/json",
        "cf-aig-authorization": f"Bearer {credentials.gateway_token.reveal()}",
        **call,
        # The gateway stops waiting when this attempt's share of the budget is spent. Rounded
        # down, so it never promises more time than is left.
        "cf-aig-request-timeout": str(max(1, int(remaining * 1000))),
    }
    if span_ids is not None:
        # The attempt's own span, when tracing: after the call's, so it replaces the caller's
        # ids there; the gateway's spans then nest under this attempt.
        headers.update(trace_headers(*span_ids))
    if credentials.openai_key is not None and provider_key:
        headers["authorization"] = f"Bearer {credentials.openai_key.reveal()}"
    return headers


def _first(value: bool | None, default: bool | None) -> bool | None:
    return value if value is not None else default


def bearer_header(token: str) -> dict[str, str]:
    """`authorization` for a Google API call with an access token (bulk runs' Cloud Storage and
    Pub/Sub calls, relay/bulk/_auth.py)."""
    return {"authorization": f"Bearer {token}"}
