"""The contract as the fuzz tests check it: answer shapes, error rows and what may go upstream.

Everything here is written from README.md ("The contract in brief") and openapi.yaml, not read
off the code under test, so that a drift in the code shows up as a failing test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import yaml

from emulators.gateway import GatewayEmulator, RecordedRequest
from tests._paths import ROOT
from tests.conftest import OPENAI_KEY, SECRET_VALUES, TOKEN

SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())

# The request table.
FIELDS = frozenset(
    {
        "prompt",
        "messages",
        "input",
        "instructions",
        "api",
        "model",
        "max_output_tokens",
        "temperature",
        "top_p",
        "json_schema",
        "tools",
        "tool_choice",
        "reasoning_effort",
        "metadata",
        "cache",
        "stream",
        "request_id",
        "include_raw",
        "extra_body",
        "deliver",
        "log",
        "zdr",
        "byok_alias",
    }
)
# Upstream body fields extra_body may not set (README, `extra_body` row): those the contract
# derives ...
RESERVED_BODY_FIELDS = frozenset(
    {
        "model",
        "input",
        "messages",
        "instructions",
        "max_output_tokens",
        "max_completion_tokens",
        "max_tokens",
        "temperature",
        "top_p",
        "text",
        "response_format",
        "tools",
        "tool_choice",
        "reasoning",
        "reasoning_effort",
        "stream",
        "stream_options",
        "metadata",
        # ... nor one that would bill or answer behind the result's back.
        "background",
        "n",
        "functions",
        "function_call",
    }
)
DEFAULT_API = "responses"
DEFAULT_MODEL = "gpt-4o-mini"
BATCH_MAX_ITEMS = 50
UPSTREAM_PATHS = {"responses": "/responses", "chat": "/chat/completions"}

# The error table: type -> HTTP status.
ERROR_STATUS = {
    "invalid_request": 400,
    "model_not_allowed": 400,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "upstream_rejected": 400,
    "content_blocked": 422,
    "rate_limited": 429,
    "upstream_auth": 502,
    "upstream_error": 502,
    "upstream_timeout": 504,
    "secret_unavailable": 503,
    "config_error": 500,
    "internal": 500,
}
RETRYABLE = frozenset({"rate_limited", "upstream_error", "secret_unavailable", "upstream_timeout"})
# The contract's result fields, in the contract's order.
RESULT_FIELDS = (
    "ok",
    "request_id",
    "api",
    "model",
    "id",
    "status",
    "finish_reason",
    "output_text",
    "output_json",
    "refusal",
    "tool_calls",
    "usage",
    "gateway",
    "cost_usd",
    "latency_ms",
    "attempts",
)
RESULT_KEYS = frozenset(RESULT_FIELDS)
OPTIONAL_RESULT_KEYS = frozenset({"output_json_error", "raw"})
ERROR_KEYS = frozenset({"type", "message", "retryable", "upstream_status", "upstream_code"})

# What a request to the gateway may carry: the contract's headers, plus what httpx adds itself.
CONTRACT_UPSTREAM_HEADERS = frozenset(
    {
        "content-type",
        "cf-aig-authorization",
        "authorization",
        "cf-aig-metadata",
        "cf-aig-cache-ttl",
        "cf-aig-skip-cache",
        "cf-aig-cache-key",
        "cf-aig-collect-log",
        "cf-aig-collect-log-payload",
        "cf-aig-zdr",
        "cf-aig-byok-alias",
        "cf-aig-request-timeout",
        "cf-aig-otel-trace-id",
        "cf-aig-otel-parent-span-id",
    }
)
HTTPX_HEADERS = frozenset(
    {"host", "accept", "accept-encoding", "connection", "user-agent", "content-length"}
)
ALLOWED_UPSTREAM_HEADERS = CONTRACT_UPSTREAM_HEADERS | HTTPX_HEADERS
# The headers whose values the request body (or the scheduler header) decides.
DERIVED_UPSTREAM_HEADERS = frozenset(
    {
        "cf-aig-metadata",
        "cf-aig-cache-ttl",
        "cf-aig-skip-cache",
        "cf-aig-cache-key",
        "cf-aig-collect-log",
        "cf-aig-collect-log-payload",
        "cf-aig-zdr",
        "cf-aig-byok-alias",
    }
)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    return jsonschema.Draft202012Validator(schema)


RESULT_SCHEMA = _validator("Result")
ERROR_SCHEMA = _validator("ErrorAnswer")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(data: bytes | str) -> Any:
    """Parse JSON the way RFC 8259 has it: no NaN / Infinity literals."""
    return json.loads(data, parse_constant=_no_constants)


def canonical(value: Any) -> str:
    """A JSON text that tells `true` from `1` and `1.0` from `1` (dict equality does not)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=True, allow_nan=False)


