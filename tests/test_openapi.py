"""openapi.yaml stays true to the code: request fields, enums, error types and real answers."""

from __future__ import annotations

import asyncio
import json
import typing
from typing import Any

import httpx
import jsonschema
import msgspec
import pytest
import yaml

import relay._errors as errors
from relay import Relay, Settings
from relay._request import (
    CacheOptions,
    JsonSchema,
    LogOptions,
    Message,
    PromptRequest,
    Tool,
    ToolChoiceFunction,
)
from tests._paths import FIXTURES, ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def _validate(instance: Any, name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


@pytest.mark.parametrize(
    "struct",
    [PromptRequest, Message, JsonSchema, Tool, ToolChoiceFunction, CacheOptions, LogOptions],
)
def test_request_models_match(struct: type[msgspec.Struct]) -> None:
    """Each request struct's fields and required fields are the spec's."""
    schema = SCHEMAS[struct.__name__]
    fields = msgspec.structs.fields(struct)
    assert set(schema["properties"]) == {f.name for f in fields}
    required = {f.name for f in fields if f.required}
    assert set(schema.get("required", [])) == required
    assert schema["additionalProperties"] is False


def _literal_values(annotation: Any) -> set[str]:
    values: set[str] = set()
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Literal:
            values.update(typing.get_args(arg))
        else:
            values.update(_literal_values(arg))
    if typing.get_origin(annotation) is typing.Literal:
        values.update(typing.get_args(annotation))
    return values


@pytest.mark.parametrize(
    ("field", "path"),
    [
        ("api", ["api", "enum"]),
        ("reasoning_effort", ["reasoning_effort", "enum"]),
        ("tool_choice", ["tool_choice", "oneOf", 0, "enum"]),
    ],
)
def test_enums_match(field: str, path: list[Any]) -> None:
    """Enumerated request values are the ones the model accepts."""
    hints = typing.get_type_hints(PromptRequest, include_extras=True)
    node: Any = SCHEMAS["PromptRequest"]["properties"]
    for step in path:
        node = node[step]
    assert set(node) == _literal_values(hints[field])


def test_error_types_and_statuses_match() -> None:
    """Every error class's type is in the spec's enum, and its status is a documented response."""
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.RelayError) and c is not errors.RelayError
    ]
    enum = set(SCHEMAS["ErrorObject"]["properties"]["type"]["enum"])
    assert {c.type for c in classes} == enum
    documented = {int(code) for code in SPEC["paths"]["/"]["post"]["responses"]}
    assert {c.status for c in classes} <= documented


def _answer(upstream: dict[str, Any], body: dict[str, Any], status: int = 200) -> Any:
    settings = Settings.from_env(
        {
            "AIG_BASE_URL": "http://gw.test/v1/a/g/openai",
            "AIG_TOKEN": "tok-12345678",
            "MAX_RETRIES": "0",
        }
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=upstream))
    relay = Relay(settings, transport=transport)
    return asyncio.run(relay.answer(json.dumps(body).encode())).body


@pytest.mark.parametrize(
    ("fixture", "api"),
    [
        ("chat/chat_tool_calls_parallel__recorded_gpt-4o.json", "chat"),
        ("chat/chat_refusal__recorded_gpt-4o_b.json", "chat"),
        ("responses/resp_reasoning_cached_websearch__recorded_gpt-5.1.json", "responses"),
        ("responses/resp_incomplete_max_output_tokens__recorded_gpt-4o-mini.json", "responses"),
    ],
)
def test_real_results_validate(fixture: str, api: str) -> None:
    """Results built from recorded bodies validate against the Result schema."""
    upstream = json.loads((FIXTURES / fixture).read_text())
    result = _answer(
        upstream,
        {
            "prompt": "x",
            "api": api,
            "include_raw": True,
            "json_schema": {"name": "s", "schema": {}},
        },
    )
    _validate(result, "Result")
    assert set(result) <= set(SCHEMAS["Result"]["properties"])


def test_real_errors_validate() -> None:
    """Error answers, local and upstream, validate against the ErrorAnswer schema."""
    rejected = json.loads(
        (FIXTURES / "errors/error_400_model_not_found__responses_recorded.json").read_text()
    )
    _validate(_answer(rejected, {"prompt": "x"}, status=400), "ErrorAnswer")
    _validate(_answer({}, {"promt": "x"}), "ErrorAnswer")


def test_batch_answer_validates() -> None:
    """A batch answer validates against BatchResult."""
    upstream = json.loads((FIXTURES / "chat/chat_text__recorded_gpt-4o-mini.json").read_text())
    answer = _answer(upstream, {"requests": [{"prompt": "a", "api": "chat"}, {"bad": 1}]})
    _validate(answer, "BatchResult")
