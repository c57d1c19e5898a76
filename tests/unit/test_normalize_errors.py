"""Classification of every recorded OpenAI error body (and of odd ones) into the contract's error
types, statuses and codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from relay.errors import RateLimited, UpstreamAuth, UpstreamError, UpstreamRejected
from relay.normalize import classify_error, normalize
from tests.support.paths import fixture_dirs

ERRORS: dict[str, tuple[type[Exception], int, str | None]] = {
    "error_400_decimal_below_min_value__responses_recorded.json": (
        UpstreamRejected,
        400,
        "decimal_below_min_value",
    ),
    "error_400_invalid_function_parameters__chat_recorded.json": (
        UpstreamRejected,
        400,
        "invalid_function_parameters",
    ),
    "error_400_model_not_found__responses_recorded.json": (
        UpstreamRejected,
        400,
        "model_not_found",
    ),
    "error_401_invalid_api_key__chat_recorded.json": (UpstreamAuth, 401, "invalid_api_key"),
    "error_404_response_not_found__responses_recorded.json": (UpstreamRejected, 404, None),
    "error_429_insufficient_quota__issue.json": (RateLimited, 429, "insufficient_quota"),
    "error_429_rate_limit_exceeded__issue_pyrepr.json": (RateLimited, 429, "rate_limit_exceeded"),
    "error_429_rate_limit_requests_2023__issue.json": (RateLimited, 429, None),
    "error_500_server_error__issue.json": (UpstreamError, 500, None),
}


def _error_bodies() -> list[Path]:
    return sorted(
        p
        for root in fixture_dirs()
        for p in (root / "errors").glob("*.json")
        if not p.name.endswith(".request.json")
    )


@pytest.mark.parametrize("path", _error_bodies(), ids=lambda p: p.name)
def test_error_fixture_classifies(path: Path) -> None:
    """Every recorded OpenAI error body maps to its contract type, status and upstream_code."""
    kind, status, code = ERRORS[path.name]
    assert int(path.name.split("_")[1]) == status
    error = classify_error(status, path.read_bytes())
    assert type(error) is kind
    assert error.upstream_status == status
    assert error.upstream_code == code


def test_gateway_error_body_uses_internal_code() -> None:
    """An AiGatewayError body is told apart by shape and carries Cloudflare's internal code."""
    body = json.dumps(
        {
            "success": False,
            "result": [],
            "messages": [],
            "error": [{"code": 2009, "message": "Unauthorized"}],
            "name": "AiGatewayError",
            "httpCode": 401,
            "internalCode": 2009,
        }
    ).encode()
    error = classify_error(401, body)
    assert isinstance(error, UpstreamAuth)
    assert error.upstream_code == 2009
    assert "gateway token" in error.message


def test_provider_auth_message_is_not_passed_on() -> None:
    """OpenAI's 401 message quotes part of the key; the answer never repeats it."""
    path = fixture_dirs()[0] / "errors" / "error_401_invalid_api_key__chat_recorded.json"
    error = classify_error(401, path.read_bytes())
    assert "not-a-re" not in error.message
    assert "provider credentials" in error.message


def test_non_json_error_body() -> None:
    """An HTML error page still yields a typed error, with no code."""
    error = classify_error(502, b"<html>bad gateway</html>")
    assert isinstance(error, UpstreamError)
    assert error.upstream_code is None


def test_unknown_chat_finish_reason_is_stop() -> None:
    """Only the contract's four finish reasons reach the caller."""
    result = normalize("chat", {"choices": [{"finish_reason": "eos", "message": {"content": "x"}}]})
    assert (result["finish_reason"], result["status"]) == ("stop", "completed")
