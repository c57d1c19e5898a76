"""The two local stand-ins, tested over real sockets with real clients.

Secret Manager: the real ``google-cloud-secret-manager`` client (sync and asyncio) over plaintext
gRPC. AI Gateway: ``httpx`` and raw sockets, with every answer checked against the ``openai``
package's own types so the emulator keeps speaking the real wire format.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import grpc
import httpx
import openai
import pytest
from google.api_core import exceptions as gexc
from google.api_core import retry as gretry
from google.cloud import secretmanager_v1
from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
    SecretManagerServiceGrpcAsyncIOTransport,
    SecretManagerServiceGrpcTransport,
)
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

from emulators.gateway import GatewayEmulator
from emulators.secretmanager import SecretManagerEmulator

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "openai"
TOKEN = "cf-token"
KEY = "sk-test-key-0123456789"
SECRET = "projects/demo/secrets/openai-key"
OTHER = "projects/demo/secrets/cf-token"
CHAT = "/chat/completions"
RESPONSES = "/responses"
STREAM_EVENTS: TypeAdapter[ResponseStreamEvent] = TypeAdapter(ResponseStreamEvent)
NO_RETRY: Any = None  # the client's default retry would retry UNAVAILABLE for 60 s


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


# === Secret Manager ==========================================================================


@pytest.fixture
def secrets() -> Iterator[SecretManagerEmulator]:
    with SecretManagerEmulator({SECRET: "key-v1", OTHER: b"token-v1"}) as emulator:
        yield emulator


@pytest.fixture
def sm(secrets: SecretManagerEmulator) -> Iterator[Any]:
    channel = grpc.insecure_channel(secrets.address)
    transport = SecretManagerServiceGrpcTransport(channel=channel)
    yield secretmanager_v1.SecretManagerServiceClient(transport=transport)
    channel.close()


def access(client: Any, name: str, **kwargs: Any) -> Any:
    return client.access_secret_version(name=name, retry=NO_RETRY, **kwargs)


def test_secret_latest_is_newest_version_with_full_name_and_checksum(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    assert secrets.set_secret(SECRET, "key-v2") == 2
    answer = access(sm, f"{SECRET}/versions/latest")
    assert answer.name == f"{SECRET}/versions/2"
    assert answer.payload.data == b"key-v2"
    assert answer.payload.data_crc32c == google_crc32c.value(b"key-v2")


def test_secret_numbered_version(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.set_secret(SECRET, "key-v2")
    answer = access(sm, f"{SECRET}/versions/1")
    assert (answer.name, answer.payload.data) == (f"{SECRET}/versions/1", b"key-v1")
    assert access(sm, f"{OTHER}/versions/latest").payload.data == b"token-v1"


def test_secret_disabled_version(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.set_secret(SECRET, "key-v2")
    secrets.disable_version(SECRET, 2)
    assert access(sm, f"{SECRET}/versions/latest").name == f"{SECRET}/versions/1"
    with pytest.raises(gexc.FailedPrecondition, match=r"versions/2\] is in DISABLED state"):
        access(sm, f"{SECRET}/versions/2")
    secrets.enable_version(SECRET, 2)
    assert access(sm, f"{SECRET}/versions/latest").payload.data == b"key-v2"


def test_secret_not_found_messages(sm: Any) -> None:
    missing = "projects/demo/secrets/nope"
    with pytest.raises(gexc.NotFound) as err:
        access(sm, f"{missing}/versions/latest")
    assert err.value.message == f"Secret [{missing}] not found or has no versions."
    with pytest.raises(gexc.NotFound, match=r"Secret Version \[.*/versions/7\] not found"):
        access(sm, f"{SECRET}/versions/7")
    with pytest.raises(gexc.InvalidArgument):
        access(sm, "projects/demo/secrets")


def test_secret_permission_denied_for_the_next_n_calls(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    secrets.set_fault(SECRET, grpc.StatusCode.PERMISSION_DENIED, times=2)
    for _ in range(2):
        with pytest.raises(gexc.PermissionDenied, match=r"secretmanager\.versions\.access"):
            access(sm, f"{SECRET}/versions/latest")
    assert access(sm, f"{SECRET}/versions/latest").payload.data == b"key-v1"
    assert access(sm, f"{OTHER}/versions/latest").payload.data == b"token-v1"
    assert secrets.access_count(SECRET) == 3


def test_secret_unavailable_everywhere_until_cleared(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    secrets.set_fault(None, grpc.StatusCode.UNAVAILABLE)
    for name in (SECRET, OTHER):
        with pytest.raises(gexc.ServiceUnavailable):
            access(sm, f"{name}/versions/latest")
    secrets.set_fault(None, None)
    assert access(sm, f"{SECRET}/versions/latest").payload.data == b"key-v1"


def test_secret_unavailable_twice_is_absorbed_by_client_retry(
    secrets: SecretManagerEmulator, sm: Any
) -> None:
    secrets.set_fault(SECRET, grpc.StatusCode.UNAVAILABLE, times=2)
    retry = gretry.Retry(
        predicate=gretry.if_exception_type(gexc.ServiceUnavailable),
        initial=0.01,
        maximum=0.02,
        timeout=5,
    )
    answer = sm.access_secret_version(name=f"{SECRET}/versions/latest", retry=retry)
    assert answer.payload.data == b"key-v1"
    assert secrets.access_count(SECRET) == 3


def test_secret_corrupted_checksum(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.corrupt_checksum(SECRET)
    answer = access(sm, f"{SECRET}/versions/latest")
    assert answer.payload.data_crc32c != google_crc32c.value(answer.payload.data)
    secrets.corrupt_checksum(SECRET, on=False)
    answer = access(sm, f"{SECRET}/versions/latest")
    assert answer.payload.data_crc32c == google_crc32c.value(answer.payload.data)


def test_secret_delay_trips_the_client_deadline(secrets: SecretManagerEmulator, sm: Any) -> None:
    secrets.set_delay(5)
    started = time.monotonic()
    with pytest.raises(gexc.DeadlineExceeded):
        access(sm, f"{SECRET}/versions/latest", timeout=0.2)
    assert time.monotonic() - started < 2
    secrets.set_delay(0)
    assert access(sm, f"{SECRET}/versions/latest", timeout=2).payload.data == b"key-v1"


def test_secret_access_counts(secrets: SecretManagerEmulator, sm: Any) -> None:
    access(sm, f"{SECRET}/versions/latest")
    access(sm, f"{SECRET}/versions/1")
    with pytest.raises(gexc.NotFound):
        access(sm, f"{SECRET}/versions/9")
    assert secrets.access_count(SECRET) == 3
    assert secrets.access_count(OTHER) == 0
    secrets.reset_counts()
    assert secrets.access_count(SECRET) == 0


def test_secret_async_client(secrets: SecretManagerEmulator) -> None:
    async def run() -> tuple[Any, Any]:
        channel = grpc.aio.insecure_channel(secrets.address)
        transport = SecretManagerServiceGrpcAsyncIOTransport(channel=channel)
        client = secretmanager_v1.SecretManagerServiceAsyncClient(transport=transport)
        try:
            answer = await client.access_secret_version(name=f"{SECRET}/versions/latest")
            secrets.set_fault(SECRET, grpc.StatusCode.PERMISSION_DENIED, times=1)
            with pytest.raises(gexc.PermissionDenied) as err:
                await client.access_secret_version(name=f"{SECRET}/versions/1", retry=NO_RETRY)
            return answer, err.value
        finally:
            await channel.close()

    answer, error = asyncio.run(run())
    assert answer.name == f"{SECRET}/versions/1"
    assert answer.payload.data_crc32c == google_crc32c.value(b"key-v1")
    assert isinstance(error, gexc.PermissionDenied)


def test_secret_names_are_checked() -> None:
    with pytest.raises(ValueError, match="not a secret name"):
        SecretManagerEmulator({"demo/openai-key": "x"})


# === AI Gateway: helpers and fixtures ========================================================


@pytest.fixture
def gateway() -> Iterator[GatewayEmulator]:
    with GatewayEmulator(token=TOKEN, openai_key=KEY) as emulator:
        yield emulator


@pytest.fixture
def client(gateway: GatewayEmulator) -> Iterator[httpx.Client]:
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}", "authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=gateway.base_url(), headers=headers, timeout=5) as http:
        yield http


def chat_body(prompt: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}], **extra}


def responses_body(prompt: str = "hello there", **extra: Any) -> dict[str, Any]:
    return {"model": "gpt-4o-mini", "input": prompt, **extra}


def chat(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> ChatCompletion:
    answer = client.post(CHAT, json=body, **kwargs)
    assert answer.status_code == 200, answer.text
    return ChatCompletion.model_validate(answer.json())


def respond(client: httpx.Client, body: dict[str, Any], **kwargs: Any) -> Response:
    answer = client.post(RESPONSES, json=body, **kwargs)
    assert answer.status_code == 200, answer.text
    return Response.model_validate(answer.json())


def sse(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) per server-sent event."""
    events: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        if not block:
            continue
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                data.append(line.removeprefix("data: "))
        events.append((name, "\n".join(data)))
    return events


