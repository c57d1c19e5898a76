"""The AI Gateway stand-in: text, reasoning, tools, structured output and SDK answers.

Over real sockets with ``httpx``; every answer is checked against the ``openai`` package's own
types so the emulator keeps speaking the real wire format.
"""

from __future__ import annotations

import json

import httpx
import openai
from openai.types.chat import ChatCompletion
from openai.types.responses import Response

from emulators.gateway import GatewayEmulator
from tests.support.emulators import (
    CHAT,
    KEY,
    RESPONSES,
    TOKEN,
    WEATHER_ARGUMENTS,
    WEATHER_TOOL_PARAMETERS,
    chat,
    chat_body,
    fixture,
    respond,
    responses_body,
)

# === AI Gateway: answers =====================================================================


def test_gateway_chat_text(client: httpx.Client) -> None:
    body = chat_body(
        "what is up",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "an answer"},
            {
                "role": "user",
                "content": [{"type": "text", "text": "what"}, {"type": "text", "text": "is up"}],
            },
        ],
    )
    answer = client.post(CHAT, json=body)
    completion = ChatCompletion.model_validate(answer.json())
    assert answer.headers["content-type"] == "application/json"
    assert "cf-aig-cache-status" not in answer.headers  # no caching asked for: no status
    choice = completion.choices[0]
    assert choice.message.content == "Echo: what is up"
    assert (choice.finish_reason, choice.message.refusal) == ("stop", None)
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == "gpt-4o-mini-2024-07-18"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (9, 4, 13)
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0
    # Deterministic: the same request gives the same body.
    assert client.post(CHAT, json=body).content == answer.content


def test_gateway_responses_text(client: httpx.Client) -> None:
    body = responses_body(
        instructions="Be brief.",
        input=[
            {"role": "user", "content": "earlier"},
            {
                "type": "message",
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "say"},
                    {"type": "input_text", "text": "hi"},
                ],
            },
        ],
        metadata={"team": "a"},
    )
    response = respond(client, body)
    assert response.output_text == "Echo: say hi"
    assert response.status == "completed"
    assert response.id.startswith("resp_")
    assert str(response.output[0].id).startswith("msg_")
    assert response.model == "gpt-4o-mini-2024-07-18"
    assert response.instructions == "Be brief."
    assert response.metadata == {"team": "a"}
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (5, 3)
    assert response.usage.total_tokens == 8
    assert response.usage.input_tokens_details.cached_tokens == 0
    assert response.usage.output_tokens_details.reasoning_tokens == 0
    raw = client.post(RESPONSES, json=responses_body("plain")).json()
    assert set(fixture("responses/resp_text__recorded_gpt-4o-mini.json")) <= set(raw)


def test_gateway_reasoning_models(client: httpx.Client) -> None:
    response = respond(client, responses_body("think", model="o4-mini"))
    assert [item.type for item in response.output] == ["reasoning", "message"]
    assert str(response.output[0].id).startswith("rs_")
    assert response.usage is not None
    assert response.usage.output_tokens_details.reasoning_tokens == 8
    assert response.usage.output_tokens == 2 + 8
    completion = chat(client, chat_body("think", model="gpt-5.1"))
    assert completion.usage is not None and completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens == 8
    assert completion.usage.completion_tokens == 2 + 8


def test_gateway_output_cap(client: httpx.Client) -> None:
    response = respond(client, responses_body("one two three four", max_output_tokens=3))
    assert response.status == "incomplete"
    assert response.incomplete_details is not None
    assert response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Echo: one two"
    assert response.max_output_tokens == 3
    for cap in ("max_completion_tokens", "max_tokens"):
        completion = chat(client, chat_body("one two three four", **{cap: 2}))
        assert completion.choices[0].finish_reason == "length"
        assert completion.choices[0].message.content == "Echo: one"
    assert respond(client, responses_body("short", max_output_tokens=50)).status == "completed"


