"""Error bodies the gateway emulator answers with.

The OpenAI bodies are copies of the recorded fixtures in ``tests/fixtures/openai/errors/`` (the
emulator must not read the test tree at run time, so they are repeated here; the tests compare
them with the fixture files). Gateway bodies follow Cloudflare's documented ``AiGatewayError``
shape.
"""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]


def openai_error(message: str, type_: str, param: str | None, code: str | None) -> JsonObject:
    """OpenAI's error envelope: all four keys are always present (``param``/``code`` nullable)."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def gateway_error(status: int, internal_code: int, message: str) -> JsonObject:
    """An error made by AI Gateway itself, told apart from provider errors by ``name``."""
    return {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": internal_code, "message": message}],
        "name": "AiGatewayError",
        "httpCode": status,
        "internalCode": internal_code,
    }


GATEWAY_UNAUTHORIZED = gateway_error(401, 2009, "Unauthorized")
GATEWAY_RATE_LIMITED = gateway_error(429, 2003, "Rate limited")
# Cloudflare does not document the internal code of this one; 2005 is made up for the emulator.
GATEWAY_BYOK_MISSING = gateway_error(
    400, 2005, "No provider API key: this gateway has no stored key for openai"
)

# Spend limits and policies (features/spend-limits, features/policies) answer in a shape of their
# own: `success: false` with one error object, no code.
GATEWAY_SPEND_LIMIT: JsonObject = {
    "success": False,
    "error": {
        "message": "Spending limit exceeded",
        "bucket": "emulator-bucket",
        "spent": 1000.42,
        "limit": 1000,
    },
}
GATEWAY_POLICY_DENIED: JsonObject = {
    "success": False,
    "error": {"message": "Access denied by policy"},
}
# The guardrail scanner is out of credits (changelog 2026-09-17).
SCANNER_OUT_OF_CREDITS = gateway_error(402, 2021, "Guardrails scanner out of credits")

# Guardrails (424) and DLP blocks; the DLP status is not documented (400 is what users report).
GUARDRAIL_PROMPT_BLOCKED = gateway_error(424, 2016, "Prompt blocked due to security configurations")
GUARDRAIL_RESPONSE_BLOCKED = gateway_error(
    424, 2017, "Response blocked due to security configurations"
)
DLP_PROMPT_BLOCKED = gateway_error(400, 2029, "Request blocked by a Data Loss Prevention policy")
DLP_RESPONSE_BLOCKED = gateway_error(400, 2030, "Response blocked by a Data Loss Prevention policy")
# The guardrail scanner itself was unavailable: a transient failure, not a verdict.
SCANNER_UNAVAILABLE = gateway_error(503, 7013, "Guardrails scanner unavailable")

# errors/error_400_decimal_below_min_value__responses_recorded.json
BAD_REQUEST = openai_error(
    "Invalid 'temperature': decimal below minimum value. "
    "Expected a value >= 0, but got -1 instead.",
    "invalid_request_error",
    "temperature",
    "decimal_below_min_value",
)
# errors/error_404_response_not_found__responses_recorded.json
NOT_FOUND = openai_error(
    "Response with id 'resp_012716c47e5818750068c9ef3acb74819590c9bfdd9025e969' not found.",
    "invalid_request_error",
    None,
    None,
)
# OpenAI's answer from an unsupported region: the best-known real 403 body.
FORBIDDEN = openai_error(
    "Country, region, or territory not supported",
    "request_forbidden",
    None,
    "unsupported_country_region_territory",
)
UNPROCESSABLE = openai_error(
    "The request was well-formed but could not be processed.", "invalid_request_error", None, None
)
# errors/error_429_rate_limit_exceeded__issue_pyrepr.json
RATE_LIMITED = openai_error(
    "Rate limit reached for gpt-4o-mini in organization org-xxxxxxxxx on requests per day (RPD): "
    "Limit 200, Used 200, Requested 1. Please try again in 7m12s. Visit "
    "https://platform.openai.com/account/rate-limits to learn more. You can increase your rate "
    "limit by adding a payment method to your account at "
    "https://platform.openai.com/account/billing.",
    "requests",
    None,
    "rate_limit_exceeded",
)
# errors/error_429_insufficient_quota__issue.json
INSUFFICIENT_QUOTA = openai_error(
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    "insufficient_quota",
    None,
    "insufficient_quota",
)
# Flex processing without capacity (OpenAI's flex guide: 429 "Resource Unavailable"; the body's
# code is the emulator's guess, the relay goes by status and message).
FLEX_UNAVAILABLE = openai_error(
    "Resource Unavailable: flex capacity is temporarily exhausted. Retry later or use the "
    "default service tier.",
    "server_error",
    None,
    "resource_unavailable",
)
# errors/error_500_server_error__issue.json
SERVER_ERROR = openai_error(
    "The server had an error processing your request. Sorry about that! You can retry your "
    "request, or contact us through our help center at help.openai.com if you keep seeing this "
    "error. (Please include the request ID req_540c6eaab7f4556b2baa22bcba915d51 in your email.)",
    "server_error",
    None,
    None,
)


def mask_key(key: str) -> str:
    """Mask a key the way OpenAI echoes it: first 8 and last 4 characters kept."""
    if len(key) <= 12:
        return key[:2] + "*" * max(len(key) - 2, 0)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def invalid_api_key(key: str) -> JsonObject:
    """errors/error_401_invalid_api_key__chat_recorded.json, with the caller's key masked in."""
    return openai_error(
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        None,
        "invalid_api_key",
    )


def model_not_found(model: str) -> JsonObject:
    """errors/error_400_model_not_found__responses_recorded.json for any model name."""
    return openai_error(
        f"The requested model '{model}' does not exist.",
        "invalid_request_error",
        "model",
        "model_not_found",
    )
