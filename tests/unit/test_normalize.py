"""Normalization of every recorded OpenAI success body into the contract's shapes (the error
bodies: test_normalize_errors.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from relay.errors import UpstreamError
from relay.normalize import normalize, parse_output_json
from tests.support.paths import fixture_dirs

# Expected normalized fields per fixture, read off the bodies by hand (not by the code under test).
EXPECTED: dict[str, dict[str, Any]] = {
    "chat/chat_finish_length__recorded_gpt-4o.json": {
        "status": "incomplete",
        "finish_reason": "length",
        "output_text": '{"',
        "usage": (79, 1, 80, 0, 0),
    },
    "chat/chat_refusal__recorded_gpt-4o_a.json": {
        "status": "completed",
        "finish_reason": "stop",
        "output_text": "",
        "refusal_starts": "I'm very sorry",
        "usage": (95, 13, 108, 0, 0),
    },
    "chat/chat_refusal__recorded_gpt-4o_b.json": {
        "status": "completed",
        "finish_reason": "stop",
        "output_text": "",
        "refusal_starts": "I'm very sorry",
        "usage": (79, 12, 91, 0, 0),
    },
    "chat/chat_structured_output__recorded_gpt-4o.json": {
        "status": "completed",
        "finish_reason": "stop",
        "json": {"city": "San Francisco", "temperature": 65, "units": "f"},
        "usage": (79, 14, 93, 0, 0),
    },
    "chat/chat_text__recorded_gpt-4o-mini.json": {
        "model": "gpt-4o-mini-2024-07-18",
        "id": "chatcmpl-D8dUjRkJNE7oAraZr6I7Jy8l3f2eU",
        "status": "completed",
        "finish_reason": "stop",
        "output_text": "Hello! How can I assist you today?",
        "usage": (11, 9, 20, 0, 0),
    },
    "chat/chat_text__spec_default.json": {
        "model": "gpt-5.4",
        "finish_reason": "stop",
        "output_text": "Hello! How can I assist you today?",
        "usage": (19, 10, 29, 0, 0),
    },
    "chat/chat_tool_calls__recorded_gpt-4o-mini.json": {
        "finish_reason": "tool_calls",
        "output_text": "",
        "tool_calls": [
            ("call_of5sMdoBhqEZbvnNjZ3DSi1U", "get_weather_for_city", '{"city_name":"Osaka"}')
        ],
        "usage": (124, 18, 142, 0, 0),
    },
    "chat/chat_tool_calls__spec_functions.json": {
        "finish_reason": "tool_calls",
        "tool_calls": [("call_abc123", "get_current_weather", '{\n"location": "Boston, MA"\n}')],
        "usage": (82, 17, 99, 0, 0),
    },
    "chat/chat_tool_calls_parallel__recorded_gpt-4o.json": {
        "finish_reason": "tool_calls",
        "tool_names": ["GetWeatherArgs", "get_stock_price"],
        "usage": (149, 60, 209, 0, 0),
    },
    "chat/chat_usage_cache_write__recorded_gpt-5.6.json": {
        "output_text": "OK",
        "usage": (4020, 4, 4024, 0, 0),
    },
    "chat/chat_usage_cached_tokens_hit__recorded_gpt-5.6.json": {
        "output_text": "OK",
        "usage": (4020, 4, 4024, 4012, 0),
    },
    "chat/chat_usage_reasoning_tokens__recorded_o3-mini.json": {
        "model": "o3-mini-2025-01-31",
        "finish_reason": "stop",
        "usage": (34, 863, 897, 0, 128),
    },
    "responses/resp_function_call__recorded_gpt-4o-mini.json": {
        "status": "completed",
        "finish_reason": "tool_calls",
        "output_text": "",
        "tool_calls": [
            (
                "call_S2X9KuEJpYvFcF4hgv1XwM0j",
                "get_weather_at_location",
                '{"location":"San Francisco, CA"}',
            )
        ],
        "usage": (74, 20, 94, 0, 0),
    },
    "responses/resp_function_call__spec_functions.json": {
        "finish_reason": "tool_calls",
        "tool_calls": [
            (
                "call_unLAR8MvFNptuiZK6K6HCy5k",
                "get_current_weather",
                '{"location":"Boston, MA","unit":"celsius"}',
            )
        ],
        "usage": (291, 23, 314, 0, 0),
    },
    "responses/resp_incomplete_max_output_tokens__recorded_gpt-4o-mini.json": {
        "status": "incomplete",
        "finish_reason": "length",
        "text_starts": "Mango sun-kissed sweet",
        "usage": (14, 20, 34, 0, 0),
    },
    "responses/resp_reasoning__spec_o1.json": {
        "model": "o1-2024-12-17",
        "status": "completed",
        "finish_reason": "stop",
        "output_text": "The classic tongue twister...",
        "usage": (81, 1035, 1116, 0, 832),
    },
    "responses/resp_reasoning_cached_websearch__recorded_gpt-5.1.json": {
        "finish_reason": "stop",
        "usage": (12724, 698, 13422, 4352, 532),
    },
    "responses/resp_reasoning_no_summary__recorded_gpt-5.4.json": {
        "finish_reason": "stop",
        "text_starts": "```bash",
        "usage": (44, 288, 332, 0, 9),
    },
    "responses/resp_reasoning_with_summary__recorded_gpt-5.6.json": {
        "finish_reason": "stop",
        "text_starts": "For a tight, leak-resistant burrito",
        "usage": (30, 221, 251, 0, 56),
    },
    "responses/resp_structured_output_json_schema__recorded_gpt-4o-mini.json": {
        "finish_reason": "stop",
        "json_key": "animal_data_list",
        "usage": (48, 23, 71, 0, 0),
    },
    "responses/resp_text__recorded_gpt-4o-mini.json": {
        "model": "gpt-4o-mini-2024-07-18",
        "status": "completed",
        "finish_reason": "stop",
        "text_starts": "I can't provide real-time updates",
        "usage": (14, 50, 64, 0, 0),
    },
    "responses/resp_text__spec_text_input.json": {
        "model": "gpt-5.4",
        "text_starts": "In a peaceful grove",
        "usage": (36, 87, 123, 0, 0),
    },
    "responses/resp_usage_cached_tokens_hit__recorded_gpt-5.6.json": {
        "output_text": "OK",
        "usage": (4020, 5, 4025, 4012, 0),
    },
}

USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cached_input_tokens",
    "reasoning_tokens",
)


def _bodies(kind: str) -> list[Path]:
    return sorted(
        path
        for root in fixture_dirs()
        for path in (root / kind).glob("*.json")
        if not path.name.endswith(".request.json")
    )


def _key(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", _bodies("chat") + _bodies("responses"), ids=_key)
def test_fixture_normalizes(path: Path) -> None:
    """Every recorded body yields the contract's result fields with the values it holds."""
    expected = EXPECTED[_key(path)]
    body = json.loads(path.read_text())
    result = normalize("chat" if path.parent.name == "chat" else "responses", body)

    assert result["model"] == expected.get("model", body["model"])
    assert result["id"] == body["id"]
    assert tuple(result["usage"][k] for k in USAGE_KEYS) == expected["usage"]
    for name in ("status", "finish_reason", "output_text"):
        if name in expected:
            assert result[name] == expected[name], name
    if "text_starts" in expected:
        assert result["output_text"].startswith(expected["text_starts"])
    if "refusal_starts" in expected:
        assert result["refusal"].startswith(expected["refusal_starts"])
    else:
        assert result["refusal"] is None
    if "tool_calls" in expected:
        calls = [(c["id"], c["name"], c["arguments"]) for c in result["tool_calls"]]
        assert calls == expected["tool_calls"]
    if "tool_names" in expected:
        assert [c["name"] for c in result["tool_calls"]] == expected["tool_names"]
        assert all(c["id"].startswith("call_") for c in result["tool_calls"])
        assert all(json.loads(c["arguments"]) for c in result["tool_calls"])
    if "json" in expected or "json_key" in expected:
        parse_output_json(result)
        if "json" in expected:
            assert result["output_json"] == expected["json"]
        else:
            assert expected["json_key"] in result["output_json"]


