"""openapi.yaml stays true to the code: request fields, enums, error types and real answers."""

from __future__ import annotations

import asyncio
import json
import typing
from typing import Any

import httpx
import msgspec
import pytest
import yaml
from openapi_spec_validator import validate

import relay.errors as errors
from relay import Relay, Settings
from relay.messages import Message, Tool, ToolChoiceFunction
from relay.request import CacheOptions, JsonSchema, LogOptions, PromptRequest
from tests.support.openapi import validate_schema as _validate
from tests.support.paths import FIXTURES, ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


# Fields and error types openapi.yaml may describe before the code has them (empty: the spec and
# the code agree; an entry here makes such a gap deliberate and visible).
PENDING_FIELDS: dict[str, set[str]] = {}
PENDING_ERROR_TYPES: set[str] = set()
# Keywords that bound a value; the spec must carry every one the code enforces.
BOUNDS = (
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)


def test_spec_is_valid_openapi_31() -> None:
    """openapi-spec-validator accepts the file as OpenAPI 3.1."""
    assert SPEC["openapi"].startswith("3.1.")
    validate(SPEC)


def _walk(node: Any, path: str = "") -> list[tuple[str, Any]]:
    """Every (path, value) pair in the document."""
    found = [(path, node)]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _walk(value, f"{path}/{index}")
    return found


def test_free_text_stays_text() -> None:
    """No sentence became a YAML key, and every description and summary is one string."""
    for path, value in _walk(SPEC):
        if isinstance(value, dict):
            bad = [key for key in value if not isinstance(key, str) or " " in key]
            assert not bad, f"{path}: keys {bad} look like split free text"
        if path.rsplit("/", 1)[-1] in ("description", "summary", "title") and path.count("/"):
            parent = path.rsplit("/", 2)[-2]
            if parent != "properties":  # a field called `description` is a schema, not text
                assert isinstance(value, str) and value.strip(), path


def _properties(name: str) -> dict[str, Any]:
    """A schema's properties; for a oneOf of objects (Message), all its variants' together."""
    schema = SCHEMAS[name]
    variants = [SCHEMAS[v["$ref"].rsplit("/", 1)[-1]] for v in schema.get("oneOf", [])] or [schema]
    assert all(v["additionalProperties"] is False for v in variants), name
    return {key: value for v in variants for key, value in v["properties"].items()}


@pytest.mark.parametrize(
    "struct",
    [PromptRequest, Message, JsonSchema, Tool, ToolChoiceFunction, CacheOptions, LogOptions],
)
def test_request_models_match(struct: type[msgspec.Struct]) -> None:
    """Each request struct's fields are the spec's; required ones are required, unknown refused."""
    name = struct.__name__
    fields = {f.name: f for f in msgspec.structs.fields(struct)}
    documented = set(_properties(name))
    assert set(fields) <= documented
    assert documented - set(fields) <= PENDING_FIELDS.get(name, set())
    if "oneOf" not in SCHEMAS[name]:
        required = {n for n, f in fields.items() if f.required}
        assert set(SCHEMAS[name].get("required", [])) == required


def _bounds(node: Any) -> set[tuple[str, str]]:
    """Every bounding keyword under `node`, patterns in ECMA-262 spelling; refs not followed."""
    found: set[tuple[str, str]] = set()
    for path, value in _walk(node):
        key = path.rsplit("/", 1)[-1]
        if key in BOUNDS:
            if key == "pattern":  # Python's \Z and (?: are ECMA-262's $ and (
                value = value.replace("\\Z", "$").replace("(?:", "(")
            found.add((key, str(value)))
    return found


@pytest.mark.parametrize(
    "struct", [PromptRequest, JsonSchema, Tool, ToolChoiceFunction, CacheOptions]
)
def test_bounds_match(struct: type[msgspec.Struct]) -> None:
    """Every length, range and pattern the code enforces on a field is in the spec's field."""
    ours = msgspec.json.schema(struct)["$defs"][struct.__name__]["properties"]
    documented = _properties(struct.__name__)
    assert any(_bounds(schema) for schema in ours.values())  # the comparison has teeth
    for field, schema in ours.items():
        missing = _bounds(schema) - _bounds(documented[field])
        assert not missing, f"{struct.__name__}.{field}: the spec lacks {sorted(missing)}"


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
        ("api", ["api", "oneOf", 0]),
        ("reasoning_effort", ["reasoning_effort", "oneOf", 0]),
        ("tool_choice", ["tool_choice", "oneOf", 0]),
        ("service_tier", ["service_tier", "oneOf", 0]),
    ],
)
def test_enums_match(field: str, path: list[Any]) -> None:
    """Enumerated request values are the ones the model accepts."""
    hints = typing.get_type_hints(PromptRequest, include_extras=True)
    node: Any = SCHEMAS["PromptRequest"]["properties"]
    for step in path:
        node = node[step]
    node = SCHEMAS[node["$ref"].rsplit("/", 1)[-1]]
    assert set(node["enum"]) == _literal_values(hints[field])


def test_error_types_and_statuses_match() -> None:
    """Every error class's type is in the spec's enum, and its status is a documented response."""
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, errors.RelayError) and c is not errors.RelayError
    ]
    enum = set(SCHEMAS["ErrorObject"]["properties"]["type"]["enum"])
    assert {c.type for c in classes} <= enum
    assert enum - {c.type for c in classes} <= PENDING_ERROR_TYPES
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