def given_fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The request's fields as the contract reads them: `null` counts as absent."""
    return {key: value for key, value in payload.items() if value is not None}


@dataclass
class Answer:
    """One checked answer: its status, its JSON body (None for HEAD) and, if streamed, events."""

    status: int
    body: dict[str, Any] | None
    events: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def error_type(self) -> str | None:
        if self.body is None or self.body.get("ok") is not False or "error" not in self.body:
            return None
        kind: str = self.body["error"]["type"]
        return kind

    @property
    def message(self) -> str:
        if self.body is None or "error" not in self.body:
            return ""
        text: str = self.body["error"]["message"]
        return text


def check_error_answer(body: Any, status: int | None) -> None:
    """An error object in the contract's shape; its type's row matches `status` (when known)."""
    assert isinstance(body, dict), body
    assert set(body) == {"ok", "request_id", "error"}, body
    ERROR_SCHEMA.validate(body)
    assert body["ok"] is False
    assert isinstance(body["request_id"], str) and body["request_id"], body
    error = body["error"]
    assert set(error) == ERROR_KEYS, error
    kind = error["type"]
    assert kind in ERROR_STATUS, error
    assert ERROR_STATUS[kind] != 500, f"a 500-row error ({kind}): {error}"
    if status is not None:
        assert ERROR_STATUS[kind] == status, f"{kind} answered with HTTP {status}"
    assert error["retryable"] is (kind in RETRYABLE), error
    assert isinstance(error["message"], str) and error["message"], error


def check_result(body: Any) -> None:
    """A result in the contract's shape."""
    assert isinstance(body, dict), body
    keys = set(body)
    assert RESULT_KEYS <= keys <= RESULT_KEYS | OPTIONAL_RESULT_KEYS, keys ^ RESULT_KEYS
    RESULT_SCHEMA.validate(body)
    assert body["ok"] is True


def check_item(body: Any) -> None:
    """A batch item: a result or an error object."""
    assert isinstance(body, dict), body
    if body.get("ok") is True:
        check_result(body)
    else:
        check_error_answer(body, None)


def check_batch(body: Any) -> None:
    """A batch answer: `{ok, results}`, `ok` true exactly when every item is."""
    assert isinstance(body, dict) and set(body) == {"ok", "results"}, body
    results = body["results"]
    assert isinstance(results, list) and results, body
    for item in results:
        check_item(item)
    assert body["ok"] is all(item["ok"] is True for item in results), body


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """The function's server-sent events: `event:` name and JSON `data:` per blank-line block."""
    events: list[tuple[str, Any]] = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = "", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").removeprefix(" "))
        events.append((name, strict_json("\n".join(data))))
    return events


def check_events(events: list[tuple[str, Any]]) -> None:
    """`delta` events, then exactly one `result` or `error` event, last."""
    assert events, "an empty stream"
    *deltas, (last, data) = events
    for name, delta in deltas:
        assert name == "delta", events
        assert isinstance(delta, dict) and set(delta) == {"text"}, delta
        assert isinstance(delta["text"], str)
    assert last in ("result", "error"), events
    if last == "result":
        check_result(data)
    else:
        check_error_answer(data, None)


def check_answer(response: httpx.Response, *, head: bool = False) -> Answer:
    """Any answer: never a 500, never a secret, always JSON in the contract's shape."""
    status = response.status_code
    text = f"{response.headers}\n{response.text}"
    for secret in SECRET_VALUES:
        assert secret not in text, "a secret value in an answer"
    assert status != 500, f"HTTP 500: {response.text[:2000]}"
    assert status in {200, *ERROR_STATUS.values()}, f"undocumented HTTP {status}"
    if head:
        assert status == 405, status
        assert response.headers.get("allow") == "POST"
        return Answer(status, None)
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if media_type == "text/event-stream":
        assert status == 200, status
        events = parse_sse(response.text)
        check_events(events)
        return Answer(status, None, events)
    assert media_type == "application/json", f"{media_type!r}: {response.text[:500]!r}"
    body = strict_json(response.content)
    assert isinstance(body, dict), body
    if status == 200:
        if "results" in body:
            check_batch(body)
        else:
            check_result(body)
    else:
        check_error_answer(body, status)
    if status == 405:
        assert response.headers.get("allow") == "POST"
    return Answer(status, body)