def test_every_fixture_has_expectations() -> None:
    """A fixture added without expected values is noticed."""
    assert {_key(p) for p in _bodies("chat") + _bodies("responses")} == set(EXPECTED)


def test_output_json_reports_a_truncated_answer() -> None:
    """An answer cut short by the token cap keeps its text and says why it is not JSON."""
    body = json.loads(
        (fixture_dirs()[0] / "chat" / "chat_finish_length__recorded_gpt-4o.json").read_text()
    )
    result = normalize("chat", body)
    parse_output_json(result)
    assert result["output_json"] is None
    assert result["output_text"] == '{"'
    assert "cut short" in result["output_json_error"]


def test_refusal_leaves_output_json_null() -> None:
    """A refusal is reported in `refusal`, not as a JSON parse failure."""
    body = json.loads(
        (fixture_dirs()[0] / "chat" / "chat_refusal__recorded_gpt-4o_b.json").read_text()
    )
    result = normalize("chat", body)
    parse_output_json(result)
    assert result["output_json"] is None
    assert "output_json_error" not in result


def test_responses_refusal_part() -> None:
    """A Responses refusal content part lands in `refusal` (schema-only shape, no recording)."""
    body = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "model": "m",
        "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}],
        "usage": None,
    }
    result = normalize("responses", body)
    assert result["refusal"] == "No."
    assert result["output_text"] == ""
    assert result["usage"]["total_tokens"] == 0