def chat_chunks(text: str) -> tuple[list[ChatCompletionChunk], str]:
    events = sse(text)
    chunks = [ChatCompletionChunk.model_validate_json(data) for _, data in events[:-1]]
    return chunks, events[-1][1]


def response_events(text: str) -> list[ResponseStreamEvent]:
    parsed = []
    for number, (name, data) in enumerate(sse(text)):
        event = STREAM_EVENTS.validate_json(data)
        assert event.type == name
        assert event.sequence_number == number
        parsed.append(event)
    return parsed


def faults(script: str, nonce: str = "n1", **extra: Any) -> dict[str, str]:
    return {"cf-aig-metadata": json.dumps({"emulator_fault": script, "nonce": nonce, **extra})}


WEATHER_TOOL_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "country": {"type": "string"},
        "days": {"type": "integer"},
        "unit": {"type": "string", "enum": ["C", "F"]},
        "detailed": {"type": "boolean"},
        "hours": {"type": "array", "items": {"type": "integer"}},
        "where": {"type": "object", "properties": {"lat": {"type": "number"}}},
    },
}
WEATHER_ARGUMENTS = {
    "city": "Echo: weather in Paris",
    "country": "country",
    "days": 3,
    "unit": "C",
    "detailed": True,
    "hours": [],
    "where": {"lat": 3},
}


