"""openapi.yaml as a gate on the HTTP tests: every request they send and every answer they get.

`check_exchange(response)` validates one exchange with openapi-core:

- the request against the operation (method, path, headers, content type, body). A request the
  spec refuses is fine to send (tests send bad input on purpose), but then the function must
  refuse it too: an error status, or a batch answer with a failed item. A success for a request
  the spec calls invalid means the spec is stricter than the function, or the function too lax;
- the answer against the operation's responses, whatever the request was: a documented status,
  content type, headers and body, so an undocumented field or status fails the test that got it.
  The function answers every method and path the same way, so answers are checked against the
  one operation (POST /) even when the request was a GET;
- a server-sent-events answer event by event, each `data` against the schema that the media
  type's `x-events` names for that event.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jsonschema
import yaml
from jsonschema.exceptions import best_match
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.support.paths import ROOT

SPEC_PATH = ROOT / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
OPENAPI = OpenAPI.from_dict(SPEC)
# Tests talk to 127.0.0.1 on a free port; the spec's first server stands for it.
SERVER_URL: str = SPEC["servers"][0]["url"]
OPERATION_PATH, OPERATION_METHOD = "/", "post"
SSE = "text/event-stream"
JSON = "application/json"
_MEDIA = SPEC["paths"][OPERATION_PATH][OPERATION_METHOD]["responses"]["200"]["content"]
EVENT_SCHEMAS = {
    name: jsonschema.Draft202012Validator({**ref, "components": SPEC["components"]})
    for name, ref in _MEDIA[SSE]["x-events"].items()
}


def validate_schema(instance: Any, name: str) -> None:
    """Validate `instance` against openapi.yaml's components/schemas/`name`."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": SPEC["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)


class OpenAPIRequest:
    """openapi-core's Request protocol over an httpx request whose body is known."""

    def __init__(self, request: httpx.Request, body: bytes, *, method: str, path: str) -> None:
        self.host_url = SERVER_URL
        self.path = path
        self.method = method.lower()
        self.body = body
        # The function reads a body without a content type, or with any *+json one, as JSON.
        content_type = request.headers.get("content-type", "")
        media_type = content_type.split(";")[0].strip(" \t").lower()
        json_too = not media_type or media_type.endswith("+json")
        self.content_type = JSON if json_too else content_type
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(request.url.query.decode())),
            header=Headers(request.headers.multi_items()),
            cookie=ImmutableMultiDict(),
        )


class OpenAPIResponse:
    """openapi-core's Response protocol over an httpx response and its (read) body."""

    def __init__(self, response: httpx.Response, content: bytes) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(response.headers.multi_items())
        self.data = content


def request_errors(request: httpx.Request) -> list[str] | None:
    """What openapi.yaml finds wrong with a request; None when that cannot be told (a streamed
    body, or a request openapi-core cannot parse)."""
    try:
        body = request.content
    except httpx.RequestNotRead:
        return None
    wrapped = OpenAPIRequest(request, body, method=request.method, path=request.url.path)
    try:
        return [_describe(error) for error in OPENAPI.iter_request_errors(wrapped)]
    except Exception:
        # openapi-core's own parsing gave up (a media type such as "application/json;" with an
        # empty parameter): that is the checker's limit, not the spec refusing the request.
        return None


def response_errors(response: httpx.Response, content: bytes) -> list[str]:
    """What openapi.yaml finds wrong with an answer (streamed answers: with each event too)."""
    wrapped = OpenAPIRequest(response.request, b"", method=OPERATION_METHOD, path=OPERATION_PATH)
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == SSE:
        if response.status_code != 200:
            return [f"text/event-stream with HTTP {response.status_code}"]
        return _event_errors(content)
    return [
        _describe(e)
        for e in OPENAPI.iter_response_errors(wrapped, OpenAPIResponse(response, content))
    ]


def check_exchange(response: httpx.Response, content: bytes | None = None) -> None:
    """Assert that one exchange is what openapi.yaml describes (see the module's docstring).

    `content` is the answer's body when the caller consumed it as a stream.
    """
    body = response.content if content is None else content
    problems = response_errors(response, body)
    assert not problems, f"answer (HTTP {response.status_code}) off the spec: {problems}"
    refused = request_errors(response.request)
    if refused:
        assert not _succeeded(response, body), (
            f"the function accepted a request openapi.yaml refuses: {refused}"
        )


def _succeeded(response: httpx.Response, content: bytes) -> bool:
    """A success through and through: not an error, and no batch item failed."""
    if response.status_code >= 400:
        return False
    if response.headers.get("content-type", "").startswith(SSE):
        return b"event: error" not in content
    answer = json.loads(content)
    return all(item.get("ok") for item in answer.get("results", [answer]))


def _event_errors(content: bytes) -> list[str]:
    """Each event's data against its schema; deltas, then one result or error, last."""
    problems: list[str] = []
    names: list[str] = []
    for block in content.decode().split("\n\n"):
        if not block.strip():
            continue
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            key, _, value = line.partition(":")
            fields.setdefault(key, []).append(value.removeprefix(" "))
        name = "".join(fields.get("event", ["message"]))
        names.append(name)
        validator = EVENT_SCHEMAS.get(name)
        if validator is None:
            problems.append(f"undocumented event {name!r}")
            continue
        data = json.loads("\n".join(fields.get("data", [])))
        problems += [f"{name}: {e.message}" for e in validator.iter_errors(data)]
    if not names or names[-1] not in ("result", "error") or set(names[:-1]) - {"delta"}:
        problems.append(f"events out of order: {names}")
    return problems


def _describe(error: Exception) -> str:
    """An openapi-core error, cut short, with the schema errors it wraps (they name the field)."""
    causes = getattr(error, "schema_errors", None) or getattr(
        error.__cause__, "schema_errors", None
    )
    text = f"{type(error).__name__}: {str(error)[:300]}"
    for cause in causes or ():
        deepest = best_match([cause])  # into oneOf's branches, to the field at fault
        text += f" -- {deepest.json_path}: {deepest.message[:300]}"
    return text