def test_legacy_function_call_becomes_tool_calls() -> None:
    """Chat's deprecated `function_call` finish reason and message field map to tool_calls."""
    body = {
        "id": "c",
        "model": "m",
        "choices": [
            {
                "finish_reason": "function_call",
                "message": {"content": None, "function_call": {"name": "f", "arguments": "{}"}},
            }
        ],
    }
    result = normalize("chat", body)
    assert result["finish_reason"] == "tool_calls"
    assert result["tool_calls"] == [{"id": None, "name": "f", "arguments": "{}"}]


def test_content_filter_is_incomplete() -> None:
    """Both APIs report a content filter stop as incomplete / content_filter."""
    chat = normalize("chat", {"choices": [{"finish_reason": "content_filter", "message": {}}]})
    assert (chat["status"], chat["finish_reason"]) == ("incomplete", "content_filter")
    responses = normalize(
        "responses",
        {"status": "incomplete", "output": [], "incomplete_details": {"reason": "content_filter"}},
    )
    assert (responses["status"], responses["finish_reason"]) == ("incomplete", "content_filter")


@pytest.mark.parametrize(
    "body",
    [[], "x", {"choices": []}, {"choices": ["x"]}, {"unexpected": True}],
    ids=["list", "string", "no-choices", "bad-choice", "unexpected"],
)
def test_wrong_shape_is_upstream_error(body: Any) -> None:
    """A 200 body of the wrong shape is an upstream_error, not a crash."""
    with pytest.raises(UpstreamError):
        normalize("chat", body)
    with pytest.raises(UpstreamError):
        normalize("responses", body)


def test_failed_response_is_upstream_error_with_code() -> None:
    """A Responses body with status failed carries its error code out."""
    body = {"status": "failed", "output": [], "error": {"code": "server_error", "message": "boom"}}
    with pytest.raises(UpstreamError) as info:
        normalize("responses", body)
    assert info.value.upstream_code == "server_error"
    assert "boom" in info.value.message