# === AI Gateway: auth ========================================================================


@pytest.mark.parametrize("token", [None, "Bearer wrong", TOKEN])
def test_gateway_rejects_missing_or_wrong_token(
    gateway: GatewayEmulator, token: str | None
) -> None:
    headers = {} if token is None else {"cf-aig-authorization": token}
    answer = httpx.post(gateway.base_url() + CHAT, json=chat_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "success": False,
        "result": [],
        "messages": [],
        "error": [{"code": 2009, "message": "Unauthorized"}],
        "name": "AiGatewayError",
        "httpCode": 401,
        "internalCode": 2009,
    }
    assert answer.headers["cf-aig-log-id"]


def test_gateway_wrong_provider_key_is_openai_invalid_api_key(gateway: GatewayEmulator) -> None:
    headers = {
        "cf-aig-authorization": f"Bearer {TOKEN}",
        "authorization": "Bearer not-a-real-key-but-should-be-sanitized",
    }
    answer = httpx.post(gateway.base_url() + CHAT, json=chat_body(), headers=headers)
    assert answer.status_code == 401
    assert answer.json() == fixture("errors/error_401_invalid_api_key__chat_recorded.json")


def test_gateway_byok_and_key_rules(gateway: GatewayEmulator) -> None:
    gateway_only = {"cf-aig-authorization": f"Bearer {TOKEN}"}
    url = gateway.base_url() + RESPONSES
    assert httpx.post(url, json=responses_body(), headers=gateway_only).status_code == 200

    gateway.require_openai_key = True
    answer = httpx.post(url, json=responses_body(), headers=gateway_only)
    assert answer.status_code == 400
    assert answer.json()["name"] == "AiGatewayError"
    assert answer.json()["httpCode"] == 400

    gateway.openai_key = None  # no key to match: any Authorization is wrong
    answer = httpx.post(url, json=responses_body(), headers={**gateway_only, "authorization": "x"})
    assert answer.json()["error"]["code"] == "invalid_api_key"


def test_gateway_token_rotation(gateway: GatewayEmulator, client: httpx.Client) -> None:
    assert client.post(CHAT, json=chat_body()).status_code == 200
    gateway.token = "rotated"
    assert client.post(CHAT, json=chat_body()).status_code == 401
    headers = {"cf-aig-authorization": "Bearer rotated"}
    assert client.post(CHAT, json=chat_body(), headers=headers).status_code == 200