def result_of(answer: Answer) -> dict[str, Any]:
    """The result of a successful single answer, streamed or not."""
    if answer.events:
        name, data = answer.events[-1]
        assert name == "result", answer.events
        result: dict[str, Any] = data
        return result
    assert answer.status == 200 and answer.body is not None and answer.body["ok"] is True, (
        answer.body
    )
    return answer.body


class Upstream:
    """What reached the gateway emulator while a block ran."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []


@contextmanager
def upstream_during(gateway: GatewayEmulator) -> Iterator[Upstream]:
    """Collect the requests the gateway emulator records inside the block."""
    seen = Upstream()
    before = gateway.stats()["requests"]
    yield seen
    added = gateway.stats()["requests"] - before
    if added:
        seen.requests = gateway.requests[-added:]


def expected_cf_headers(payload: Mapping[str, Any], job: str | None) -> dict[str, str]:
    """The cf-aig-* headers (credentials aside) a valid request asks for, by the contract."""
    fields = given_fields(payload)
    headers: dict[str, str] = {}
    metadata = fields.get("metadata")
    if metadata is None and job:
        metadata = {"scheduler_job": job}
    if metadata:
        headers["cf-aig-metadata"] = canonical(metadata)
    cache = given_fields(fields.get("cache") or {})
    if "ttl" in cache:
        headers["cf-aig-cache-ttl"] = str(cache["ttl"])
    if cache.get("skip") is True:
        headers["cf-aig-skip-cache"] = "true"
    if "key" in cache:
        headers["cf-aig-cache-key"] = cache["key"]
    log = given_fields(fields.get("log") or {})
    for name, header in (
        ("collect", "cf-aig-collect-log"),
        ("payload", "cf-aig-collect-log-payload"),
    ):
        if name in log:
            headers[header] = "true" if log[name] else "false"
    if "zdr" in fields:
        headers["cf-aig-zdr"] = "true" if fields["zdr"] else "false"
    if "byok_alias" in fields:
        headers["cf-aig-byok-alias"] = fields["byok_alias"]
    return headers


def check_upstream(
    recorded: RecordedRequest,
    payload: Mapping[str, Any],
    *,
    base_path: str,
    host: str,
    job: str | None = None,
) -> None:
    """One upstream request for a valid `payload`: fixed host and path, only contract headers."""
    fields = given_fields(payload)
    api = fields.get("api", DEFAULT_API)
    assert recorded.method == "POST"
    assert recorded.path == base_path + UPSTREAM_PATHS[api], recorded.path
    headers = recorded.headers
    extra = set(headers) - ALLOWED_UPSTREAM_HEADERS
    assert not extra, f"headers beyond the contract went upstream: {sorted(extra)}"
    assert headers["host"] == host
    assert headers["content-type"] == "application/json"
    assert headers["cf-aig-authorization"] == f"Bearer {TOKEN}"
    timeout = headers["cf-aig-request-timeout"]
    assert timeout.isdigit() and int(timeout) > 0, timeout
    assert headers["authorization"] == f"Bearer {OPENAI_KEY}"
    derived = {name: value for name, value in headers.items() if name in DERIVED_UPSTREAM_HEADERS}
    if "cf-aig-metadata" in derived:
        raw = derived["cf-aig-metadata"]
        assert raw.isascii() and raw.isprintable(), raw
        derived["cf-aig-metadata"] = canonical(strict_json(raw))
    expected = expected_cf_headers(payload, job)
    if job and "metadata" not in fields and "cf-aig-metadata" in derived:
        # The job name may be shortened on its way into the header; it stays a prefix.
        sent = strict_json(derived.pop("cf-aig-metadata"))
        assert set(sent) == {"scheduler_job"} and job.startswith(sent["scheduler_job"]), sent
        assert sent["scheduler_job"], sent
        expected.pop("cf-aig-metadata")
    assert derived == expected, (derived, expected)
    body = recorded.json
    assert isinstance(body, dict), body
    assert body.get("model") == fields.get("model", DEFAULT_MODEL)
    for key, value in (fields.get("extra_body") or {}).items():
        assert canonical(body.get(key)) == canonical(value), key
