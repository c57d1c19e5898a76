"""The request model refuses bad bodies with a message that names what was wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from relay import InvalidRequest
from relay.request import decode_request


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"promt": "hi"}, "unknown field `promt`"),
        ({"prompt": "hi", "max_output_tokens": "10"}, "max_output_tokens: expected `int`"),
        ({"prompt": "hi", "max_output_tokens": 0}, "max_output_tokens"),
        ({"prompt": "hi", "max_output_tokens": True}, "max_output_tokens"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "hi", "model": ""}, "model"),
        ({}, "exactly one of prompt, messages or input"),
        ({"prompt": "a", "messages": [{"role": "user", "content": "b"}]}, "exactly one"),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content: required"),
        ({"messages": [{"role": "user", "content": "x", "name": "n"}]}, "unknown field `name`"),
        ({"prompt": "hi", "api": "completions"}, "api"),
        ({"prompt": "hi", "request_id": "ok\n"}, "request_id"),
        ({"prompt": "hi", "cache": {"key": "abc\n"}}, "cache.key"),
        ({"prompt": "hi", "metadata": {"k": "v" * 513}}, "metadata"),
        ({"prompt": "hi", "metadata": {str(i): i for i in range(6)}}, "metadata"),
        ({"prompt": "hi", "metadata": {"a": {"nested": 1}}}, "metadata"),
        ({"prompt": "hi", "cache": {"ttl": 59}}, "cache.ttl"),
        ({"prompt": "hi", "cache": {"ttl": 2_592_001}}, "cache.ttl"),
        ({"prompt": "hi", "cache": {"key": "a\r\nx-evil: 1"}}, "cache.key"),
        ({"prompt": "hi", "request_id": "has space"}, "request_id"),
        ({"prompt": "hi", "request_id": "x" * 129}, "request_id"),
        ({"prompt": "hi", "tool_choice": "auto"}, "tool_choice needs tools"),
        ({"prompt": "hi", "temperature": "0.5"}, "temperature"),
        ({"prompt": "hi", "json_schema": {"name": "x"}}, "json_schema.schema: required"),
        ({"prompt": "hi", "reasoning_effort": "extreme"}, "reasoning_effort"),
    ],
)
def test_invalid_bodies_name_the_field(body: Any, fragment: str) -> None:
    """Each bad body is an InvalidRequest whose message names what was wrong."""
    with pytest.raises(InvalidRequest) as info:
        decode_request(json.dumps(body).encode())
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b'"prompt"', "body must be a JSON object"),
        (b'{"prompt": "\xff"}', "UTF-8"),
        (b'{"input": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested too deeply"),
        (b"", "not valid JSON"),
    ],
)
def test_undecodable_bodies(raw: bytes, fragment: str) -> None:
    """Bytes that are not a JSON object give a clear InvalidRequest, never a crash."""
    with pytest.raises(InvalidRequest) as info:
        decode_request(raw)
    assert fragment in info.value.message


def test_regex_messages_are_words() -> None:
    """A pattern failure says what is allowed, not the regex."""
    with pytest.raises(InvalidRequest) as info:
        decode_request(b'{"prompt": "hi", "request_id": "a b"}')
    assert "A-Z a-z 0-9" in info.value.message and "regex" not in info.value.message
