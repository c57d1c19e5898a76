"""The gateway emulator on its own, for tool loops: OpenAI's checks and OpenAI's error bodies.

A request carrying tool calls or outputs is checked against the openai package's request types,
every output must answer an earlier call and every call must be answered (see emulators/_toolloop).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emulators.gateway import GatewayEmulator
from tests.support.emulators import TOKEN

USER = {"role": "user", "content": "weather?"}

CHAT_PATH = "/chat/completions"
RESPONSES_PATH = "/responses"


def emulator_post(gateway: GatewayEmulator, path: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}"}
    return httpx.post(gateway.base_url() + path, json=body, headers=headers, timeout=10)


def chat_call(call_id: str) -> dict[str, Any]:
    return {
        "id": call_id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
    }


@pytest.mark.parametrize(
    ("messages", "error"),
    [
        (
            [USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}],
            {
                "message": "Invalid parameter: messages with role 'tool' must be a response to a "
                "preceeding message with 'tool_calls'.",
                "type": "invalid_request_error",
                "param": "messages.[1].role",
                "code": None,
            },
        ),
        (
            [
                USER,
                {"role": "assistant", "tool_calls": [chat_call("call_1")]},
                {"role": "tool", "tool_call_id": "call_2", "content": "x"},
            ],
            {
                "message": "Invalid parameter: 'tool_call_id' of 'call_2' not found in "
                "'tool_calls' of previous message.",
                "type": "invalid_request_error",
                "param": "messages.[2].tool_call_id",
                "code": None,
            },
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [chat_call("call_1")]}],
            {
                "message": "An assistant message with 'tool_calls' must be followed by tool "
                "messages responding to each 'tool_call_id'. The following tool_call_ids did not "
                "have response messages: call_1",
                "type": "invalid_request_error",
                "param": "messages.[1].role",
                "code": None,
            },
        ),
        (
            [
                USER,
                {"role": "assistant", "tool_calls": [chat_call("call_1")]},
                {"role": "tool", "tool_call_id": "call_1", "content": "x", "name": "f"},
            ],
            {
                "message": "Unknown parameter: 'messages[2].name'.",
                "type": "invalid_request_error",
                "param": "messages[2].name",
                "code": "unknown_parameter",
            },
        ),
        (
            [
                USER,
                {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function"}]},
                {"role": "tool", "tool_call_id": "call_1", "content": "x"},
            ],
            {
                "message": "Missing required parameter: 'messages[1].tool_calls[0].function'.",
                "type": "invalid_request_error",
                "param": "messages[1].tool_calls[0].function",
                "code": "missing_required_parameter",
            },
        ),
    ],
)
def test_emulator_chat_refuses_a_broken_loop(
    gateway: GatewayEmulator, messages: list[Any], error: dict[str, Any]
) -> None:
    answer = emulator_post(gateway, CHAT_PATH, {"model": "gpt-4o-mini", "messages": messages})
    assert answer.status_code == 400
    assert answer.json() == {"error": error}


@pytest.mark.parametrize(
    ("items", "error"),
    [
        (
            [USER, {"type": "function_call_output", "call_id": "call_7", "output": "x"}],
            {
                "message": "No tool call found for function call output with call_id call_7.",
                "type": "invalid_request_error",
                "param": "input",
                "code": None,
            },
        ),
        (
            [
                USER,
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": {}},
                {"type": "function_call_output", "call_id": "call_1", "output": "x"},
            ],
            {
                "message": "Invalid type for 'input[1].arguments': expected a string, but got an "
                "object instead.",
                "type": "invalid_request_error",
                "param": "input[1].arguments",
                "code": "invalid_type",
            },
        ),
        (
            [
                USER,
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "outptu": "x"},
            ],
            {
                "message": "Unknown parameter: 'input[2].outptu'.",
                "type": "invalid_request_error",
                "param": "input[2].outptu",
                "code": "unknown_parameter",
            },
        ),
    ],
)
def test_emulator_responses_refuses_a_broken_loop(
    gateway: GatewayEmulator, items: list[Any], error: dict[str, Any]
) -> None:
    answer = emulator_post(gateway, RESPONSES_PATH, {"model": "gpt-4o-mini", "input": items})
    assert answer.status_code == 400
    assert answer.json() == {"error": error}
