"""The tool-loop rules over a request's `messages` that the request model's types cannot say."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._request import Message

__all__ = ["check_messages"]


def check_messages(messages: list[Message]) -> None:
    """The tool-loop rules msgspec cannot express; raise ValueError naming the place."""
    calls: set[str] = set()  # ids of the calls made so far
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if message.tool_calls is not None and message.role != "assistant":
            raise ValueError(f"{where}.tool_calls: only an assistant message may carry tool_calls")
        if message.role == "tool":
            if message.tool_call_id is None:
                raise ValueError(f"{where}.tool_call_id: required in a tool message")
            if message.tool_call_id not in calls:
                raise ValueError(
                    f"{where}.tool_call_id: {message.tool_call_id[:64]!r} names no call "
                    "made in an earlier assistant message's tool_calls"
                )
            _check_tool_content(message.content, where)
        elif message.tool_call_id is not None:
            raise ValueError(f"{where}.tool_call_id: only a tool message carries tool_call_id")
        if message.content is None and message.tool_calls is None:
            raise ValueError(
                f"{where}.content: required (only an assistant message with tool_calls may "
                "leave it out)"
            )
        for position, call in enumerate(message.tool_calls or ()):
            if call.id in calls:
                raise ValueError(
                    f"{where}.tool_calls[{position}].id: {call.id[:64]!r} is used by an "
                    "earlier call"
                )
            calls.add(call.id)


# What a tool's output may be made of, besides a plain string.
_TOOL_TEXT_PARTS = frozenset({"text", "input_text"})


def _check_tool_content(content: object, where: str) -> None:
    if not isinstance(content, list):
        return  # a string, or None (refused by the caller with the usual message)
    for position, part in enumerate(content):
        if part.get("type") not in _TOOL_TEXT_PARTS or not isinstance(part.get("text"), str):
            raise ValueError(
                f"{where}.content[{position}]: a tool message's content is a string or text "
                'parts ({"type": "text", "text": "..."})'
            )
