"""Pure logic behind the gateway controls: settings, error classification, response headers and
trace context parsing."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from relay import (
    ConfigError,
    ContentBlocked,
    InvalidRequest,
    Settings,
    TraceContext,
    decode_request,
)
from relay.errors import UpstreamError, UpstreamRejected
from relay.gateway_info import MAX_DLP_CHARS, MAX_HEADER_VALUE_CHARS, gateway_info
from relay.normalize import classify_error
from relay.request import PromptRequest
from relay.translate import build_call
from relay.upstream_headers import trace_headers

BASE = {"AIG_BASE_URL": "http://127.0.0.1:9/v1/a/g/openai", "AIG_TOKEN": "tok-abcdefgh"}


def gateway_body(status: int, code: int, message: str = "blocked") -> bytes:
    return json.dumps(
        {
            "success": False,
            "result": [],
            "messages": [],
            "error": [{"code": code, "message": message}],
            "name": "AiGatewayError",
            "httpCode": status,
            "internalCode": code,
        }
    ).encode()


# --- settings ---------------------------------------------------------------------------------


def test_control_settings_default_to_unset() -> None:
    """No GATEWAY_* setting: no header, the gateway's own configuration decides."""
    s = Settings.from_env(BASE)
    assert (s.gateway_collect_log, s.gateway_collect_log_payload, s.gateway_zdr) == (None,) * 3
    assert s.gateway_byok_alias is None
    call = build_call(PromptRequest(prompt="hi"), s)
    assert not [name for name in call.headers if name != "cf-aig-metadata"]


def test_control_settings_are_read() -> None:
    env = {
        **BASE,
        "GATEWAY_COLLECT_LOG": "false",
        "GATEWAY_COLLECT_LOG_PAYLOAD": "no",
        "GATEWAY_ZDR": "TRUE",
        "GATEWAY_BYOK_ALIAS": "prod.key_2",
    }
    s = Settings.from_env(env)
    assert (s.gateway_collect_log, s.gateway_collect_log_payload, s.gateway_zdr) == (
        False,
        False,
        True,
    )
    assert s.gateway_byok_alias == "prod.key_2"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEWAY_COLLECT_LOG", "maybe"),
        ("GATEWAY_COLLECT_LOG_PAYLOAD", "2"),
        ("GATEWAY_ZDR", "yes please"),
        ("GATEWAY_BYOK_ALIAS", "has space"),
        ("GATEWAY_BYOK_ALIAS", "a" * 65),
        ("GATEWAY_BYOK_ALIAS", "semi;colon"),
    ],
)
def test_bad_control_setting_names_itself(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**BASE, name: value})
    assert name in caught.value.message


# --- classification -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(424, 2016), (424, 2017), (400, 2029), (400, 2030), (403, 2029)]
)
def test_block_codes_are_content_blocked(status: int, code: int) -> None:
    error = classify_error(status, gateway_body(status, code))
    if status == 403:
        # Our credentials being refused is the more urgent news: that stays upstream_auth.
        assert error.type == "upstream_auth"
        return
    assert isinstance(error, ContentBlocked)
    assert (error.status, error.retryable, error.upstream_code) == (422, False, code)
    assert "blocked" in error.message


def test_cloudflare_envelope_without_name_is_the_gateway() -> None:
    """`{"success": false, "error": [{code, message}]}` is read as a gateway error too."""
    body = json.dumps({"success": False, "error": [{"code": "2016", "message": "no"}]}).encode()
    error = classify_error(424, body)
    assert isinstance(error, ContentBlocked)
    assert error.upstream_code == "2016"


def test_undocumented_guardrail_code_on_424_is_content_blocked() -> None:
    assert isinstance(classify_error(424, gateway_body(424, 2099)), ContentBlocked)


def test_provider_424_or_code_is_not_a_block() -> None:
    """Only the gateway blocks: a provider error with a matching number is not a verdict."""
    body = json.dumps({"error": {"message": "x", "type": "t", "param": None, "code": 2016}})
    error = classify_error(424, body.encode())
    assert isinstance(error, UpstreamRejected)


def test_scanner_outage_is_retryable_upstream_error() -> None:
    error = classify_error(503, gateway_body(503, 7013))
    assert isinstance(error, UpstreamError)
    assert error.retryable and error.upstream_code == 7013


# --- response headers ---------------------------------------------------------------------------


def test_gateway_info_absent_headers_are_null() -> None:
    assert gateway_info(httpx.Headers()) == dict.fromkeys(
        ("log_id", "cache_status", "step", "model", "provider", "dlp")
    )


def test_gateway_info_is_bounded_and_scrubbed() -> None:
    headers = httpx.Headers(
        {"cf-aig-model": "gpt\x01-4o\x7f", "cf-aig-provider": "p" * 5000, "cf-aig-step": "  "}
    )
    info = gateway_info(headers)
    assert info["model"] == "gpt-4o"
    assert len(info["provider"]) == MAX_HEADER_VALUE_CHARS + 1
    assert info["provider"].endswith("…")
    assert info["step"] is None  # nothing left once cleaned


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ('{"action":"FLAG","findings":[]}', {"action": "FLAG", "findings": []}),
        ("[1, 2]", [1, 2]),
        ("flagged", "flagged"),
        ('{"action": "FLAG"', '{"action": "FLAG"'),
        ("[" * 20 + "]" * 20, "[" * 20 + "]" * 20),  # too deep to pass on as JSON
    ],
)
def test_dlp_is_json_when_it_is_json(raw: str, expected: Any) -> None:
    assert gateway_info(httpx.Headers({"cf-aig-dlp": raw}))["dlp"] == expected


def test_oversized_dlp_is_cut_text() -> None:
    raw = json.dumps({"action": "FLAG", "findings": ["x" * MAX_DLP_CHARS]})
    dlp = gateway_info(httpx.Headers({"cf-aig-dlp": raw}))["dlp"]
    assert isinstance(dlp, str) and len(dlp) == MAX_DLP_CHARS + 1


# --- trace context ------------------------------------------------------------------------------

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def test_cloud_trace_context_wins_like_the_log_field() -> None:
    context = TraceContext.from_headers(
        {"x-cloud-trace-context": f"{TRACE}/10;o=1", "traceparent": f"00-{'1' * 32}-{'2' * 16}-01"}
    )
    assert context == TraceContext(TRACE, f"{10:016x}")


def test_future_traceparent_version_may_carry_more_fields() -> None:
    context = TraceContext.from_headers({"traceparent": f"01-{TRACE}-{'2' * 16}-01-more"})
    assert context == TraceContext(TRACE, "2" * 16)


def test_own_span_beats_the_callers() -> None:
    """When the function has its own span for the call, the gateway's spans hang under it."""
    headers = trace_headers(TRACE, "3" * 16)
    assert headers == {"cf-aig-otel-trace-id": TRACE, "cf-aig-otel-parent-span-id": "3" * 16}


@pytest.mark.parametrize("attributes", [None, [], {"traceparent": 5}, {"other": "x"}])
def test_attributes_without_a_trace(attributes: Any) -> None:
    assert TraceContext.from_attributes(attributes) is None


def test_requests_beside_a_prompt_is_named() -> None:
    """`requests` next to a prompt is an unknown field named as such (found by the fuzz tests)."""
    with pytest.raises(InvalidRequest) as caught:
        decode_request(b'{"prompt": "0", "requests": null}')
    assert caught.value.message == "unknown field `requests`"