# === AI Gateway: routes and validation =======================================================


def test_gateway_unknown_path_and_method(gateway: GatewayEmulator, client: httpx.Client) -> None:
    assert client.post("/embeddings", json={}).status_code == 404
    assert (
        client.post(f"http://127.0.0.1:{gateway.port}/v1/a/g/anthropic/v1/messages").status_code
        == 404
    )
    answer = client.get(CHAT)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("path", "content", "param", "code"),
    [
        (CHAT, b"{not json", None, None),
        (CHAT, b"[1, 2]", None, "invalid_type"),
        (CHAT, b'{"messages": [{"role": "user", "content": "hi"}]}', None, None),
        (CHAT, b'{"model": "", "messages": []}', "model", "invalid_value"),
        (CHAT, b'{"model": "gpt-4o"}', "messages", "missing_required_parameter"),
        (CHAT, b'{"model": "gpt-4o", "messages": []}', "messages", "empty_array"),
        (CHAT, b'{"model": "gpt-4o", "messages": "hi"}', "messages", "invalid_type"),
        (RESPONSES, b'{"model": "gpt-4o"}', "input", "missing_required_parameter"),
        (RESPONSES, b'{"model": "gpt-4o", "input": 3}', "input", "invalid_type"),
        (RESPONSES, b'{"model": "unknown-model", "input": "hi"}', "model", "model_not_found"),
        (
            CHAT,
            b'{"model": "unknown-x", "messages": [{"role": "user"}]}',
            "model",
            "model_not_found",
        ),
    ],
)
def test_gateway_invalid_requests(
    client: httpx.Client, path: str, content: bytes, param: str | None, code: str | None
) -> None:
    answer = client.post(path, content=content, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["type"], error["param"], error["code"]) == ("invalid_request_error", param, code)


def test_gateway_model_not_found_matches_fixture(client: httpx.Client) -> None:
    body = fixture("errors/error_400_model_not_found__responses_recorded.request.json")
    body["model"] = "unknown-this-model-does-not-exist"
    answer = client.post(RESPONSES, json=body)
    expected = fixture("errors/error_400_model_not_found__responses_recorded.json")
    expected["error"]["message"] = expected["error"]["message"].replace(
        "this-model-does-not-exist", body["model"]
    )
    assert answer.json() == expected


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


# === AI Gateway: streaming ===================================================================


def test_gateway_chat_stream(client: httpx.Client) -> None:
    body = chat_body("stream me", stream=True, stream_options={"include_usage": True})
    answer = client.post(CHAT, json=body)
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert "cf-aig-cache-status" not in answer.headers  # no caching asked for: no status
    chunks, done = chat_chunks(answer.text)
    assert done == "[DONE]"
    first, *middle, final, usage = chunks
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in middle) == "Echo: stream me"
    assert len(middle) == 3
    assert final.choices[0].finish_reason == "stop"
    assert usage.choices == []
    assert usage.usage is not None and usage.usage.total_tokens == 2 + 3

    chunks, done = chat_chunks(client.post(CHAT, json=chat_body("no usage", stream=True)).text)
    assert done == "[DONE]"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in chunks)


def test_gateway_chat_stream_tool_call_and_refusal(client: httpx.Client) -> None:
    tools = [
        {"type": "function", "function": {"name": "weather", "parameters": WEATHER_TOOL_PARAMETERS}}
    ]
    chunks, _ = chat_chunks(
        client.post(CHAT, json=chat_body("weather in Paris", tools=tools, stream=True)).text
    )
    calls = [c.choices[0].delta.tool_calls for c in chunks if c.choices[0].delta.tool_calls]
    assert calls[0][0].id is not None and calls[0][0].function is not None
    assert calls[0][0].function.name == "weather"
    arguments = "".join(call[0].function.arguments or "" for call in calls if call[0].function)
    assert len(calls) > 2
    assert json.loads(arguments) == WEATHER_ARGUMENTS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"

    chunks, _ = chat_chunks(client.post(CHAT, json=chat_body("REFUSE", stream=True)).text)
    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks)
    assert refusal == "I'm sorry, I can't help with that."
    capped = chat_body("one two three", stream=True, max_tokens=1)
    chunks, _ = chat_chunks(client.post(CHAT, json=capped).text)
    assert chunks[-1].choices[0].finish_reason == "length"


