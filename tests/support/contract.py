"""The contract as the fuzz tests check it: answer shapes, error rows and what may go upstream.

Everything here is written from README.md ("The contract in brief") and openapi.yaml, not read
off the code under test, so that a drift in the code shows up as a failing test.

This module: the request, error, result and header tables. Checking answers is in
_contract_answers.py, checking what went upstream in _contract_upstream.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from tests.support.paths import ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())

# The request table.
FIELDS = frozenset(
    {
        "prompt",
        "messages",
        "input",
        "instructions",
        "api",
        "model",
        "max_output_tokens",
        "temperature",
        "top_p",
        "json_schema",
        "tools",
        "tool_choice",
        "reasoning_effort",
        "metadata",
        "cache",
        "stream",
        "request_id",
        "include_raw",
        "extra_body",
        "deliver",
        "log",
        "zdr",
        "byok_alias",
    }
)
# Upstream body fields extra_body may not set (README, `extra_body` row): those the contract
# derives ...
RESERVED_BODY_FIELDS = frozenset(
    {
        "model",
        "input",
        "messages",
        "instructions",
        "max_output_tokens",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "text",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning",
        "reasoning_effort",
        "stream",
        "stream_options",
        "metadata",
        # ... nor one that would bill or answer behind the result's back.
        "background",
        "n",
        "functions",
        "function_call",
    }
)
DEFAULT_API = "responses"
DEFAULT_MODEL = "gpt-4o-mini"
BATCH_MAX_ITEMS = 50
UPSTREAM_PATHS = {"responses": "/responses", "chat": "/chat/completions"}

# The error table: type -> HTTP status.
ERROR_STATUS = {
    "invalid_request": 400,
    "model_not_allowed": 400,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "upstream_rejected": 400,
    "content_blocked": 422,
    "rate_limited": 429,
    "upstream_auth": 502,
    "upstream_error": 502,
    "upstream_timeout": 504,
    "secret_unavailable": 503,
    "config_error": 500,
    "internal": 500,
}
RETRYABLE = frozenset({"rate_limited", "upstream_error", "secret_unavailable", "upstream_timeout"})
# The contract's result fields, in the contract's order.
RESULT_FIELDS = (
    "ok",
    "request_id",
    "api",
    "model",
    "id",
    "status",
    "finish_reason",
    "output_text",
    "output_json",
    "refusal",
    "tool_calls",
    "usage",
    "gateway",
    "cost_usd",
    "latency_ms",
    "attempts",
    "models_tried",
    "service_tier",
)
RESULT_KEYS = frozenset(RESULT_FIELDS)
OPTIONAL_RESULT_KEYS = frozenset({"output_json_error", "raw"})
ERROR_KEYS = frozenset({"type", "message", "retryable", "upstream_status", "upstream_code"})

# What a request to the gateway may carry: the contract's headers, plus what httpx adds itself.
CONTRACT_UPSTREAM_HEADERS = frozenset(
    {
        "content-type",
        "cf-aig-authorization",
        "authorization",
        "cf-aig-metadata",
        "cf-aig-cache-ttl",
        "cf-aig-skip-cache",
        "cf-aig-cache-key",
        "cf-aig-collect-log",
        "cf-aig-collect-log-payload",
        "cf-aig-zdr",
        "cf-aig-byok-alias",
        "cf-aig-request-timeout",
        "cf-aig-otel-trace-id",
        "cf-aig-otel-parent-span-id",
    }
)
HTTPX_HEADERS = frozenset(
    {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"}
)
ALLOWED_UPSTREAM_HEADERS = CONTRACT_UPSTREAM_HEADERS | HTTPX_HEADERS
# The headers whose values the request body (or the scheduler header) decides.
DERIVED_UPSTREAM_HEADERS = frozenset(
    {
        "cf-aig-metadata",
        "cf-aig-cache-ttl",
        "cf-aig-skip-cache",
        "cf-aig-cache-key",
        "cf-aig-collect-log",
        "cf-aig-collect-log-payload",
        "cf-aig-zdr",
        "cf-aig-byok-alias",
    }
)


def given_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The request's fields as the contract reads them: `null` counts as absent."""
    return {key: value for key, value in payload.items() if value is not None}
