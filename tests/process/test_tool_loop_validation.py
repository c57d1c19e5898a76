"""The tool loop's validation up front, over real sockets, and the request model against
openapi.yaml in-process (see test_tool_loop.py for the whole loop).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import msgspec
import pytest

from emulators.gateway import GatewayEmulator
from relay import InvalidRequest
from relay.messages import MAX_ARGUMENTS_CHARS, MessageToolCall
from relay.request import decode_request
from tests.support.servers import ServerFactory
from tests.support.tool_loop import APIS, SPEC, WEATHER, follow_up, nonce, upstream_bodies

# --- validation up front ----------------------------------------------------------------------

CALL = {"id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'}
ASKED = {"role": "assistant", "tool_calls": [CALL]}
USER = {"role": "user", "content": "weather?"}
CALLS_2 = {"tool_calls": [{**CALL, "id": "call_2"}]}


@pytest.mark.parametrize(
    ("messages", "fragment"),
    [
        ([USER, ASKED, {"role": "tool", "content": "x"}], "messages[2].tool_call_id: required"),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_9", "content": "x"}],
            "messages[2].tool_call_id: 'call_9' names no call",
        ),
        (
            # The call comes after the output that names it: not an earlier call.
            [USER, {"role": "tool", "tool_call_id": "call_1", "content": "x"}, ASKED],
            "messages[1].tool_call_id: 'call_1' names no call",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"name": "f", "arguments": "{}"}]}],
            "messages[1].tool_calls[0].id: required",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"id": "c", "arguments": "{}"}]}],
            "messages[1].tool_calls[0].name: required",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{"id": "c", "name": "f"}]}],
            "messages[1].tool_calls[0].arguments: required",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "arguments": {"city": "P"}}]}],
            "messages[1].tool_calls[0].arguments: expected `str`, got `object`",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "name": "has space"}]}],
            "messages[1].tool_calls[0].name: expected `str` of 1 to 64",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "id": "x" * 257}]}],
            "messages[1].tool_calls[0].id: expected `str` of length <= 256",
        ),
        (
            [USER, {"role": "assistant", "tool_calls": [{**CALL, "type": "function"}]}],
            "unknown field `type` in messages[1].tool_calls[0]",
        ),
        ([USER, {"role": "assistant", "tool_calls": []}], "messages[1].tool_calls"),
        (
            [USER, {"role": "assistant", "tool_calls": [CALL, CALL]}],
            "messages[1].tool_calls[1].id: 'call_1' is used by an earlier call",
        ),
        (
            [{**USER, "tool_calls": [CALL]}],
            "messages[0].tool_calls: only an assistant message may carry tool_calls",
        ),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_1", "content": "x", **CALLS_2}],
            "messages[2].tool_calls: only an assistant message may carry tool_calls",
        ),
        (
            [{**USER, "tool_call_id": "call_1"}],
            "messages[0].tool_call_id: only a tool message carries tool_call_id",
        ),
        ([USER, {"role": "assistant", "content": None}], "messages[1].content: required"),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_1"}],
            "messages[2].content: required",
        ),
        (
            [
                USER,
                ASKED,
                {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "image_url"}]},
            ],
            "messages[2].content[0]: a tool message's content is a string or text parts",
        ),
        (
            [USER, ASKED, {"role": "tool", "tool_call_id": "call_1", "content": "x", "name": "f"}],
            "unknown field `name` in messages[2]",
        ),
    ],
)
@pytest.mark.parametrize("api", APIS)
def test_bad_tool_messages_are_refused_by_place(
    serve: ServerFactory, gateway: GatewayEmulator, api: str, messages: list[Any], fragment: str
) -> None:
    """Each malformed loop is a 400 invalid_request naming the place; nothing goes upstream."""
    tag = nonce()
    response = serve().post({"messages": messages, "api": api, "metadata": {"tag": tag}})
    body = response.json()
    assert response.status_code == 400, body
    assert body["error"]["type"] == "invalid_request"
    assert fragment in body["error"]["message"], body["error"]["message"]
    assert upstream_bodies(gateway, tag) == []


def test_arguments_are_bounded(serve: ServerFactory) -> None:
    """A call's arguments may be long, but not without end (1 MiB characters)."""
    big = {**CALL, "arguments": "x" * (MAX_ARGUMENTS_CHARS + 1)}
    answer = serve().post({"messages": [USER, {"role": "assistant", "tool_calls": [big]}]}).json()
    assert answer["error"]["type"] == "invalid_request"
    assert (
        "messages[1].tool_calls[0].arguments: expected `str` of length <= 1048576"
        in (answer["error"]["message"])
    )


def test_batch_item_names_its_place(serve: ServerFactory) -> None:
    """In a batch, the refused item's message starts with requests[i] and keeps the place."""
    bad = {"messages": [USER, ASKED, {"role": "tool", "tool_call_id": "nope", "content": "x"}]}
    answer = serve().post({"requests": [{"prompt": "fine"}, bad]}).json()
    first, second = answer["results"]
    assert first["ok"] is True
    assert second["error"]["message"].startswith("requests[1]")
    assert "messages[2].tool_call_id" in second["error"]["message"]


# --- the request model and the spec, in-process -----------------------------------------------


def test_spec_describes_the_new_shapes() -> None:
    """openapi.yaml's Message takes a tool loop, and ToolCallInput is MessageToolCall's twin."""
    schema = SPEC["components"]["schemas"]["ToolCallInput"]
    fields = msgspec.structs.fields(MessageToolCall)
    assert set(schema["properties"]) == {f.name for f in fields}
    assert set(schema["required"]) == {f.name for f in fields if f.required}
    assert schema["additionalProperties"] is False
    request = {"messages": follow_up("q", [CALL], ["out"]), "tools": [WEATHER]}
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/PromptRequest", "components": SPEC["components"]}
    )
    validator.validate(request)
    decode_request(json.dumps(request).encode())  # and the function takes it too
    bad = {"messages": [USER, {"role": "tool", "content": "x"}]}
    assert not validator.is_valid(bad)
    with pytest.raises(InvalidRequest):
        decode_request(json.dumps(bad).encode())