def test_gateway_responses_stream(client: httpx.Client) -> None:
    answer = client.post(RESPONSES, json=responses_body("stream me", stream=True))
    events = response_events(answer.text)
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == "Echo: stream me"
    final = events[-1]
    assert final.type == "response.completed"
    assert final.response.output_text == "Echo: stream me"
    assert final.response.usage is not None and final.response.usage.total_tokens == 2 + 3
    assert "[DONE]" not in answer.text


def test_gateway_responses_stream_variants(client: httpx.Client) -> None:
    tools = [{"type": "function", "name": "weather", "parameters": WEATHER_TOOL_PARAMETERS}]
    body = responses_body("weather in Paris", model="o3", tools=tools, stream=True)
    events = response_events(client.post(RESPONSES, json=body).text)
    types = [event.type for event in events]
    assert types[2:4] == ["response.output_item.added", "response.output_item.done"]  # reasoning
    assert "response.function_call_arguments.done" in types
    arguments = "".join(
        e.delta for e in events if e.type == "response.function_call_arguments.delta"
    )
    assert json.loads(arguments) == WEATHER_ARGUMENTS
    final = events[-1]
    assert final.type == "response.completed"
    assert [item.type for item in final.response.output] == ["reasoning", "function_call"]

    events = response_events(
        client.post(RESPONSES, json=responses_body("REFUSE", stream=True)).text
    )
    assert "response.refusal.done" in [event.type for event in events]

    body = responses_body("one two three", stream=True, max_output_tokens=2)
    final = response_events(client.post(RESPONSES, json=body).text)[-1]
    assert final.type == "response.incomplete"
    assert final.response.output_text == "Echo: one"


def read_chunked(sock: socket.socket) -> tuple[bytes, list[bytes]]:
    """Headers and the chunks of a chunked HTTP/1.1 answer, as framed by the server."""
    reader = sock.makefile("rb")
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        head += reader.readline()
    chunks = []
    while size := int(reader.readline().strip(), 16):
        chunks.append(reader.read(size))
        reader.readline()
    reader.readline()
    return head, chunks


