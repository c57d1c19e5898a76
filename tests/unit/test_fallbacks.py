"""Fallback and dynamic-route rules: the allow-list up front, when the next model is tried, which
API a dynamic route takes and where its endpoint is."""

from __future__ import annotations

import pytest

from relay.errors import (
    BudgetExceeded,
    ContentBlocked,
    InvalidRequest,
    ModelNotAllowed,
    PolicyDenied,
    RateLimited,
    RelayError,
    UpstreamAuth,
    UpstreamError,
    UpstreamRejected,
    UpstreamTimeout,
)
from relay.fallbacks import api_for_model, can_fall_back, checked_models, unified_base_url


def test_every_model_is_checked_before_anything_goes_upstream() -> None:
    allowed = frozenset({"a", "b"})
    assert checked_models("a", ["b"], allowed) == ["a", "b"]
    assert checked_models("x", ["y"], None) == ["x", "y"]
    with pytest.raises(ModelNotAllowed, match=r"fallback_models\[1\] 'c'"):
        checked_models("a", ["b", "c"], allowed)
    with pytest.raises(ModelNotAllowed, match="model 'c'"):
        checked_models("c", None, allowed)


@pytest.mark.parametrize(
    ("error", "falls_back"),
    [
        (RateLimited("x"), True),
        (BudgetExceeded("x"), True),
        (UpstreamError("x"), True),
        (UpstreamTimeout("x"), True),
        (ContentBlocked("x"), False),
        (UpstreamRejected("x"), False),
        (UpstreamAuth("x"), False),
        (PolicyDenied("x"), False),
    ],
)
def test_which_failures_fall_back(error: RelayError, falls_back: bool) -> None:
    assert can_fall_back(error, 10.0, 0.25) is falls_back
    assert can_fall_back(error, 0.1, 0.25) is False


def test_dynamic_routes_take_chat_only() -> None:
    assert api_for_model("dynamic/support", None, "responses") == "chat"
    assert api_for_model("dynamic/support", "chat", "responses") == "chat"
    assert api_for_model("gpt-4o-mini", None, "responses") == "responses"
    with pytest.raises(InvalidRequest, match="api 'chat' only"):
        api_for_model("dynamic/support", "responses", "responses")


def test_unified_endpoint_beside_the_openai_one() -> None:
    base = "https://gateway.ai.cloudflare.com/v1/acct/gw/openai"
    assert unified_base_url(base) == "https://gateway.ai.cloudflare.com/v1/acct/gw/compat"
    assert unified_base_url("http://127.0.0.1:8787/elsewhere") is None
