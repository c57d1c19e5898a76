"""A client generated from openapi.yaml by openapi-python-client calls the live function.

The generator pins libraries of its own, so it lives in its own virtualenv (`make pytest` builds
.venv-openapi-client; OPENAPI_PYTHON_CLIENT may point elsewhere). The client is generated once per
session into a temporary directory, never committed, and imported from there. Its typed models
must parse every answer with nothing dropped: `parsed.to_dict()` gives back the JSON as sent.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.openapi import check_exchange
from tests.support.paths import ROOT
from tests.support.servers import ServerFactory

PACKAGE = "aig_prompt_client"
# A relative OPENAPI_PYTHON_CLIENT (as `make pytest` passes it) is relative to the repository.
GENERATOR = ROOT / Path(
    os.environ.get("OPENAPI_PYTHON_CLIENT", ".venv-openapi-client/bin/openapi-python-client")
)
# No post hooks: the generator would look for its own ruff on the PATH and warn without one.
CONFIG = "post_hooks: []\n"
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
CITY = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
    "additionalProperties": False,
}


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The generated package, imported (one generation per session)."""
    if not GENERATOR.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{GENERATOR} missing: `make pytest` builds it")
        pytest.skip(f"{GENERATOR} missing: run `make pytest` (or set OPENAPI_PYTHON_CLIENT)")
    where = tmp_path_factory.mktemp("generated-client")
    config = where / "config.yaml"
    config.write_text(CONFIG)
    done = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            f"--path={ROOT / 'openapi.yaml'}",
            f"--output-path={where / PACKAGE}",
            f"--config={config}",
            "--meta=none",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # A schema the generator cannot read is dropped with a warning, and the client silently
    # loses it: the spec must generate cleanly.
    assert "Warning" not in output and "Unable" not in output, output
    sys.path.insert(0, str(where))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(where))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _checked(response: httpx.Response) -> None:
    """The generated client's traffic goes through the same openapi.yaml gate as the rest."""
    response.read()
    check_exchange(response)


@pytest.fixture
def call(generated: Any, serve: ServerFactory) -> Iterator[Any]:
    """POST one typed body with the generated client; return its Response."""
    client_module = importlib.import_module(f"{PACKAGE}.client")
    operation = importlib.import_module(f"{PACKAGE}.api.default.prompt")
    # The function never reads the token; Cloud Run's IAM does, in front of a deployed one.
    client = client_module.AuthenticatedClient(
        base_url=serve().url,
        token="local-no-iam",
        timeout=httpx.Timeout(60),
        raise_on_unexpected_status=True,
        httpx_args={"event_hooks": {"response": [_checked]}},
    )
    with client:
        yield lambda body: operation.sync_detailed(client=client, body=body)


def _round_trips(response: Any) -> Any:
    """The parsed model, after checking it holds exactly the JSON the function sent."""
    parsed = response.parsed
    assert parsed is not None, response.content
    assert parsed.to_dict() == json.loads(response.content)
    return parsed


def test_prompt(generated: Any, call: Any) -> None:
    """A plain prompt: a typed Result."""
    models = generated.models
    response = call(models.PromptRequest(prompt="Say hello", request_id="gen-prompt-1"))
    assert response.status_code == 200
    result = _round_trips(response)
    assert isinstance(result, models.Result)
    assert result.ok is True and result.request_id == "gen-prompt-1"
    assert result.api is models.Api.RESPONSES
    assert result.output_text == "Echo: Say hello"
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


def test_chat_with_tools_and_json_schema(generated: Any, call: Any) -> None:
    """Chat with function tools and structured output, both typed both ways."""
    models = generated.models
    tools = [
        models.Tool(
            name="get_weather",
            description="Weather for a city",
            parameters=models.ToolParameters.from_dict(WEATHER),
        )
    ]
    body = models.PromptRequest(
        api=models.Api.CHAT,
        messages=[
            models.TextMessage(role=models.TextMessageRole.SYSTEM, content="Be brief."),
            models.TextMessage(role=models.TextMessageRole.USER, content="weather?"),
        ],
        tools=tools,
        tool_choice=models.ToolChoiceFunction(name="get_weather"),
        json_schema=models.JsonSchema(
            name="city", schema=models.JsonSchemaSchema.from_dict(CITY), strict=True
        ),
    )
    called = _round_trips(call(body))
    assert called.finish_reason is models.ResultFinishReason.TOOL_CALLS
    [tool_call] = called.tool_calls
    assert isinstance(tool_call, models.ToolCall) and tool_call.name == "get_weather"
    assert "city" in json.loads(tool_call.arguments)

    structured = _round_trips(
        call(
            models.PromptRequest(
                api=models.Api.CHAT,
                prompt="a city please",
                json_schema=body.json_schema,
            )
        )
    )
    assert structured.api is models.Api.CHAT
    assert structured.output_json == json.loads(structured.output_text)
    assert set(structured.output_json) == {"city", "population"}


def test_batch(generated: Any, call: Any) -> None:
    """A batch: a typed BatchResult whose items are Results, in order."""
    models = generated.models
    body = models.BatchRequest(
        requests=[
            models.PromptRequest(prompt="first", request_id="gen-batch-1"),
            models.PromptRequest(prompt="second", request_id="gen-batch-2", api=models.Api.CHAT),
        ]
    )
    answer = _round_trips(call(body))
    assert isinstance(answer, models.BatchResult) and answer.ok is True
    assert [item.request_id for item in answer.results] == ["gen-batch-1", "gen-batch-2"]
    assert all(isinstance(item, models.Result) for item in answer.results)
    assert [item.output_text for item in answer.results] == ["Echo: first", "Echo: second"]


def test_error(generated: Any, call: Any) -> None:
    """An upstream rejection: a typed ErrorAnswer on HTTP 400."""
    models = generated.models
    response = call(models.PromptRequest(prompt="hi", model="unknown-model"))
    assert response.status_code == 400
    answer = _round_trips(response)
    assert isinstance(answer, models.ErrorAnswer) and answer.ok is False
    assert answer.error.type_ is models.ErrorObjectType.UPSTREAM_REJECTED
    assert answer.error.retryable is False
    assert (answer.error.upstream_status, answer.error.upstream_code) == (400, "model_not_found")