def test_gateway_stream_sends_one_chunk_per_event(gateway: GatewayEmulator) -> None:
    body = json.dumps(responses_body("one chunk each", stream=True)).encode()
    request = (
        b"POST /v1/a/g/openai/responses HTTP/1.1\r\nhost: x\r\n"
        + f"cf-aig-authorization: Bearer {TOKEN}\r\ncontent-length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as sock:
        sock.sendall(request)
        head, chunks = read_chunked(sock)
    assert b"transfer-encoding: chunked" in head.lower()
    assert len(chunks) == 12
    assert all(chunk.startswith(b"event: ") and chunk.endswith(b"\n\n") for chunk in chunks)
    assert all(chunk.count(b"\n\n") == 1 for chunk in chunks)


# === AI Gateway: headers, cache, keep-alive, delay ===========================================


def test_gateway_log_ids_are_unique(client: httpx.Client) -> None:
    ids = {client.post(CHAT, json=chat_body()).headers["cf-aig-log-id"] for _ in range(10)}
    ids.add(client.post(CHAT, json={}).headers["cf-aig-log-id"])
    assert len(ids) == 11
    assert all(len(log_id) == 26 for log_id in ids)


def test_gateway_cache_by_ttl(gateway: GatewayEmulator, client: httpx.Client) -> None:
    ttl = {"cf-aig-cache-ttl": "60"}
    first = client.post(CHAT, json=chat_body(), headers=ttl)
    second = client.post(CHAT, json=chat_body(), headers=ttl)
    assert (first.headers["cf-aig-cache-status"], second.headers["cf-aig-cache-status"]) == (
        "MISS",
        "HIT",
    )
    assert second.content == first.content
    assert second.headers["cf-aig-log-id"] != first.headers["cf-aig-log-id"]
    other = client.post(CHAT, json=chat_body("different"), headers=ttl)
    assert other.headers["cf-aig-cache-status"] == "MISS"
    # The provider key is part of the default key: a BYOK call does not see the cached answer.
    byok = httpx.post(
        gateway.base_url() + CHAT,
        json=chat_body(),
        headers={"cf-aig-authorization": f"Bearer {TOKEN}", **ttl},
    )
    assert byok.headers["cf-aig-cache-status"] == "MISS"
    assert gateway.stats()["cache_hits"] == 1


def test_gateway_cache_key_skip_stream_and_expiry(client: httpx.Client) -> None:
    now = [1000.0]
    with GatewayEmulator(token=TOKEN, openai_key=KEY, clock=lambda: now[0]) as gateway:
        url = gateway.base_url() + RESPONSES
        headers = dict(client.headers)

        def status(body: dict[str, Any], **extra: str) -> str | None:
            answer = httpx.post(url, json=body, headers={**headers, **extra})
            assert answer.status_code == 200
            status: str | None = answer.headers.get("cf-aig-cache-status")
            return status

        assert status(responses_body("a"), **{"cf-aig-cache-key": "k1"}) == "MISS"
        # A custom key replaces the default one: another body still hits.
        assert status(responses_body("b"), **{"cf-aig-cache-key": "k1"}) == "HIT"
        skip = {"cf-aig-cache-key": "k2", "cf-aig-skip-cache": "true"}
        assert status(responses_body("c"), **skip) is None
        assert status(responses_body("c"), **{"cf-aig-cache-key": "k2"}) == "MISS"
        streamed = responses_body("a", stream=True)
        assert status(streamed, **{"cf-aig-cache-ttl": "60"}) is None
        assert status(streamed, **{"cf-aig-cache-ttl": "60"}) is None
        now[0] += 299  # key only: the TTL is 300 s
        assert status(responses_body("a"), **{"cf-aig-cache-key": "k1"}) == "HIT"
        now[0] += 2
        assert status(responses_body("a"), **{"cf-aig-cache-key": "k1"}) == "MISS"
        assert status(responses_body("a")) is None


def test_gateway_keep_alive(gateway: GatewayEmulator, client: httpx.Client) -> None:
    for _ in range(25):
        assert client.post(CHAT, json=chat_body()).status_code == 200
    assert gateway.stats() == {"requests": 25, "connections_opened": 1, "cache_hits": 0}


def test_gateway_delay_does_not_block_other_requests(gateway: GatewayEmulator) -> None:
    """Delayed requests wait side by side: three of 1 s take far less than the 3 s in a row
    (the margin is wide so that a loaded machine cannot blur the difference)."""
    gateway.delay_ms = 1000
    headers = {"cf-aig-authorization": f"Bearer {TOKEN}"}

    async def timed(metadata: dict[str, Any]) -> float:
        async with httpx.AsyncClient(headers=headers, timeout=5) as http:
            started = time.monotonic()
            extra = {"cf-aig-metadata": json.dumps(metadata)} if metadata else {}
            answer = await http.post(gateway.base_url() + CHAT, json=chat_body(), headers=extra)
            assert answer.status_code == 200
            return time.monotonic() - started

    async def run() -> list[float]:
        started = time.monotonic()
        results = await asyncio.gather(
            timed({}), timed({}), timed({}), timed({"emulator_delay_ms": 0})
        )
        return [*results, time.monotonic() - started]

    first, second, third, override, total = asyncio.run(run())
    assert min(first, second, third) >= 1.0
    assert override < 0.9
    assert total < 2.0  # in a row they would take at least 3 s


# === AI Gateway: fault steps =================================================================


@pytest.mark.parametrize(
    ("step", "status", "fixture_name"),
    [
        ("400", 400, "error_400_decimal_below_min_value__responses_recorded.json"),
        ("401", 401, "error_401_invalid_api_key__chat_recorded.json"),
        ("404", 404, "error_404_response_not_found__responses_recorded.json"),
        ("429", 429, "error_429_rate_limit_exceeded__issue_pyrepr.json"),
        ("429q", 429, "error_429_insufficient_quota__issue.json"),
        ("500", 500, "error_500_server_error__issue.json"),
        ("502", 502, "error_500_server_error__issue.json"),
        ("503", 503, "error_500_server_error__issue.json"),
    ],
)
def test_gateway_fault_provider_errors(
    client: httpx.Client, step: str, status: int, fixture_name: str
) -> None:
    answer = client.post(RESPONSES, json=responses_body(), headers=faults(step))
    assert answer.status_code == status
    assert answer.json() == fixture(f"errors/{fixture_name}")
    assert answer.headers["cf-aig-log-id"]


@pytest.mark.parametrize(("step", "status"), [("403", 403), ("422", 422)])
def test_gateway_fault_other_provider_errors(client: httpx.Client, step: str, status: int) -> None:
    answer = client.post(CHAT, json=chat_body(), headers=faults(step))
    assert answer.status_code == status
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("step", "status", "internal"), [("gw401", 401, 2009), ("gw429", 429, 2003)]
)
def test_gateway_fault_gateway_errors(
    client: httpx.Client, step: str, status: int, internal: int
) -> None:
    body = client.post(CHAT, json=chat_body(), headers=faults(step)).json()
    assert body["name"] == "AiGatewayError"
    assert (body["httpCode"], body["internalCode"], body["error"][0]["code"]) == (
        status,
        internal,
        internal,
    )


