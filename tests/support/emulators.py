"""Shared helpers for the emulator tests: constants, request builders, SSE parsing, fixtures.

The ``gateway`` and ``client`` fixtures live in tests/emulators/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import Response, ResponseStreamEvent
from pydantic import TypeAdapter

ROOT = Path(__file__).resolve().parents[2]
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


def access(client: Any, name: str, **kwargs: Any) -> Any:
    return client.access_secret_version(name=name, retry=NO_RETRY, **kwargs)


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
