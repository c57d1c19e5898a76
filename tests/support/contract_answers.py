"""The contract's answer shapes, checked: results, error answers, batches and SSE events (see
contract.py for the tables they follow).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

from tests.support.constants import SECRET_VALUES
from tests.support.contract import (
    ERROR_KEYS,
    ERROR_STATUS,
    OPTIONAL_RESULT_KEYS,
    RESULT_KEYS,
    RETRYABLE,
    SPEC,
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