def test_gateway_fault_retry_headers(client: httpx.Client) -> None:
    answer = client.post(CHAT, json=chat_body(), headers=faults("429@ra=7@xsr=true"))
    assert (answer.headers["retry-after"], answer.headers["x-should-retry"]) == ("7", "true")
    answer = client.post(CHAT, json=chat_body(), headers=faults("503@ram=250@xsr=false"))
    assert answer.status_code == 503
    assert answer.headers["retry-after-ms"] == "250"
    assert answer.headers["x-should-retry"] == "false"
    assert "retry-after" not in answer.headers
    answer = client.post(CHAT, json=chat_body(), headers=faults("429@date=30"))
    when = email.utils.parsedate_to_datetime(answer.headers["retry-after"]).timestamp()
    assert 25 <= when - time.time() <= 31


def test_gateway_fault_script_sequence(gateway: GatewayEmulator, client: httpx.Client) -> None:
    statuses = [
        client.post(CHAT, json=chat_body(), headers=faults("429,ok")).status_code for _ in range(3)
    ]
    assert statuses == [429, 200, 200]
    # A different metadata string (another nonce) has its own attempt counter.
    assert client.post(CHAT, json=chat_body(), headers=faults("429,ok", "n2")).status_code == 429
    gateway.reset()
    assert client.post(CHAT, json=chat_body(), headers=faults("429,ok")).status_code == 429


def test_gateway_fault_answers_are_never_cached(client: httpx.Client) -> None:
    headers = {**faults("500,ok"), "cf-aig-cache-ttl": "60"}
    answers = [client.post(CHAT, json=chat_body(), headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [500, 200, 200]
    assert [a.headers["cf-aig-cache-status"] for a in answers] == ["MISS", "MISS", "HIT"]


def test_gateway_fault_script_errors(client: httpx.Client) -> None:
    for script in ("teapot", "429@ra=soon", "500@zz=1"):
        answer = client.post(CHAT, json=chat_body(), headers=faults(script))
        assert answer.status_code == 400
        assert answer.json()["error"]["type"] == "emulator_error"


def test_gateway_fault_drop(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(CHAT, json=chat_body(), headers=faults("drop"))
    assert client.post(CHAT, json=chat_body()).status_code == 200


def test_gateway_fault_stall(client: httpx.Client) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            CHAT, json=chat_body(), headers=faults("stall"), timeout=httpx.Timeout(5, read=0.3)
        )
    assert time.monotonic() - started < 2


def test_gateway_fault_notjson_and_badjson(client: httpx.Client) -> None:
    answer = client.post(CHAT, json=chat_body(), headers=faults("notjson"))
    assert (answer.status_code, answer.headers["content-type"]) == (200, "text/html")
    assert answer.text == "<html>502 Bad Gateway</html>"
    answer = client.post(CHAT, json=chat_body(), headers=faults("badjson"))
    assert (answer.status_code, answer.json()) == (200, {"unexpected": True})


def test_gateway_fault_trickle(client: httpx.Client) -> None:
    timeout = httpx.Timeout(5, read=0.1)
    with client.stream(
        "POST", CHAT, json=chat_body(), headers=faults("trickle"), timeout=timeout
    ) as answer:
        assert answer.status_code == 200  # headers came at once
        assert int(answer.headers["content-length"]) > 100
        with pytest.raises(httpx.ReadTimeout):
            answer.read()
    started = time.monotonic()
    headers = faults("trickle", "n2")
    with client.stream("POST", CHAT, json=chat_body(), headers=headers) as answer:
        received = b""
        for piece in answer.iter_raw():
            received += piece
            if len(received) >= 2:
                break
    assert received.startswith(b"{")
    assert time.monotonic() - started >= 0.35  # two bytes, 200 ms apart


def test_gateway_fault_midstream(client: httpx.Client) -> None:
    body = chat_body("a longer answer to cut", stream=True)
    received: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError),
        client.stream("POST", CHAT, json=body, headers=faults("midstream")) as answer,
    ):
        for line in answer.iter_lines():
            if line.startswith("data: "):
                received.append(line.removeprefix("data: "))
    assert 0 < len(received) < 5
    assert "[DONE]" not in received
    for data in received:
        ChatCompletionChunk.model_validate_json(data)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(RESPONSES, json=responses_body(), headers=faults("midstream", "n2"))


