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
from openapi_spec_validator import validate

import relay.errors as errors
from relay import Relay, Settings
from relay.messages import Message, Tool, ToolChoiceFunction
from relay.request import CacheOptions, JsonSchema, LogOptions, PromptRequest
from tests._openapi import check_exchange
from tests._paths import FIXTURES, ROOT

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]


def _validate(instance: Any, name: str) -> None:
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


# Documented in openapi.yaml before the code has them: none now (kept so a field can land in
# the description first, on purpose and visibly).
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


# --- the validation gate every HTTP test goes through (tests/_openapi.py) ------------------------

RESULT: dict[str, Any] = {
    "ok": True,
    "request_id": "r1",
    "api": "chat",
    "model": "gpt-4o-mini",
    "id": "chatcmpl-1",
    "status": "completed",
    "finish_reason": "stop",
    "output_text": "hi",
    "output_json": None,
    "refusal": None,
    "tool_calls": [],
    "usage": {
        "input_tokens": 1,
        "output_tokens": 1,
        "total_tokens": 2,
        "cached_input_tokens": 0,
        "reasoning_tokens": 0,
    },
    "gateway": {
        "log_id": None,
        "cache_status": None,
        "step": None,
        "model": None,
        "provider": None,
        "dlp": None,
    },
    "cost_usd": 0.0000012,
    "latency_ms": 3,
    "attempts": 1,
}
ERROR: dict[str, Any] = {
    "ok": False,
    "request_id": "r1",
    "error": {
        "type": "invalid_request",
        "message": "unknown field `promt`",
        "retryable": False,
        "upstream_status": None,
        "upstream_code": None,
    },
}


def _exchange(
    body: Any, status: int, answer: Any, *, method: str = "POST", **headers: str
) -> httpx.Response:
    request = httpx.Request(method, "http://127.0.0.1:9/", json=body)
    if isinstance(answer, bytes):
        headers.setdefault("content-type", "text/event-stream")
        return httpx.Response(status, content=answer, headers=headers, request=request)
    return httpx.Response(status, json=answer, headers=headers, request=request)


def _sse(*events: tuple[str, Any]) -> bytes:
    return b"".join(f"event: {n}\ndata: {json.dumps(d)}\n\n".encode() for n, d in events)


@pytest.mark.parametrize(
    ("body", "status", "answer", "headers"),
    [
        ({"prompt": "hi"}, 200, RESULT, {}),
        ({"prompt": "hi"}, 200, {**RESULT, "cost_usd": 0.25, "delivery": []}, {}),
        ({"prompt": "hi", "messages": None, "cache": None, "api": None}, 200, RESULT, {}),
        ({"promt": "hi"}, 400, ERROR, {}),
        (
            {"requests": [{"prompt": "a"}, {"bad": 1}]},
            200,
            {"ok": False, "results": [RESULT, ERROR]},
            {},
        ),
        (
            {"prompt": "hi", "stream": True},
            200,
            _sse(("delta", {"text": "h"}), ("result", RESULT)),
            {},
        ),
        ({"prompt": "hi", "stream": True}, 200, _sse(("error", ERROR)), {}),
    ],
)
def test_gate_passes_documented_exchanges(
    body: Any, status: int, answer: Any, headers: dict[str, str]
) -> None:
    """Documented answers pass, including successes and refusals of invalid requests."""
    check_exchange(_exchange(body, status, answer, **headers))


def test_gate_passes_a_request_its_checker_cannot_parse() -> None:
    """`application/json;` (an empty media-type parameter) trips openapi-core's own parser; the
    function takes it as JSON, and the gate does not count the checker's limit as a refusal."""
    request = httpx.Request(
        "POST",
        "http://127.0.0.1:9/",
        content=json.dumps({"prompt": "hi"}).encode(),
        headers={"content-type": "application/json;"},
    )
    check_exchange(httpx.Response(200, json=RESULT, request=request))


@pytest.mark.parametrize(
    ("body", "status", "answer", "headers", "why"),
    [
        ({"prompt": "hi"}, 200, {**RESULT, "surprise": 1}, {}, "undocumented field"),
        ({"prompt": "hi"}, 418, ERROR, {}, "undocumented status"),
        ({"prompt": "hi"}, 200, {**RESULT, "usage": {}}, {}, "missing usage fields"),
        ({"prompt": "hi"}, 200, RESULT, {"content-type": "text/plain"}, "content type"),
        ({"prompt": "hi"}, 405, ERROR, {}, "405 without Allow"),
        ({"prompt": "hi"}, 400, {**ERROR, "error": {"type": "oops"}}, {}, "error shape"),
        ({"promt": "hi"}, 200, RESULT, {}, "unknown field accepted"),
        ({"prompt": "hi", "model": "m" * 257}, 200, RESULT, {}, "over-long model accepted"),
        ({"prompt": "a", "input": "b"}, 200, RESULT, {}, "two prompts accepted"),
        ({"prompt": None, "input": None}, 200, RESULT, {}, "no prompt accepted"),
        ({"messages": [{"role": "user"}]}, 200, RESULT, {}, "message without content"),
        (
            {"requests": [{"promt": "a"}]},
            200,
            {"ok": True, "results": [RESULT]},
            {},
            "bad item ran",
        ),
        ({"prompt": "hi"}, 200, _sse(("delta", {"txt": "h"}), ("result", RESULT)), {}, "delta"),
        ({"prompt": "hi"}, 200, _sse(("result", {**RESULT, "x": 1})), {}, "result event"),
        ({"prompt": "hi"}, 200, _sse(("result", RESULT), ("delta", {"text": "h"})), {}, "order"),
        ({"prompt": "hi"}, 200, _sse(("progress", {})), {}, "undocumented event"),
    ],
)
def test_gate_refuses_what_the_spec_does_not_say(
    body: Any, status: int, answer: Any, headers: dict[str, str], why: str
) -> None:
    """An answer off the spec, or a success for a request the spec refuses, fails the test."""
    with pytest.raises(AssertionError):
        check_exchange(_exchange(body, status, answer, **headers))


def test_gate_checks_get_answers_against_the_operation() -> None:
    """A GET is not in the spec, but its 405 answer still has to be the documented one."""
    check_exchange(_exchange(None, 405, ERROR, method="GET", allow="POST"))
    with pytest.raises(AssertionError):
        check_exchange(_exchange(None, 200, RESULT, method="GET"))
