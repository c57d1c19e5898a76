"""Chat turns and tools: `Message` and its tool calls, the tools a model may call, and the
tool-loop rules over a request's `messages` that the types cannot say."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

__all__ = [
    "MAX_ARGUMENTS_CHARS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_TOOL_CALLS",
    "CallId",
    "Description",
    "Message",
    "MessageToolCall",
    "NonEmpty",
    "Role",
    "Strict",
    "Tool",
    "ToolChoiceFunction",
    "ToolName",
    "check_messages",
]

# Tool and schema descriptions (OpenAI's own limit is far below this).
MAX_DESCRIPTION_CHARS = 16_384
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
# Descriptions go upstream only; bounded so that no field is unbounded but the prompt itself.
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION_CHARS)]
ToolName = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}\Z")]
Role = Literal["system", "developer", "user", "assistant", "tool"]
# A tool call's id as the provider made it (OpenAI's are ~30 characters); the bound keeps a log
# line or an error message from ever quoting something huge.
CallId = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# A call's arguments: the JSON text the model produced, passed back unchanged.
MAX_ARGUMENTS_CHARS = 1_048_576
MAX_TOOL_CALLS = 128


class Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """The request model's base: an unknown field is refused by name."""


class MessageToolCall(Strict):
    """A call the model asked for, in the result's own `tool_calls` shape."""

    id: CallId
    name: ToolName
    arguments: Annotated[str, msgspec.Meta(max_length=MAX_ARGUMENTS_CHARS)]


class Message(Strict):
    """One chat-style turn; the rules that span fields and turns are in `check_messages`."""

    role: Role
    # A string, or a list of content parts passed through unchanged (images, files, ...).
    # Only an assistant message that carries tool_calls may leave it out.
    content: NonEmpty | Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1)] | None = None
    tool_calls: (
        Annotated[list[MessageToolCall], msgspec.Meta(min_length=1, max_length=MAX_TOOL_CALLS)]
        | None
    ) = None
    # role "tool" only: which earlier call this message answers.
    tool_call_id: CallId | None = None


class Tool(Strict):
    """A function the model may call."""

    name: ToolName
    parameters: dict[str, Any]
    description: Description | None = None
    strict: bool | None = None


class ToolChoiceFunction(Strict):
    """Force a call to one named tool."""

    name: ToolName


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