# === AI Gateway: recording and control endpoints =============================================


def test_gateway_records_requests(gateway: GatewayEmulator, client: httpx.Client) -> None:
    client.post(CHAT + "?trace=1", json=chat_body(), headers={"X-Custom": "A"})
    client.post(RESPONSES, content=b"not json")
    first, second = gateway.requests
    assert (first.method, first.path, first.json) == (
        "POST",
        "/v1/acct/gw/openai/chat/completions?trace=1",
        chat_body(),
    )
    assert first.headers["x-custom"] == "A"
    assert first.headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
    assert second.json is None


def test_gateway_control_endpoints(gateway: GatewayEmulator, client: httpx.Client) -> None:
    control = f"http://127.0.0.1:{gateway.port}/_emulator"
    client.post(CHAT, json=chat_body())
    stats = client.get(f"{control}/stats").json()
    assert stats == {"requests": 1, "connections_opened": 1, "cache_hits": 0}
    recorded = client.get(f"{control}/requests").json()
    assert [(r["method"], r["json"]) for r in recorded] == [("POST", chat_body())]
    assert client.post(f"{control}/reset").json() == {"ok": True}
    assert gateway.requests == []
    assert gateway.stats()["requests"] == 0

    config = {"token": "new", "openai_key": None, "delay_ms": 5, "require_openai_key": False}
    assert client.post(f"{control}/config", json=config).status_code == 200
    assert (gateway.token, gateway.openai_key, gateway.delay_ms) == ("new", None, 5)
    assert client.post(f"{control}/config", json={"delay_ms": -1}).status_code == 400
    assert client.post(f"{control}/config", json={"colour": "red"}).status_code == 400
    assert client.get(f"{control}/config").status_code == 405
    assert client.get(f"{control}/nothing").status_code == 404
    assert gateway.requests == []  # control calls are not recorded


# === CLIs ====================================================================================


@contextlib.contextmanager
def cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``python -m <args>``; yields the process and its ready line, then terminates it."""
    process = subprocess.Popen(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        readable, _, _ = select.select([process.stdout], [], [], 20)
        assert readable, "no ready line within 20 s"
        yield process, process.stdout.readline()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_gateway_cli() -> None:
    with cli("emulators.gateway", "--port", "0", "--token", "T", "--openai-key", "K") as (
        process,
        line,
    ):
        assert line.startswith("gateway emulator listening on http://127.0.0.1:")
        base = line.split()[-1]
        headers = {"cf-aig-authorization": "Bearer T", "authorization": "Bearer K"}
        answer = httpx.post(f"{base}/v1/a/g/openai{CHAT}", json=chat_body(), headers=headers)
        assert ChatCompletion.model_validate(answer.json()).choices[0].message.content
        assert httpx.get(f"{base}/_emulator/stats").json()["requests"] == 1
        process.terminate()
        assert process.wait(10) == 0


def test_secretmanager_cli(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({OTHER: "seeded-value"}))
    args = ("--port", "0", "--secret", f"{SECRET}=cli=value", "--seed", str(seed))
    with cli("emulators.secretmanager", *args) as (process, line):
        assert line.startswith("secretmanager emulator listening on 127.0.0.1:")
        channel = grpc.insecure_channel(line.split()[-1])
        client = secretmanager_v1.SecretManagerServiceClient(
            transport=SecretManagerServiceGrpcTransport(channel=channel)
        )
        assert access(client, f"{SECRET}/versions/latest").payload.data == b"cli=value"
        assert access(client, f"{OTHER}/versions/1").payload.data == b"seeded-value"
        channel.close()
        process.terminate()
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0
    assert "value" not in line + output
