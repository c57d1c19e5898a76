"""The request model and its translation onto each API's wire format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay import InvalidRequest, ModelNotAllowed, Settings
from relay.request import BatchRequest, PromptRequest, decode_request
from relay.translate import build_call


def settings(**env: str) -> Settings:
    return Settings.from_env(
        {"AIG_BASE_URL": "http://127.0.0.1:1/v1/a/g/openai", "AIG_TOKEN": "tok-123456789", **env}
    )


def decode(body: Any) -> PromptRequest:
    request = decode_request(json.dumps(body).encode())
    assert isinstance(request, PromptRequest)
    return request


def test_input_needs_the_responses_api() -> None:
    """input with api chat (asked for, or by DEFAULT_API) is refused by name."""
    with pytest.raises(InvalidRequest) as info:
        build_call(decode({"input": "hi", "api": "chat"}), settings())
    assert "input is Responses-style" in info.value.message
    with pytest.raises(InvalidRequest):
        build_call(decode({"input": "hi"}), settings(DEFAULT_API="chat"))


def test_batch_is_recognised() -> None:
    """A body of {"requests": [...]} decodes as a batch of raw items."""
    batch = decode_request(b'{"requests": [{"prompt": "a"}, {"prompt": "b"}]}')
    assert isinstance(batch, BatchRequest)
    assert len(batch.requests) == 2


def test_responses_translation() -> None:
    """prompt, instructions and the cap map onto Responses fields; no chat fields leak in."""
    call = build_call(
        decode(
            {
                "prompt": "hi",
                "instructions": "be brief",
                "max_output_tokens": 20,
                "temperature": 0.2,
                "reasoning_effort": "low",
            }
        ),
        settings(),
    )
    assert call.path == "/responses"
    assert call.body == {
        "model": "gpt-4o-mini",
        "input": "hi",
        "instructions": "be brief",
        "max_output_tokens": 20,
        "temperature": 0.2,
        "reasoning": {"effort": "low"},
    }


def test_chat_translation() -> None:
    """Chat gets a leading system message and max_completion_tokens."""
    call = build_call(
        decode(
            {
                "api": "chat",
                "messages": [{"role": "user", "content": "hi"}],
                "instructions": "be brief",
                "max_output_tokens": 20,
                "model": "gpt-4o",
            }
        ),
        settings(),
    )
    assert call.path == "/chat/completions"
    assert call.body == {
        "model": "gpt-4o",
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_completion_tokens": 20,
    }


def test_messages_become_responses_input_items() -> None:
    """Chat-style history is carried as Responses input items."""
    call = build_call(
        decode(
            {"messages": [{"role": "developer", "content": "d"}, {"role": "user", "content": "u"}]}
        ),
        settings(),
    )
    assert call.body["input"] == [
        {"role": "developer", "content": "d"},
        {"role": "user", "content": "u"},
    ]


def test_default_api_setting() -> None:
    """DEFAULT_API picks the endpoint when the request names none."""
    call = build_call(decode({"prompt": "hi"}), settings(DEFAULT_API="chat"))
    assert call.api == "chat"


def test_tools_and_schema_translate_per_api() -> None:
    """Tools are flat for Responses and nested for Chat; json_schema likewise."""
    body = {
        "prompt": "hi",
        "tools": [{"name": "f", "parameters": {"type": "object"}, "strict": True}],
        "tool_choice": {"name": "f"},
        "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": True},
    }
    responses = build_call(decode(body), settings()).body
    assert responses["tools"] == [
        {"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": True}
    ]
    assert responses["tool_choice"] == {"type": "function", "name": "f"}
    assert responses["text"] == {
        "format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}, "strict": True}
    }
    chat = build_call(decode({**body, "api": "chat"}), settings()).body
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object"}, "strict": True},
        }
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "f"}}
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "s", "schema": {"type": "object"}, "strict": True},
    }


def test_gateway_headers() -> None:
    """metadata and cache options become cf-aig-* headers, ASCII only."""
    call = build_call(
        decode(
            {
                "prompt": "hi",
                "metadata": {"team": "ünï\r\ncode", "n": 1, "ok": True},
                "cache": {"ttl": 60, "skip": True, "key": "k1"},
            }
        ),
        settings(),
    )
    assert json.loads(call.headers["cf-aig-metadata"]) == {
        "team": "ünï\r\ncode",
        "n": 1,
        "ok": True,
    }
    assert call.headers["cf-aig-metadata"].isascii()
    assert "\n" not in call.headers["cf-aig-metadata"]
    assert call.headers["cf-aig-cache-ttl"] == "60"
    assert call.headers["cf-aig-skip-cache"] == "true"
    assert call.headers["cf-aig-cache-key"] == "k1"


def test_default_metadata_only_when_body_sets_none() -> None:
    """A scheduler job's default metadata yields to the body's own."""
    plain = build_call(decode({"prompt": "hi"}), settings(), default_metadata={"job": "j"})
    assert json.loads(plain.headers["cf-aig-metadata"]) == {"job": "j"}
    own = build_call(
        decode({"prompt": "hi", "metadata": {"a": 1}}), settings(), default_metadata={"job": "j"}
    )
    assert json.loads(own.headers["cf-aig-metadata"]) == {"a": 1}


def test_allowed_models() -> None:
    """A model outside ALLOWED_MODELS is refused before anything goes upstream."""
    allowed = settings(ALLOWED_MODELS="gpt-4o-mini, gpt-4o")
    assert build_call(decode({"prompt": "hi", "model": "gpt-4o"}), allowed).model == "gpt-4o"
    with pytest.raises(ModelNotAllowed):
        build_call(decode({"prompt": "hi", "model": "o3"}), allowed)


def test_extra_body_merges_but_cannot_override() -> None:
    """extra_body adds provider parameters and is refused for fields the contract names."""
    call = build_call(
        decode({"prompt": "hi", "extra_body": {"store": False, "user": "u"}}), settings()
    )
    assert call.body["store"] is False and call.body["user"] == "u"
    for key in ("model", "stream", "input", "tools", "background", "n", "functions"):
        with pytest.raises(InvalidRequest) as info:
            build_call(decode({"prompt": "hi", "extra_body": {key: "x"}}), settings())
        assert key in info.value.message


def test_content_parts_are_translated_per_api() -> None:
    """Text and image parts are spelled the way each API wants; unknown parts pass through."""
    parts = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.test/a.png", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "xx", "format": "wav"}},
    ]
    body = {"messages": [{"role": "user", "content": parts}]}
    responses = build_call(decode(body), settings()).body["input"][0]["content"]
    assert responses == [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "https://example.test/a.png", "detail": "low"},
        parts[2],
    ]
    back = [
        {"type": "input_text", "text": "hi"},
        {"type": "input_image", "image_url": "https://example.test/b.png"},
    ]
    chat = build_call(
        decode({"api": "chat", "messages": [{"role": "user", "content": back}]}), settings()
    ).body["messages"][0]["content"]
    assert chat == [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": "https://example.test/b.png"}},
    ]


def test_tool_loop_translation() -> None:
    """Parallel calls and their outputs: Chat tool_calls / role tool, Responses function_call /
    function_call_output items, in order, for a history that goes round the loop twice."""
    calls = [
        {"id": "call_a", "name": "get_weather", "arguments": '{"city":"Oslo"}'},
        {"id": "call_b", "name": "get_time", "arguments": "{}"},
    ]
    messages = [
        {"role": "user", "content": "weather and time in Oslo?"},
        {"role": "assistant", "tool_calls": calls},
        {"role": "tool", "tool_call_id": "call_a", "content": "snow"},
        {"role": "tool", "tool_call_id": "call_b", "content": "09:00"},
        {
            "role": "assistant",
            "content": "Checking again.",
            "tool_calls": [{**calls[0], "id": "c"}],
        },
        {"role": "tool", "tool_call_id": "c", "content": "rain"},
    ]
    chat = build_call(decode({"api": "chat", "messages": messages}), settings()).body["messages"]
    assert chat == [
        messages[0],
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for c in calls
            ],
        },
        messages[2],
        messages[3],
        {
            "role": "assistant",
            "content": "Checking again.",
            "tool_calls": [
                {
                    "id": "c",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": calls[0]["arguments"]},
                }
            ],
        },
        messages[5],
    ]
    responses = build_call(decode({"messages": messages}), settings()).body["input"]
    assert responses == [
        messages[0],
        *(
            {
                "type": "function_call",
                "call_id": c["id"],
                "name": c["name"],
                "arguments": c["arguments"],
            }
            for c in calls
        ),
        {"type": "function_call_output", "call_id": "call_a", "output": "snow"},
        {"type": "function_call_output", "call_id": "call_b", "output": "09:00"},
        {"role": "assistant", "content": "Checking again."},
        {
            "type": "function_call",
            "call_id": "c",
            "name": "get_weather",
            "arguments": calls[0]["arguments"],
        },
        {"type": "function_call_output", "call_id": "c", "output": "rain"},
    ]