def test_gateway_chat_tools(client: httpx.Client) -> None:
    tools = [
        {"type": "function", "function": {"name": "first", "parameters": {"type": "object"}}},
        {
            "type": "function",
            "function": {"name": "weather", "parameters": WEATHER_TOOL_PARAMETERS},
        },
    ]
    forced = {"type": "function", "function": {"name": "weather"}}
    completion = chat(client, chat_body("weather in Paris", tools=tools, tool_choice=forced))
    choice = completion.choices[0]
    assert (choice.finish_reason, choice.message.content) == ("tool_calls", None)
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "weather"
    assert json.loads(call.function.arguments) == WEATHER_ARGUMENTS

    first = chat(client, chat_body("hi", tools=tools)).choices[0].message.tool_calls
    assert first is not None and first[0].type == "function"
    assert first[0].function.name == "first"
    none = chat(client, chat_body("hi", tools=tools, tool_choice="none")).choices[0]
    assert (none.message.content, none.finish_reason) == ("Echo: hi", "stop")
    # After a tool result the model answers in text, about that result, instead of calling again.
    body = chat_body("hi", tools=tools)
    body["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
    ]
    assert chat(client, body).choices[0].message.content == "Tool weather returned: sunny"
    bad = {"type": "function", "function": {"name": "missing"}}
    answer = client.post(CHAT, json=chat_body("hi", tools=tools, tool_choice=bad))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "tool_choice"


def test_gateway_responses_tools(client: httpx.Client) -> None:
    tools = [
        {"type": "function", "name": "first", "parameters": {"type": "object"}},
        {"type": "function", "name": "weather", "parameters": WEATHER_TOOL_PARAMETERS},
    ]
    forced = {"type": "function", "name": "weather"}
    response = respond(client, responses_body("weather in Paris", tools=tools, tool_choice=forced))
    assert len(response.output) == 1
    call = response.output[0]
    assert call.type == "function_call"
    assert call.id is not None and call.id.startswith("fc_")
    assert call.call_id.startswith("call_")
    assert (call.name, call.status) == ("weather", "completed")
    assert json.loads(call.arguments) == WEATHER_ARGUMENTS
    assert [tool.type for tool in response.tools] == ["function", "function"]

    output = {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}
    followup = responses_body(
        tools=tools,
        input=[
            {"role": "user", "content": "weather in Paris"},
            call.model_dump(exclude_none=True),
            output,
        ],
    )
    assert respond(client, followup).output_text == "Tool weather returned: sunny"
    # An output for a call the request does not contain is refused, as the API does.
    orphan = responses_body(tools=tools, input=[{"role": "user", "content": "x"}, output])
    answer = client.post(RESPONSES, json=orphan)
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("No tool call found")
    assert respond(client, responses_body(tools=tools, tool_choice="none")).output_text


def test_gateway_structured_output(client: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {
            "answer": {"type": "string"},
            "words": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["answer", "words", "tags"],
        "additionalProperties": False,
    }
    expected = {"answer": "Echo: count my words", "words": 3, "tags": []}
    fmt = {"type": "json_schema", "json_schema": {"name": "out", "schema": schema, "strict": True}}
    completion = chat(client, chat_body("count my words", response_format=fmt))
    assert json.loads(completion.choices[0].message.content or "") == expected

    text = {"format": {"type": "json_schema", "name": "out", "schema": schema, "strict": True}}
    answer = client.post(RESPONSES, json=responses_body("count my words", text=text))
    response = Response.model_validate(answer.json())
    assert json.loads(response.output_text) == expected
    assert answer.json()["text"]["format"]["schema"] == schema
    assert response.text is not None and response.text.format is not None
    assert response.text.format.type == "json_schema"


def test_gateway_refusal(client: httpx.Client) -> None:
    message = chat(client, chat_body("please REFUSE this")).choices[0]
    assert message.message.content is None
    assert message.message.refusal == "I'm sorry, I can't help with that."
    assert message.finish_reason == "stop"
    response = respond(client, responses_body("please REFUSE this"))
    item = response.output[0]
    assert item.type == "message"
    part = item.content[0]
    assert part.type == "refusal"
    assert part.refusal == "I'm sorry, I can't help with that."
    assert chat(client, chat_body("REFUSED is not the word")).choices[0].message.refusal is None


def test_gateway_official_sdk(gateway: GatewayEmulator) -> None:
    sdk = openai.OpenAI(
        base_url=gateway.base_url(),
        api_key=KEY,
        default_headers={"cf-aig-authorization": f"Bearer {TOKEN}"},
        max_retries=0,
    )
    completion = sdk.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "sdk"}]
    )
    assert completion.choices[0].message.content == "Echo: sdk"
    assert sdk.responses.create(model="gpt-4o-mini", input="sdk").output_text == "Echo: sdk"
    with sdk.responses.stream(model="gpt-4o-mini", input="streamed sdk") as stream:
        assert stream.get_final_response().output_text == "Echo: streamed sdk"
    sdk.close()
