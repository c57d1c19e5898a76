"""The tool loop as the provider checks it: calls, tool outputs, and what the model says after.

A request that carries tool calls or tool outputs (Chat ``tool_calls`` / ``role: tool``,
Responses ``function_call`` / ``function_call_output``) is checked here before it is answered:

- every message or item is checked against the openai package's own request type (``_wire``);
- every tool output must answer a call made earlier in the same request, and every call must be
  answered, with OpenAI's own 400 bodies otherwise;
- the answer then reports the outputs that end the request (``Tool <name> returned: <output>``),
  so a test can see that each one reached the model.

Requests without any of these shapes skip all of it (no ``openai`` import, no cost).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulators.gateway._errors import JsonObject, openai_error
from emulators.gateway._json import content_text as _text
from emulators.gateway._wire import WireError, chat_message_type, check, responses_item_type

__all__ = ["ToolLoopError", "ToolOutput", "chat_tool_outputs", "reply", "responses_tool_outputs"]

_RESPONSES_LOOP_ITEMS = frozenset({"function_call", "function_call_output"})


class ToolLoopError(Exception):
    """A request the real API would refuse; ``body`` is its 400 error body."""

    def __init__(self, body: JsonObject) -> None:
        super().__init__(body["error"]["message"])
        self.body = body


@dataclass(frozen=True, slots=True)
class ToolOutput:
    name: str
    output: str


def reply(outputs: list[ToolOutput]) -> str | None:
    """What the model says once it has the tools' outputs; None when there are none."""
    if not outputs:
        return None
    return " ".join(f"Tool {o.name} returned: {o.output}" for o in outputs)


def chat_tool_outputs(messages: list[Any]) -> list[ToolOutput]:
    """Check a Chat history's tool loop; return the tool outputs that end it."""
    if not any(
        isinstance(m, dict) and ("tool_calls" in m or m.get("role") == "tool") for m in messages
    ):
        return []
    for index, message in enumerate(messages):
        _wire_check(message, chat_message_type(), f"messages[{index}]")
    outputs: list[ToolOutput] = []
    asked: dict[str, str] = {}  # the open assistant turn's calls: id -> name
    unanswered: list[str] = []
    asked_at = -1
    for index, message in enumerate(messages):
        if message.get("role") == "tool":
            if asked_at < 0:
                raise _chat_error(
                    "Invalid parameter: messages with role 'tool' must be a response to a "
                    "preceeding message with 'tool_calls'.",
                    f"messages.[{index}].role",
                )
            call_id = message["tool_call_id"]
            if call_id not in asked:
                raise _chat_error(
                    f"Invalid parameter: 'tool_call_id' of '{call_id}' not found in 'tool_calls' "
                    "of previous message.",
                    f"messages.[{index}].tool_call_id",
                )
            if call_id in unanswered:
                unanswered.remove(call_id)
            outputs.append(ToolOutput(asked[call_id], _text(message.get("content"))))
            continue
        _require_answered(unanswered, asked_at)
        outputs = []
        calls = message.get("tool_calls") or []
        asked = {c["id"]: c["function"]["name"] for c in calls if c.get("type") == "function"}
        unanswered = list(asked)
        asked_at = index if calls else -1
    _require_answered(unanswered, asked_at)
    return outputs


def responses_tool_outputs(items: list[Any]) -> list[ToolOutput]:
    """Check a Responses input's tool loop; return the function_call_outputs that end it."""
    if not any(isinstance(i, dict) and i.get("type") in _RESPONSES_LOOP_ITEMS for i in items):
        return []
    for index, item in enumerate(items):
        # Message items are left alone: the API takes an assistant's output_text parts in an
        # input message, which the package's EasyInputMessageParam does not list.
        if isinstance(item, dict) and item.get("type", "message") != "message":
            _wire_check(item, responses_item_type(), f"input[{index}]")
    calls: dict[str, str] = {}  # call_id -> name, for every call so far
    answered: set[str] = set()
    outputs: list[ToolOutput] = []
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "function_call":
            calls[item["call_id"]] = item["name"]
            outputs = []
        elif kind == "function_call_output":
            call_id = item.get("call_id")
            if call_id not in calls:
                raise ToolLoopError(
                    openai_error(
                        f"No tool call found for function call output with call_id {call_id}.",
                        "invalid_request_error",
                        "input",
                        None,
                    )
                )
            answered.add(call_id)
            outputs.append(ToolOutput(calls[call_id], _text(item.get("output"))))
        else:
            outputs = []
    for call_id in calls:
        if call_id not in answered:
            raise ToolLoopError(
                openai_error(
                    f"No tool output found for function call {call_id}.",
                    "invalid_request_error",
                    "input",
                    None,
                )
            )
    return outputs


def _in_chat_loop(message: Any) -> bool:
    return isinstance(message, dict) and ("tool_calls" in message or message.get("role") == "tool")


def _require_answered(unanswered: list[str], asked_at: int) -> None:
    if unanswered:
        raise _chat_error(
            "An assistant message with 'tool_calls' must be followed by tool messages responding "
            "to each 'tool_call_id'. The following tool_call_ids did not have response messages: "
            + ", ".join(unanswered),
            f"messages.[{asked_at}].role",
        )


def _wire_check(value: Any, hint: Any, path: str) -> None:
    try:
        check(value, hint, path)
    except WireError as exc:
        raise ToolLoopError(exc.body) from None


def _chat_error(message: str, param: str) -> ToolLoopError:
    # OpenAI's Chat tool-loop errors carry no code and name the message in its older
    # "messages.[N]" spelling (as reported for the "role 'tool'" one; the param of the other two
    # is not on record, so it follows the same pattern).
    return ToolLoopError(openai_error(message, "invalid_request_error", param, None))
